/**
 * `zkts import` on data written by the real Apache ZooKeeper 3.8: a varied
 * tree is written with kazoo (with a small snapCount, so ZooKeeper leaves
 * both snapshots and logs), read back, ZooKeeper is stopped, its dataDir is
 * imported, zkts is started on the result, and everything read back through
 * zkts must equal what ZooKeeper served — data, every Stat field, ACLs — and
 * a session that was live on ZooKeeper must still be there, resumable with
 * the password ZooKeeper gave it.
 */
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, readFileSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { fileURLToPath } from 'node:url';
import { before, describe, test } from 'node:test';
import { isKazooAvailable, isKazooError, runKazoo } from '../harness/kazoo.js';
import { runProcess } from '../harness/process.js';
import { isReferenceZkAvailable, skipUnlessInstalled, startReferenceZk } from '../harness/reference-zk.js';
import { startZkts, type ZkServerHandle } from '../harness/zkts-server.js';
import { storageDir } from '../../src/storage/files.js';
import { loadSnapshot } from '../../src/storage/snapshot.js';
import { ImportError, importZooKeeper } from '../../src/storage/tools/import.js';
import { verifyDataDir } from '../../src/storage/tools/verify.js';
import { listZkSnapshots } from '../../src/storage/zk-format.js';
import { databaseView, tempDir } from './helpers.js';

const ZKTS_MAIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
/** Small, so that a few hundred writes leave several snapshots and logs; small logs, so they are cheap to read. */
const ZK_STORAGE_CONFIG = { snapCount: '20', preAllocSize: '64' };
const SKIP = skipUnlessInstalled({ 'reference ZooKeeper': isReferenceZkAvailable(), kazoo: isKazooAvailable() });

/** kazoo 2.8 has no container or TTL create; these send the requests themselves. */
const EXTENDED_CREATES = `
from collections import namedtuple
from kazoo.protocol.serialization import Create, long_struct, read_string

class CreateContainer(Create):
    type = 19

class CreateTTL(namedtuple('CreateTTL', 'path data acl flags ttl')):
    type = 21
    def serialize(self):
        return Create(self.path, self.data, self.acl, self.flags).serialize() + long_struct.pack(self.ttl)
    @classmethod
    def deserialize(cls, bytes, offset):
        return read_string(bytes, offset)[0]

def call(request):
    result = zk.handler.async_result()
    zk._call(request, result)
    return result.get(timeout=10)
`;

/**
 * A varied tree: binary and large data, many versions, sequential nodes with
 * deletes between them (cversion, pzxid), a container, a TTL node, digest,
 * ip and read-only ACLs, setACL (aversion), multis that succeed and fail,
 * an ephemeral of this (closed) session, and ephemerals of a second session
 * left open (its client exits without closing it).
 */
const WRITE_TREE = `
from kazoo.client import KazooClient
from kazoo.security import make_acl, make_digest_acl, OPEN_ACL_UNSAFE, READ_ACL_UNSAFE
${EXTENDED_CREATES}
zk.add_auth('digest', 'alice:secret')
zk.create('/app', b'the app')
zk.create('/app/config', bytes(range(256)) * 4)
for i in range(40):
    zk.set('/app/config', bytes([i]) * (i * 7))
jobs = [zk.create('/app/job-', b'job %d' % i, sequence=True) for i in range(6)]
for path in jobs[1:4]:
    zk.delete(path)
call(CreateContainer('/app/queue', b'', OPEN_ACL_UNSAFE, 4))
zk.create('/app/queue/item', b'x')
call(CreateTTL('/app/lease', b'ttl node', OPEN_ACL_UNSAFE, 5, 3600000))
zk.create('/secure', b'secret', acl=[make_digest_acl('alice', 'secret', all=True)])
zk.create('/secure/inner', b'in')
zk.create('/readonly', b'ro', acl=READ_ACL_UNSAFE)
zk.create('/byip', b'', acl=[make_acl('ip', '127.0.0.1', all=True)])
zk.create('/app/acl', b'')
zk.set_acls('/app/acl', [make_acl('world', 'anyone', read=True, write=True, admin=True)])
zk.set_acls('/app/acl', [make_acl('world', 'anyone', read=True, write=True, create=True, admin=True)])
zk.create('/deep/a/b/c/d', b'leaf', makepath=True)
zk.create('/unicode-\\u00fcn\\u00ef', '\\u00fcn\\u00ef'.encode())
zk.create('/big', b'z' * 300000)
zk.create('/empty', b'')
t = zk.transaction()
t.create('/multi')
t.create('/multi/one', b'1')
t.set_data('/app', b'changed in a multi')
t.check('/app/config', 40)
t.delete('/empty')
committed = t.commit()
t = zk.transaction()
t.create('/never')
t.check('/app', 12345)
failed = t.commit()
zk.create('/mine', b'', ephemeral=True)
for i in range(30):
    zk.create('/churn-%d' % i)
for i in range(30):
    zk.delete('/churn-%d' % i)
keeper = KazooClient(hosts=hosts, timeout=30)
keeper.start(timeout=15)
keeper.create('/app/live', b'held', ephemeral=True)
keeper.create('/app/live-seq-', b'', ephemeral=True, sequence=True)
session_id, passwd = keeper.client_id
# keeper is deliberately not stopped: its session must outlive this process.
result = {'session': session_id, 'passwd': passwd, 'committed': [repr(r) for r in committed], 'failed': [type(r).__name__ for r in failed]}
`;

