// Every operation of the client against the server under test: results, error codes, chroot, pipelining.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  CREATOR_ALL_ACL,
  CreateMode,
  ErrorCode,
  KeeperError,
  MultiError,
  OPEN_ACL_UNSAFE,
  Perms,
  READ_ACL_UNSAFE,
  digestAuth,
  type ZkClient,
} from '../../src/client/mod.js';
import { ClientPool, startTestServer, uniquePath, until, type TestServer } from './helpers.js';

/** Matches a rejection with this KeeperError code (and path, when given). */
function keeperError(code: number, path?: string): (error: unknown) => boolean {
  return (error) => {
    assert.ok(error instanceof KeeperError, `expected a KeeperError, got ${String(error)}`);
    assert.equal(error.code, code, `expected code ${code}, got ${error.code} (${error.message})`);
    if (path !== undefined) assert.equal(error.path, path);
    return true;
  };
}

let server: TestServer;
const pool = new ClientPool();
let client: ZkClient;

before(async () => {
  server = await startTestServer();
  client = await pool.connect(server.connectString);
});

after(async () => {
  await pool.closeAll();
  await server?.stop();
});

describe('create', () => {
  test('persistent: returns the path; the node has the data and no owner', async () => {
    const path = uniquePath('persistent');
    assert.equal(await client.create(path, 'hello'), path);
    const { data, stat } = await client.getData(path);
    assert.equal(data?.toString(), 'hello');
    assert.equal(stat.ephemeralOwner, 0n);
    assert.equal(stat.dataLength, 5);
  });

  test('ephemeral: owned by the session', async () => {
    const path = uniquePath('ephemeral');
    await client.create(path, null, { mode: CreateMode.EPHEMERAL });
    const stat = await client.exists(path);
    assert.equal(stat?.ephemeralOwner, client.sessionId);
  });

  test('sequential: a 10-digit suffix from the parent cversion, increasing', async () => {
    const parent = uniquePath('seq');
    await client.create(parent);
    const first = await client.create(`${parent}/n-`, 'x', { mode: CreateMode.PERSISTENT_SEQUENTIAL });
    const second = await client.create(`${parent}/n-`, 'x', { mode: CreateMode.EPHEMERAL_SEQUENTIAL });
    assert.equal(first, `${parent}/n-0000000000`);
    assert.equal(second, `${parent}/n-0000000001`);
    assert.equal((await client.exists(second))?.ephemeralOwner, client.sessionId);
    // A sequential path may end in "/": the suffix is the whole name.
    assert.equal(await client.create(`${parent}/`, null, { mode: CreateMode.PERSISTENT_SEQUENTIAL }), `${parent}/0000000002`);
  });

  test('create2 returns the Stat of the new node', async () => {
    const path = uniquePath('create2');
    const result = await client.create2(path, Buffer.from([1, 2, 3]));
    assert.equal(result.path, path);
    assert.equal(result.stat.dataLength, 3);
    assert.equal(result.stat.version, 0);
    assert.deepEqual(await client.exists(path), result.stat);
  });

  test('container: reaped once its last child is gone', async () => {
    const path = uniquePath('container');
    const { path: created, stat } = await client.createContainer(path, 'c');
    assert.equal(created, path);
    // Clients see 0 as the owner of containers and TTL nodes (DataNode.getClientEphemeralOwner).
    assert.equal(stat.ephemeralOwner, 0n);
    assert.equal(stat.dataLength, 1);
    await client.create(`${path}/child`);
    await client.delete(`${path}/child`);
    await until(async () => (await client.exists(path)) === null, 'the empty container to be reaped');
  });

  test('TTL: reaped once expired', async () => {
    const path = uniquePath('ttl');
    const { stat } = await client.createTTL(path, 'x', 100);
    assert.equal(stat.ephemeralOwner, 0n);
    const sequential = await client.createTTL(`${path}-`, 'x', 60_000, { mode: CreateMode.PERSISTENT_SEQUENTIAL_WITH_TTL });
    assert.match(sequential.path, /-\d{10}$/);
    await until(async () => (await client.exists(path)) === null, 'the expired TTL node to be reaped');
    assert.notEqual(await client.exists(sequential.path), null, 'a node with a long TTL stays');
  });

  test('error codes: NodeExists, NoNode, NoChildrenForEphemerals', async () => {
    const path = uniquePath('errors');
    await client.create(path, null, { mode: CreateMode.EPHEMERAL });
    await assert.rejects(client.create(path), keeperError(ErrorCode.NodeExists, path));
    await assert.rejects(client.create(`${path}-missing/child`), keeperError(ErrorCode.NoNode, `${path}-missing/child`));
    await assert.rejects(client.create(`${path}/child`), keeperError(ErrorCode.NoChildrenForEphemerals));
  });

  test('checked before sending: bad paths, empty ACLs, TTL arguments', async () => {
    for (const bad of ['', 'a', '/a/', '/a//b', '/a/./b', '/a\u0000b']) {
      await assert.rejects(client.create(bad), keeperError(ErrorCode.BadArguments), JSON.stringify(bad));
    }
    await assert.rejects(client.create(uniquePath('acl'), null, { acl: [] }), keeperError(ErrorCode.InvalidACL));
    await assert.rejects(client.create(uniquePath('ttl'), null, { mode: CreateMode.PERSISTENT_WITH_TTL }), keeperError(ErrorCode.BadArguments));
    await assert.rejects(client.create(uniquePath('ttl'), null, { ttlMs: 1000 }), keeperError(ErrorCode.BadArguments));
    await assert.rejects(client.getData('/no/such/node/'), keeperError(ErrorCode.BadArguments));
  });
});

