// Differential scenarios through kazoo (Python): each runs against zkts and
// against Apache ZooKeeper 3.8, and the transcripts must be equal.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { kazooScenario } from './kazoo-recorder.js';
import { assertSameTranscripts, ServerPair, skipUnlessReferenceTools } from './pair.js';

describe('differential: kazoo', { skip: skipUnlessReferenceTools() }, () => {
  let pair: ServerPair | undefined;
  before(async () => {
    pair = await ServerPair.start('kazoo');
  });
  after(async () => {
    await pair?.stop();
  });

  /** Runs the kazoo snippet on both servers and requires identical transcripts. */
  async function same(name: string, snippet: string): Promise<void> {
    assert.ok(pair, 'servers did not start');
    const { zkts, reference } = await pair.run(name, (target) => kazooScenario(target, snippet));
    assertSameTranscripts(zkts, reference);
  }

  test('create2 (include_data) in every kazoo mode', () =>
    same(
      'create2',
      `
      rec("create root", zk.create, R, b"root", include_data=True)
      rec("create p", zk.create, R + "/p", b"p", include_data=True)
      rec("create e", zk.create, R + "/e", b"e", ephemeral=True, include_data=True)
      rec("create s", zk.create, R + "/s-", b"s", sequence=True, include_data=True)
      rec("create es", zk.create, R + "/es-", b"es", ephemeral=True, sequence=True, include_data=True)
      rec("create exists", zk.create, R + "/p", include_data=True)
      rec("create no parent", zk.create, R + "/x/y", include_data=True)
      rec("create under ephemeral", zk.create, R + "/e/c", include_data=True)
      rec("create makepath", zk.create, R + "/deep/er/path", b"d", makepath=True)
      rec("children", lambda: sorted(zk.get_children(R)))
      rec("children2", lambda: (lambda c, s: (sorted(c), s))(*zk.get_children(R, include_data=True)))
      rec("get deep", zk.get, R + "/deep/er")
      `,
    ));

  test('get, set, exists, delete with versions', () =>
    same(
      'crud',
      `
      rec("exists missing", zk.exists, R)
      rec("create", zk.create, R, b"v0")
      rec("get", zk.get, R)
      rec("set v0", zk.set, R, b"v1", version=0)
      rec("set stale", zk.set, R, b"v2", version=0)
      rec("set any", zk.set, R, b"v2")
      rec("exists", zk.exists, R)
      rec("delete stale", zk.delete, R, version=0)
      rec("create child", zk.create, R + "/c")
      rec("delete not empty", zk.delete, R)
      rec("delete recursive", zk.delete, R, recursive=True)
      rec("get gone", zk.get, R)
      rec("set gone", zk.set, R, b"x")
      rec("delete gone", zk.delete, R)
      rec("ensure_path", zk.ensure_path, R + "/a/b/c")
      rec("ensure_path again", zk.ensure_path, R + "/a/b/c")
      rec("get ensured", zk.get, R + "/a/b")
      `,
    ));

  test('sync', () =>
    same(
      'sync',
      `
      rec("sync missing", zk.sync, R)
      rec("create", zk.create, R)
      rec("sync", zk.sync, R)
      rec("sync root", zk.sync, "/")
      rec("sync zookeeper", zk.sync, "/zookeeper/config")
      rec("get after sync", zk.get, R)
      `,
    ));

  test('transactions: success, failure, per-op results', () =>
    same(
      'transactions',
      `
      zk.create(R, b"v0")
      t = zk.transaction()
      t.create(R + "/a", b"a")
      t.create(R + "/s-", b"s", sequence=True)
      t.create(R + "/e", b"e", ephemeral=True)
      t.set_data(R, b"v1", version=0)
      t.check(R, 1)
      t.delete(R + "/e")
      rec("commit ok", t.commit)
      t = zk.transaction()
      t.create(R + "/b")
      t.check(R, 0)
      t.delete(R + "/a")
      rec("commit bad check", t.commit)
      t = zk.transaction()
      t.delete(R + "/a", version=5)
      t.create(R + "/b")
      rec("commit bad delete", t.commit)
      t = zk.transaction()
      t.create(R + "/a")
      rec("commit exists", t.commit)
      t = zk.transaction()
      t.set_data(R + "/nope", b"x")
      rec("commit no node", t.commit)
      t = zk.transaction()
      t.delete(R)
      rec("commit not empty", t.commit)
      t = zk.transaction()
      t.create(R + "/a/x", acl=[make_acl("world", "nobody", all=True)])
      rec("commit invalid acl", t.commit)
      rec("children", lambda: sorted(zk.get_children(R)))
      rec("get", zk.get, R)
      `,
    ));

  test('ACLs: digest, auth, world, set/get with versions, masking', () =>
    same(
      'acls',
      `
      zk.create(R)
      zk.add_auth("digest", "alice:secret")
      rec("create creator-all", zk.create, R + "/mine", b"m", acl=CREATOR_ALL_ACL)
      rec("get_acls mine", zk.get_acls, R + "/mine")
      other = new_client()
      rec("other get mine", other.get, R + "/mine")
      rec("other get_acls mine", other.get_acls, R + "/mine")
      rec("other exists mine", lambda: other.exists(R + "/missing"))
      digest = make_digest_acl("bob", "pw", read=True, write=True)
      rec("create bob", zk.create, R + "/bob", b"b", acl=[digest, make_acl("world", "anyone", read=True)])
      rec("other get_acls bob", other.get_acls, R + "/bob")
      rec("other get bob", other.get, R + "/bob")
      rec("other set bob", other.set, R + "/bob", b"x")
      other.add_auth("digest", "bob:pw")
      rec("other set bob as bob", other.set, R + "/bob", b"x")
      rec("other get_acls bob as bob", other.get_acls, R + "/bob")
      rec("other set_acls bob", other.set_acls, R + "/bob", OPEN_ACL_UNSAFE)
      rec("set_acls stale", zk.set_acls, R, READ_ACL_UNSAFE, version=4)
      rec("set_acls", zk.set_acls, R, [make_acl("world", "anyone", read=True, create=True, admin=True)], version=0)
      rec("get_acls root", zk.get_acls, R)
      rec("delete bob (no DELETE on parent)", zk.delete, R + "/bob")
      rec("create under (CREATE allowed)", zk.create, R + "/c")
      rec("set root (no WRITE)", zk.set, R, b"x")
      rec("set_acls back", zk.set_acls, R, OPEN_ACL_UNSAFE)
      rec("create empty acl", zk.create, R + "/empty", acl=[])
      rec("create auth acl unauthenticated", other.create, R + "/u", acl=[make_acl("auth", "", all=True)])
      rec("digest credential", make_digest_acl_credential, "alice", "secret")
      `,
    ));

  test('add_auth with an unknown scheme fails the session', () =>
    same(
      'auth-failed',
      `
      zk.create(R)
      c = new_client()
      rec("add_auth bogus", c.add_auth, "nosuchscheme", "x")
      note({"state": c.state})
      rec("still works", zk.get, R)
      `,
    ));

  test('server_version and command', () =>
    same(
      'server-version',
      `
      rec("server_version", zk.server_version)
      rec("ruok", zk.command, b"ruok")
      rec("isro", zk.command, b"isro")
      `,
    ));

  test('watches: events kazoo delivers, in order', () =>
    same(
      'watches',
      `
      zk.create(R, b"v0")
      rec("get w", zk.get, R, watch=watcher("data-R"))
      rec("children w", zk.get_children, R, watch=watcher("children-R"))
      rec("exists missing w", zk.exists, R + "/c", watch=watcher("exists-c"))
      zk.create(R + "/c", b"c")
      wait_events(2)
      zk.set(R, b"v1")
      wait_events(3)
      rec("get c w", zk.get, R + "/c", watch=watcher("data-c"))
      rec("children c w", zk.get_children, R + "/c", watch=watcher("children-c"))
      zk.delete(R + "/c")
      note({"all arrived": wait_events(4)})
      `,
    ));

  test('recipes: counter, lock, queue, party, election', () =>
    same(
      'recipes',
      `
      counter = zk.Counter(R + "/counter")
      counter += 5
      counter -= 2
      note({"counter": counter.value})
      lock = zk.Lock(R + "/lock", "me")
      note({"acquired": lock.acquire(timeout=10)})
      note({"contenders": lock.contenders()})
      lock.release()
      note({"lock children": zk.get_children(R + "/lock")})
      q = zk.Queue(R + "/queue")
      for item in [b"one", b"two", b"three"]:
          q.put(item)
      note({"queue": [q.get(), q.get(), len(q)]})
      lq = zk.LockingQueue(R + "/lq")
      lq.put(b"x", priority=50)
      lq.put(b"y", priority=10)
      note({"locking queue": [len(lq), lq.get(timeout=5), lq.consume()]})
      party = zk.Party(R + "/party", "member-1")
      party.join()
      note({"party": list(party), "len": len(party)})
      party.leave()
      sem = zk.Semaphore(R + "/sem", "id", max_leases=2)
      note({"semaphore": sem.acquire(timeout=5), "lease_holders": sem.lease_holders()})
      sem.release()
      rec("tree", lambda: sorted(zk.get_children(R)))
      `,
    ));

  test('many children and unicode names', () =>
    same(
      'many-children',
      `
      zk.create(R)
      names = ["n%04d" % i for i in range(500)] + ["ünïcödé", "☃", "日本語", "with space", "a.b", "..x", "x..", "-", "_"]
      t = zk.transaction()
      for name in names:
          t.create(R + "/" + name, name.encode("utf-8"))
      note({"commit": len([r for r in t.commit() if isinstance(r, str)])})
      rec("children", lambda: sorted(zk.get_children(R)))
      rec("stat", zk.exists, R)
      rec("get unicode", zk.get, R + "/☃")
      `,
    ));

  test('ephemerals vanish when the creating session closes', () =>
    same(
      'ephemeral-close',
      `
      zk.create(R)
      c = new_client()
      c.create(R + "/e", b"x", ephemeral=True)
      c.create(R + "/es-", b"x", ephemeral=True, sequence=True)
      rec("owner", lambda: zk.exists(R + "/e").ephemeralOwner == c.client_id[0])
      rec("exists w", zk.exists, R + "/e", watch=watcher("gone"))
      c.stop()
      note({"event": wait_events(1)})
      rec("children", zk.get_children, R)
      `,
    ));
});