/** Every znode's data, Stat and ACL, read as a client with alice's digest. */
const READ_TREE = `
zk.add_auth('digest', 'alice:secret')
nodes = {}
def walk(path):
    data, stat = zk.get(path)
    acl, _ = zk.get_acls(path)
    nodes[path] = {'data': data, 'stat': stat, 'acl': sorted([a.perms, a.id.scheme, a.id.id] for a in acl)}
    for child in sorted(zk.get_children(path)):
        walk(path.rstrip('/') + '/' + child)
walk('/')
result = nodes
`;

interface KazooNode {
  data: Buffer | null;
  stat: Record<string, number | bigint>;
  acl: [number, string, string][];
}

async function kazoo<T>(connectString: string, script: string): Promise<T> {
  const result: unknown = await runKazoo(connectString, script, { timeoutMs: 120_000 });
  assert.ok(!isKazooError(result), `kazoo snippet raised: ${inspect(result)}`);
  return result as T;
}

/** Symlinks every ZooKeeper file into a fresh version-2 dir, except `omit`; `copy` files are copied (to be damaged). */
function zkDirVariant(sourceVersionDir: string, options: { omit?: (name: string) => boolean; copy?: string[] }): string {
  const dir = tempDir('zkts-import-variant-');
  const versionDir = join(dir, 'version-2');
  mkdirSync(versionDir);
  for (const name of readdirSync(sourceVersionDir)) {
    if (options.omit?.(name)) continue;
    if (options.copy?.includes(name)) copyFileSync(join(sourceVersionDir, name), join(versionDir, name));
    else symlinkSync(join(sourceVersionDir, name), join(versionDir, name));
  }
  return dir;
}