describe('delete', () => {
  test('with and without a version; BadVersion, NoNode, NotEmpty', async () => {
    const path = uniquePath('delete');
    await client.create(path);
    await client.create(`${path}/child`);
    await assert.rejects(client.delete(path), keeperError(ErrorCode.NotEmpty, path));
    await assert.rejects(client.delete(`${path}/child`, { version: 3 }), keeperError(ErrorCode.BadVersion));
    await client.delete(`${path}/child`, { version: 0 });
    await client.delete(path);
    await assert.rejects(client.delete(path), keeperError(ErrorCode.NoNode, path));
    assert.equal(await client.exists(path), null);
  });
});

describe('reads and writes', () => {
  test('exists: Stat or null', async () => {
    const path = uniquePath('exists');
    assert.equal(await client.exists(path), null);
    await client.create(path, 'abc');
    const stat = await client.exists(path);
    assert.equal(stat?.dataLength, 3);
    assert.equal(stat?.numChildren, 0);
  });

  test('getData: bytes, UTF-8 strings, null data, NoNode', async () => {
    const path = uniquePath('data');
    const bytes = Buffer.from([0, 255, 128, 10]);
    await client.create(path, bytes);
    assert.deepEqual((await client.getData(path)).data, bytes);
    await client.setData(path, 'ünïcødé ✓');
    assert.equal((await client.getData(path)).data?.toString('utf8'), 'ünïcødé ✓');
    await client.create(`${path}/null`, null);
    assert.equal((await client.getData(`${path}/null`)).data, null);
    await client.create(`${path}/default`);
    assert.deepEqual((await client.getData(`${path}/default`)).data, Buffer.alloc(0));
    await assert.rejects(client.getData(`${path}/missing`), keeperError(ErrorCode.NoNode, `${path}/missing`));
  });

  test('data of nearly 1 MB travels both ways', async () => {
    const path = uniquePath('large');
    const data = Buffer.alloc(1_000_000);
    for (let i = 0; i < data.length; i++) data[i] = (i * 7) & 0xff;
    await client.create(path, data);
    const [first, second] = await Promise.all([client.getData(path), client.getData(path)]);
    assert.ok(first.data?.equals(data));
    assert.ok(second.data?.equals(data));
    assert.equal(first.stat.dataLength, data.length);
  });

  test('setData: new Stat, version check', async () => {
    const path = uniquePath('set');
    await client.create(path, 'v0');
    const stat = await client.setData(path, 'v1', { version: 0 });
    assert.equal(stat.version, 1);
    await assert.rejects(client.setData(path, 'v2', { version: 0 }), keeperError(ErrorCode.BadVersion, path));
    assert.equal((await client.setData(path, 'v2')).version, 2);
    await assert.rejects(client.setData(`${path}/missing`, 'x'), keeperError(ErrorCode.NoNode));
  });

  test('getChildren and getChildren2', async () => {
    const path = uniquePath('children');
    await client.create(path);
    for (const name of ['c', 'a', 'b']) await client.create(`${path}/${name}`);
    assert.deepEqual((await client.getChildren(path)).sort(), ['a', 'b', 'c']);
    const { children, stat } = await client.getChildren2(path);
    assert.deepEqual(children.sort(), ['a', 'b', 'c']);
    assert.equal(stat.numChildren, 3);
    assert.equal(stat.cversion, 3);
    await assert.rejects(client.getChildren(`${path}/missing`), keeperError(ErrorCode.NoNode));
  });

  test('getAllChildrenNumber counts all descendants', async () => {
    const path = uniquePath('count');
    await client.create(path);
    await client.create(`${path}/a`);
    await client.create(`${path}/a/b`);
    await client.create(`${path}/c`);
    assert.equal(await client.getAllChildrenNumber(path), 3);
    assert.equal(await client.getAllChildrenNumber(`${path}/c`), 0);
    await assert.rejects(client.getAllChildrenNumber(`${path}/missing`), keeperError(ErrorCode.NoNode));
  });

  test('getEphemerals: this session only, by prefix', async () => {
    const other = await pool.connect(server.connectString);
    const path = uniquePath('eph');
    await client.create(path);
    await client.create(`${path}/mine`, null, { mode: CreateMode.EPHEMERAL });
    await other.create(`${path}/theirs`, null, { mode: CreateMode.EPHEMERAL });
    const all = await client.getEphemerals();
    assert.ok(all.includes(`${path}/mine`));
    assert.ok(!all.includes(`${path}/theirs`));
    assert.deepEqual(await client.getEphemerals(path), [`${path}/mine`]);
    assert.deepEqual(await other.getEphemerals(path), [`${path}/theirs`]);
  });

  test('sync', async () => {
    const path = uniquePath('sync');
    await client.create(path);
    await client.sync(path);
    await client.sync('/');
  });
});