describe('zkts import of Apache ZooKeeper 3.8 data', { skip: SKIP }, () => {
  const zkData = tempDir('zkts-import-zk-');
  const imported = tempDir('zkts-import-to-');
  let zkNodes: Record<string, KazooNode>;
  let live: { session: bigint; passwd: Buffer };
  let importOutput: string;

  before(async () => {
    const zk = await startReferenceZk({ extraConfig: ZK_STORAGE_CONFIG });
    try {
      const written = await kazoo<{ session: bigint; passwd: Buffer; committed: string[]; failed: string[] }>(zk.connectString, WRITE_TREE);
      assert.equal(written.committed.length, 5);
      assert.deepEqual(written.failed, ['RolledBackError', 'BadVersionError']);
      live = { session: BigInt(written.session), passwd: written.passwd };
      zkNodes = await kazoo(zk.connectString, READ_TREE);
    } finally {
      // Stop the JVM but keep its files: stop() would remove its work dir with the data.
      await zk.proc.stop();
      mkdirSync(join(zkData, 'version-2'));
      for (const name of readdirSync(join(zk.dataDir, 'version-2'))) {
        copyFileSync(join(zk.dataDir, 'version-2', name), join(zkData, 'version-2', name));
      }
      await zk.stop();
    }
  });

  test('ZooKeeper left several snapshots and logs, and the tree has what was written', () => {
    const names = readdirSync(join(zkData, 'version-2'));
    assert.ok(names.filter((n) => n.startsWith('snapshot.')).length >= 3, names.join(' '));
    assert.ok(names.filter((n) => n.startsWith('log.')).length >= 3, names.join(' '));
    assert.ok(zkNodes['/app/live'] !== undefined && zkNodes['/app/lease'] !== undefined && zkNodes['/app/queue'] !== undefined);
    assert.equal(zkNodes['/mine'], undefined, 'the closed session took its ephemeral along');
  });

  test('zkts import converts it and prints a summary', async () => {
    const run = await runProcess(process.execPath, [ZKTS_MAIN, 'import', zkData, '--to', imported], { name: 'zkts import', timeoutMs: 60_000 });
    assert.equal(run.code, 0, run.stderr);
    importOutput = run.stdout;
    assert.match(run.stdout, /loaded ZooKeeper snapshot .*version-2\/snapshot\.[0-9a-f]+ \(zxid 0x[0-9a-f]+\)/);
    assert.match(run.stdout, new RegExp(`wrote .*: ${Object.keys(zkNodes).length} znodes \\(2 ephemeral, 1 container, 1 TTL\\), \\d+ ACL lists, 1 sessions, zxid 0x[0-9a-f]+`));
    const report = verifyDataDir(imported);
    assert.deepEqual(report.problems, []);
    assert.equal(report.snapshots, 1);
  });

  test('zkts serves the imported tree exactly as ZooKeeper did, and the live session survives', async () => {
    let zkts: ZkServerHandle | undefined;
    try {
      zkts = await startZkts({ config: { dataDir: imported, 'zookeeper.extendedTypesEnabled': 'true' } });
      // Right after the start: the live session's ephemerals are there with everything else.
      const zktsNodes = await kazoo<Record<string, KazooNode>>(zkts.connectString, READ_TREE);
      assert.deepEqual(Object.keys(zktsNodes).sort(), Object.keys(zkNodes).sort());
      for (const path of Object.keys(zkNodes)) assert.deepEqual(zktsNodes[path], zkNodes[path], `znode ${path}`);
      assert.equal(BigInt(zktsNodes['/app/live']!.stat.ephemeralOwner!), live.session);

      // The client of the old server resumes its session with the password ZooKeeper gave it.
      const resumed = await kazoo<{ session: bigint; owner: bigint; goneAfterClose: boolean }>(
        zkts.connectString,
        `
from kazoo.client import KazooClient
k = KazooClient(hosts=hosts, client_id=(${live.session}, bytes.fromhex('${live.passwd.toString('hex')}')), timeout=30)
k.start(timeout=15)
session = k.client_id[0]
owner = k.exists('/app/live').ephemeralOwner
k.stop()
k.close()
result = {'session': session, 'owner': owner, 'goneAfterClose': zk.exists('/app/live') is None}
`,
      );
      assert.equal(BigInt(resumed.session), live.session);
      assert.equal(BigInt(resumed.owner), live.session);
      assert.equal(resumed.goneAfterClose, true);

      // New writes continue ZooKeeper's zxids and sequence numbers.
      const next = await kazoo<{ name: string; czxid: number; cversion: number; numChildren: number }>(
        zkts.connectString,
        `
stat = zk.exists('/app')
name = zk.create('/app/job-', b'', sequence=True)
result = {'name': name, 'czxid': zk.exists(name).czxid, 'cversion': stat.cversion, 'numChildren': stat.numChildren}
`,
      );
      const createdUnderApp = (next.cversion + next.numChildren) / 2;
      assert.equal(next.name, `/app/job-${String(createdUnderApp).padStart(10, '0')}`);
      const importedZxid = parseInt(/zxid 0x([0-9a-f]+)\s*$/.exec(importOutput)![1]!, 16);
      assert.ok(next.czxid > importedZxid, `czxid ${next.czxid} after imported zxid ${importedZxid}`);
    } finally {
      await zkts?.stop();
    }
  });

  test('replaying the whole log from snapshot.0 gives the same database as the newest snapshot plus the log tail', async () => {
    const fromNewest = databaseView(loadSnapshotIn(imported));
    const variant = zkDirVariant(join(zkData, 'version-2'), { omit: (name) => name.startsWith('snapshot.') && name !== 'snapshot.0' });
    const to = tempDir();
    const result = await importZooKeeper({ zkDataDir: variant, to });
    assert.match(result.snapshotFile!, /snapshot\.0$/);
    assert.ok(result.replayedTxns > 100);
    assert.deepEqual(databaseView(loadSnapshotIn(to)), fromNewest);
  });

  test('a damaged newest snapshot is skipped for the one before it', async () => {
    const snapshots = listZkSnapshots(join(zkData, 'version-2'));
    const newest = snapshots.at(-1)!;
    const name = newest.path.split('/').at(-1)!;
    const variant = zkDirVariant(join(zkData, 'version-2'), { copy: [name] });
    const damaged = join(variant, 'version-2', name);
    const bytes = readFileSync(damaged);
    bytes[Math.floor(bytes.length / 2)]! ^= 0xff;
    writeFileSync(damaged, bytes);
    const to = tempDir();
    const result = await importZooKeeper({ zkDataDir: variant, to });
    assert.equal(result.snapshotFile, snapshots.at(-2)!.path.replace(join(zkData, 'version-2'), join(variant, 'version-2')));
    assert.match(result.warnings.join('\n'), /skipped damaged snapshot: .*checksum mismatch|skipped damaged snapshot: .*malformed/);
    assert.deepEqual(databaseView(loadSnapshotIn(to)), databaseView(loadSnapshotIn(imported)));
  });

  test('refuses to import into a zkts dir that already holds data', async () => {
    await assert.rejects(importZooKeeper({ zkDataDir: zkData, to: imported }), ImportError);
    const run = await runProcess(process.execPath, [ZKTS_MAIN, 'import', zkData, '--to', imported], { name: 'zkts import', timeoutMs: 60_000 });
    assert.equal(run.code, 1);
    assert.match(run.stderr, /is not empty/);
  });
});

function loadSnapshotIn(dataDir: string): ReturnType<typeof loadSnapshot> {
  const [name] = readdirSync(storageDir(dataDir)).filter((n) => n.startsWith('snapshot.'));
  return loadSnapshot(join(storageDir(dataDir), name!), { extendedTypesEnabled: true });
}

/** Compressed snapshots (zookeeper.snapshot.compression.method): each read back against what ZooKeeper served. */
for (const method of ['gz', 'snappy'] as const) {
  describe(`zkts import of ${method}-compressed ZooKeeper snapshots`, { skip: SKIP }, () => {
    test('imports the same tree', async () => {
      const zkData = tempDir(`zkts-import-${method}-`);
      const zk = await startReferenceZk({
        extraConfig: ZK_STORAGE_CONFIG,
        jvmFlags: [`-Dzookeeper.snapshot.compression.method=${method}`],
      });
      let zkNodes: Record<string, KazooNode>;
      try {
        await kazoo(
          zk.connectString,
          `
zk.create('/c', bytes(range(256)))
for i in range(60):
    zk.set('/c', b'version %d' % i)
    zk.create('/c/n-', b'%d' % i, sequence=True)
result = None
`,
        );
        zkNodes = await kazoo(zk.connectString, READ_TREE.replace("zk.add_auth('digest', 'alice:secret')", ''));
      } finally {
        await zk.proc.stop();
        mkdirSync(join(zkData, 'version-2'));
        for (const name of readdirSync(join(zk.dataDir, 'version-2'))) {
          copyFileSync(join(zk.dataDir, 'version-2', name), join(zkData, 'version-2', name));
        }
        await zk.stop();
      }
      const to = tempDir();
      const result = await importZooKeeper({ zkDataDir: zkData, to });
      assert.ok(result.snapshotFile!.endsWith(`.${method}`), result.snapshotFile!);
      const view = databaseView(loadSnapshotIn(to));
      assert.deepEqual([...view.nodes.keys()].sort(), Object.keys(zkNodes).sort());
      for (const [path, node] of Object.entries(zkNodes)) {
        const ours = view.nodes.get(path)!;
        assert.deepEqual(ours.data === null ? null : Buffer.from(ours.data, 'latin1'), node.data, `data of ${path}`);
        const stat = Object.fromEntries(Object.entries(ours.stat).map(([k, v]) => [k, Number(v)]));
        const theirs = Object.fromEntries(Object.entries(node.stat).map(([k, v]) => [k, Number(v)]));
        assert.deepEqual(stat, theirs, `stat of ${path}`);
      }
    });
  });
}