describe('ACLs and authentication', () => {
  test('getACL and setACL with the ACL version', async () => {
    const path = uniquePath('acl');
    await client.create(path, null, { acl: READ_ACL_UNSAFE });
    assert.deepEqual((await client.getACL(path)).acl, READ_ACL_UNSAFE);
    await assert.rejects(client.setData(path, 'x'), keeperError(ErrorCode.NoAuth, path));
    // The node grants READ only, so not ADMIN: setACL is refused too.
    await assert.rejects(client.setACL(path, OPEN_ACL_UNSAFE), keeperError(ErrorCode.NoAuth, path));
    const open = uniquePath('acl');
    await client.create(open);
    const readAdmin = [{ perms: Perms.READ | Perms.ADMIN, id: { scheme: 'world', id: 'anyone' } }];
    const stat = await client.setACL(open, readAdmin, { version: 0 });
    assert.equal(stat.aversion, 1);
    await assert.rejects(client.setACL(open, OPEN_ACL_UNSAFE, { version: 0 }), keeperError(ErrorCode.BadVersion));
    const { acl, stat: after } = await client.getACL(open);
    assert.deepEqual(acl, readAdmin);
    assert.equal(after.aversion, 1);
    await assert.rejects(client.setACL(open, []), keeperError(ErrorCode.InvalidACL));
  });

  test('digest authentication: CREATOR_ALL_ACL and digestAuth identities', async () => {
    const owner = await pool.connect(server.connectString);
    const stranger = await pool.connect(server.connectString);
    await assert.rejects(owner.create(uniquePath('creator'), null, { acl: CREATOR_ALL_ACL }), keeperError(ErrorCode.InvalidACL));
    await owner.addAuth('digest', 'alice:secret');
    const path = uniquePath('creator');
    await owner.create(path, 'private', { acl: CREATOR_ALL_ACL });
    const { acl } = await owner.getACL(path);
    assert.deepEqual(acl, [{ perms: Perms.ALL, id: digestAuth('alice', 'secret') }]);
    await assert.rejects(stranger.getData(path), keeperError(ErrorCode.NoAuth, path));
    await stranger.addAuth('digest', 'alice:secret');
    assert.equal((await stranger.getData(path)).data?.toString(), 'private');

    const shared = uniquePath('digest');
    await owner.create(shared, 'bob may read', { acl: [{ perms: Perms.READ, id: digestAuth('bob', 'pw') }] });
    const bob = await pool.connect(server.connectString, { authInfo: [{ scheme: 'digest', auth: 'bob:pw' }] });
    assert.equal((await bob.getData(shared)).data?.toString(), 'bob may read');
    await assert.rejects(bob.setData(shared, 'no'), keeperError(ErrorCode.NoAuth));
  });

  test('whoAmI lists the identities', async () => {
    const who = await pool.connect(server.connectString);
    const before = await who.whoAmI();
    assert.ok(before.some((info) => info.authScheme === 'ip'));
    await who.addAuth('digest', 'carol:pw');
    const after = await who.whoAmI();
    assert.ok(after.some((info) => info.authScheme === 'digest' && info.user === 'carol'), JSON.stringify(after));
  });
});

describe('multi', () => {
  test('a committed transaction returns one result per op', async () => {
    const path = uniquePath('multi');
    await client.create(path, 'v0');
    await client.create(`${path}/old`);
    const results = await client
      .transaction()
      .create(`${path}/new`, 'n')
      .create(`${path}/seq-`, null, { mode: CreateMode.PERSISTENT_SEQUENTIAL })
      .create(`${path}/container`, null, { mode: CreateMode.CONTAINER })
      .create(`${path}/ttl`, null, { mode: CreateMode.PERSISTENT_WITH_TTL, ttlMs: 60_000 })
      .setData(path, 'v1', 0)
      .check(path, 1)
      .delete(`${path}/old`, 0)
      .commit();
    assert.deepEqual(results.slice(0, 2), [
      { type: 'create', path: `${path}/new`, stat: undefined },
      // The parent's cversion counts the earlier creates: old, then new inside this transaction.
      { type: 'create', path: `${path}/seq-0000000002`, stat: undefined },
    ]);
    assert.equal(results[2]!.type, 'create');
    assert.equal((results[2] as { path: string }).path, `${path}/container`);
    assert.ok((results[2] as { stat?: unknown }).stat !== undefined, 'a container create answers with a Stat');
    assert.equal((results[3] as { path: string }).path, `${path}/ttl`);
    assert.ok((results[3] as { stat?: unknown }).stat !== undefined, 'a TTL create answers with a Stat');
    assert.equal(results[4]!.type, 'setData');
    assert.equal((results[4] as { stat: { version: number } }).stat.version, 1);
    assert.deepEqual(results.slice(5), [{ type: 'check' }, { type: 'delete' }]);
    assert.equal((await client.getData(path)).data?.toString(), 'v1');
    assert.equal(await client.exists(`${path}/old`), null);
  });

  test('a failed transaction applies nothing and reports every op', async () => {
    const path = uniquePath('multi-fail');
    await client.create(path, 'v0');
    const failure = await client
      .transaction()
      .create(`${path}/a`)
      .check(path, 7)
      .setData(path, 'never')
      .commit()
      .then(
        () => assert.fail('the transaction should fail'),
        (error: unknown) => error,
      );
    assert.ok(failure instanceof MultiError);
    assert.equal(failure.code, ErrorCode.BadVersion);
    assert.equal(failure.path, path);
    assert.equal(failure.failedIndex, 1);
    assert.deepEqual(failure.results, [
      { type: 'error', code: ErrorCode.Ok },
      { type: 'error', code: ErrorCode.BadVersion },
      { type: 'error', code: ErrorCode.RuntimeInconsistency },
    ]);
    assert.equal(await client.exists(`${path}/a`), null);
    assert.equal((await client.getData(path)).data?.toString(), 'v0');
  });

  test('an empty transaction commits; bad ops are refused before sending', async () => {
    assert.deepEqual(await client.transaction().commit(), []);
    await assert.rejects(client.transaction().create('bad').commit(), keeperError(ErrorCode.BadArguments));
    await assert.rejects(client.multi([{ type: 'check', path: '/', version: -2 }]), keeperError(ErrorCode.BadArguments));
  });

  test('multiRead: values and per-op errors', async () => {
    const path = uniquePath('multi-read');
    await client.create(path, 'data');
    await client.create(`${path}/child`);
    const results = await client.readTransaction().getData(path).getChildren(path).getData(`${path}/missing`).commit();
    assert.equal(results.length, 3);
    assert.equal(results[0]!.type, 'getData');
    assert.equal((results[0] as { data: Buffer }).data.toString(), 'data');
    assert.deepEqual(results[1], { type: 'getChildren', children: ['child'] });
    assert.deepEqual(results[2], { type: 'error', code: ErrorCode.NoNode });
  });
});

describe('chroot', () => {
  test('every path is relative to the chroot, both ways', async () => {
    const root = uniquePath('chroot');
    await client.create(root);
    const rooted = await pool.connect(`${server.connectString}${root}`);
    assert.equal(await rooted.create('/a', 'in chroot'), '/a');
    assert.equal((await client.getData(`${root}/a`)).data?.toString(), 'in chroot');
    assert.equal(await rooted.create('/a/s-', null, { mode: CreateMode.EPHEMERAL_SEQUENTIAL }), '/a/s-0000000000');
    assert.equal((await rooted.create2('/b')).path, '/b');
    assert.deepEqual((await rooted.getChildren('/')).sort(), ['a', 'b']);
    assert.equal((await rooted.exists('/'))?.numChildren, 2);
    assert.deepEqual(await rooted.getEphemerals(), ['/a/s-0000000000']);
    assert.equal(await rooted.getAllChildrenNumber('/'), 3);
    const results = await rooted.transaction().create('/c').setData('/a', 'x').commit();
    assert.deepEqual(results[0], { type: 'create', path: '/c', stat: undefined });
    await assert.rejects(rooted.getData('/missing'), keeperError(ErrorCode.NoNode, '/missing'));
    const failed = await rooted.transaction().check('/a', 99).commit().catch((error: unknown) => error);
    assert.ok(failed instanceof MultiError && failed.path === '/a');
    await rooted.sync('/a');
    // The root of a chroot cannot be deleted through it (it is sent as "/").
    await assert.rejects(rooted.delete('/'), (error: unknown) => error instanceof KeeperError);
    assert.notEqual(await client.exists(root), null);
  });

  test('a chroot that does not exist yet: operations fail with NoNode until it is created', async () => {
    const root = uniquePath('late-chroot');
    const rooted = await pool.connect(`${server.connectString}${root}`);
    await assert.rejects(rooted.create('/a'), keeperError(ErrorCode.NoNode, '/a'));
    await client.create(root);
    assert.equal(await rooted.create('/a'), '/a');
  });
});

describe('pipelining', () => {
  test('many requests in flight are answered in order', async () => {
    const parent = uniquePath('pipeline');
    await client.create(parent);
    const count = 3000;
    const creates = Array.from({ length: count }, () => client.create(`${parent}/n-`, null, { mode: CreateMode.PERSISTENT_SEQUENTIAL }));
    const paths = await Promise.all(creates);
    // Sequence numbers follow the order of the calls: the requests went out and were answered in that order.
    assert.deepEqual(
      paths,
      Array.from({ length: count }, (_, i) => `${parent}/n-${String(i).padStart(10, '0')}`),
    );
    const mixed = await Promise.all(
      paths.slice(0, 500).flatMap((path, i) => [client.setData(path, String(i)), client.getData(path).then((r) => r.data?.toString())]),
    );
    for (let i = 0; i < 500; i++) assert.equal(mixed[2 * i + 1], String(i), 'a read sees the write sent before it');
    assert.equal(await client.getAllChildrenNumber(parent), count);
  });

  test('abort and timeout options', async () => {
    const aborted = new AbortController();
    aborted.abort(new Error('not wanted'));
    await assert.rejects(client.getData('/', { signal: aborted.signal }), /not wanted/);
    const controller = new AbortController();
    const pending = client.exists('/', { signal: controller.signal, timeoutMs: 60_000 });
    controller.abort();
    await assert.rejects(pending, { name: 'AbortError' });
    // The client is unaffected, and the reply to the abandoned request is read and dropped.
    assert.notEqual(await client.exists('/', { timeoutMs: 60_000 }), null);
  });
});
