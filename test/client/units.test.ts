// Unit tests of the client's building blocks that need no server.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { JuteWriter } from '../../src/jute/mod.js';
import { EventType, KeeperState } from '../../src/protocol/constants.js';
import { SetWatches2 } from '../../src/protocol/records.js';
import { digestAuth, ErrorCode, KeeperError, OPEN_ACL_UNSAFE, CREATOR_ALL_ACL, READ_ACL_UNSAFE, Perms } from '../../src/client/mod.js';
import { Chroot, parseConnectString } from '../../src/client/connect-string.js';
import { Fifo } from '../../src/client/fifo.js';
import { HostRotation } from '../../src/client/host-rotation.js';
import { PersistentWatch } from '../../src/client/persistent-watch.js';
import { buildCreate } from '../../src/client/requests.js';
import { SET_WATCHES_MAX_BYTES, setWatchesBatches } from '../../src/client/set-watches.js';
import type { WatchEvent } from '../../src/client/types.js';
import { WatchRegistry } from '../../src/client/watch-registry.js';
import { MAX_XID, nextXid } from '../../src/client/xid.js';

describe('connect strings', () => {
  test('hosts, default port, chroot', () => {
    assert.deepEqual(parseConnectString('a:1,b,c:3/app/x'), {
      servers: [
        { host: 'a', port: 1 },
        { host: 'b', port: 2181 },
        { host: 'c', port: 3 },
      ],
      chroot: '/app/x',
    });
    assert.deepEqual(parseConnectString('h:2181/'), { servers: [{ host: 'h', port: 2181 }], chroot: null });
    assert.deepEqual(parseConnectString(' h1:1 , h2:2 '), { servers: [{ host: 'h1', port: 1 }, { host: 'h2', port: 2 }], chroot: null });
  });

  test('IPv6 literals in brackets', () => {
    assert.deepEqual(parseConnectString('[::1]:2182,[fe80::1]').servers, [
      { host: '::1', port: 2182 },
      { host: 'fe80::1', port: 2181 },
    ]);
  });

  test('bad strings are BadArguments', () => {
    for (const bad of ['', '/chroot', 'h:0', 'h:70000', 'h:x', 'h/bad/', 'h/a//b', '[::1']) {
      assert.throws(() => parseConnectString(bad), (e: unknown) => e instanceof KeeperError && e.code === ErrorCode.BadArguments, bad);
    }
  });

  test('chroot maps paths both ways and rejects paths outside it', () => {
    const chroot = new Chroot('/app');
    assert.equal(chroot.toServer('/'), '/app');
    assert.equal(chroot.toServer('/a/b'), '/app/a/b');
    assert.equal(chroot.fromServer('/app'), '/');
    assert.equal(chroot.fromServer('/app/a'), '/a');
    assert.equal(chroot.fromServer('/apple'), null);
    assert.equal(chroot.fromServer('/other'), null);
    const none = new Chroot(null);
    assert.equal(none.toServer('/a'), '/a');
    assert.equal(none.fromServer('/a'), '/a');
  });
});

describe('xids', () => {
  test('increase and wrap after 2^31-1 to 1', () => {
    assert.equal(nextXid(0), 1);
    assert.equal(nextXid(41), 42);
    assert.equal(MAX_XID, 2 ** 31 - 1);
    assert.equal(nextXid(MAX_XID - 1), MAX_XID);
    assert.equal(nextXid(MAX_XID), 1);
  });
});

describe('fifo', () => {
  test('keeps order across compactions', () => {
    const fifo = new Fifo<number>();
    let expected = 0;
    for (let i = 0; i < 10_000; i++) {
      fifo.push(i);
      if (i % 3 === 0) assert.equal(fifo.shift(), expected++);
    }
    assert.equal(fifo.length, 10_000 - expected);
    assert.equal(fifo.peek(), expected);
    const rest = fifo.takeAll();
    assert.equal(rest[0], expected);
    assert.equal(rest.length, 10_000 - expected);
    assert.equal(fifo.shift(), undefined);
  });
});

describe('host rotation', () => {
  const servers = [
    { host: 'a', port: 1 },
    { host: 'b', port: 2 },
    { host: 'c', port: 3 },
  ];

  test('tries every server in turn, backs off after each full round, and resets on success', () => {
    const rotation = new HostRotation(servers, false, { initialDelayMs: 100, maxDelayMs: 1000 }, () => 0.5);
    const attempts = Array.from({ length: 10 }, () => rotation.next(10_000));
    assert.deepEqual(
      attempts.map((a) => a.server.host),
      ['a', 'b', 'c', 'a', 'b', 'c', 'a', 'b', 'c', 'a'],
    );
    // First attempt immediate; within a round immediate; each new round waits longer (jittered to 3/4 of the ceiling here).
    assert.deepEqual(
      attempts.map((a) => a.delayMs),
      [0, 0, 0, 150, 0, 0, 300, 0, 0, 600],
    );
    assert.equal(rotation.next(10_000).delayMs, 0);
    rotation.connected();
    // After a loss: a short random pause, then the next server (not the one just lost).
    const afterLoss = rotation.next(10_000);
    assert.equal(afterLoss.server.host, 'c');
    assert.equal(afterLoss.delayMs, 50);
  });

  test('never waits more than the maximum or the cap', () => {
    const rotation = new HostRotation(servers.slice(0, 1), false, { initialDelayMs: 100, maxDelayMs: 1000 }, () => 0.999);
    const delays = Array.from({ length: 20 }, () => rotation.next(700).delayMs);
    assert.ok(delays.every((d) => d <= 700));
    assert.equal(Math.max(...delays), 700);
  });

  test('other() cycles through the servers but the current one; prefer() picks the next attempt', () => {
    const rotation = new HostRotation(servers, false, { initialDelayMs: 100, maxDelayMs: 1000 }, () => 0.5);
    const current = rotation.next(1000).server;
    assert.equal(current.host, 'a');
    assert.deepEqual(
      [rotation.other(current), rotation.other(current), rotation.other(current)].map((s) => s?.host),
      ['b', 'c', 'b'],
    );
    rotation.prefer(servers[2]!);
    assert.equal(rotation.next(1000).server.host, 'c');
    assert.equal(new HostRotation(servers.slice(0, 1), false, { initialDelayMs: 1, maxDelayMs: 1 }).other(servers[0]!), null);
  });

  test('shuffling keeps every server', () => {
    const rotation = new HostRotation(servers, true, { initialDelayMs: 100, maxDelayMs: 1000 });
    assert.deepEqual(
      rotation.order.map((s) => s.host).sort(),
      ['a', 'b', 'c'],
    );
  });
});

describe('setWatches batches', () => {
  test('every path lands in exactly one batch, of its kind, and each frame stays within the limit', () => {
    const paths = (prefix: string, n: number): string[] => Array.from({ length: n }, (_, i) => `/${prefix}/${'x'.repeat(200)}/${i}`);
    const watches = {
      data: paths('data', 400),
      exist: paths('exist', 300),
      child: paths('child', 300),
      persistent: paths('persistent', 100),
      persistentRecursive: paths('recursive', 100),
    };
    const batches = setWatchesBatches(42, watches);
    assert.ok(batches.length > 1, 'more than 128 KiB of paths need several batches');
    for (const batch of batches) {
      assert.equal(batch.relativeZxid, 42);
      const w = new JuteWriter();
      const frame = w.beginFrame();
      w.writeInt(-8);
      w.writeInt(105);
      SetWatches2.encode(w, batch);
      w.endFrame(frame);
      assert.ok(w.length <= SET_WATCHES_MAX_BYTES, `batch frame of ${w.length} bytes`);
    }
    const all = (key: keyof (typeof batches)[number]): unknown[] => batches.flatMap((b) => b[key] as unknown[]);
    assert.deepEqual(all('dataWatches'), watches.data);
    assert.deepEqual(all('existWatches'), watches.exist);
    assert.deepEqual(all('childWatches'), watches.child);
    assert.deepEqual(all('persistentWatches'), watches.persistent);
    assert.deepEqual(all('persistentRecursiveWatches'), watches.persistentRecursive);
  });

  test('no watches, no batch; counts UTF-8 bytes, not characters', () => {
    assert.deepEqual(setWatchesBatches(1, { data: [], exist: [], child: [], persistent: [], persistentRecursive: [] }), []);
    const wide = Array.from({ length: 100 }, (_, i) => `/${'é'.repeat(1000)}${i}`);
    const batches = setWatchesBatches(1, { data: wide, exist: [], child: [], persistent: [], persistentRecursive: [] }, 10_000);
    assert.ok(batches.every((b) => b.dataWatches.length <= 4), 'each path is ~2 KB in UTF-8');
  });
});

describe('watch registry', () => {
  test('one-shot watches fire once, for the right event types', () => {
    const registry = new WatchRegistry();
    const calls: string[] = [];
    const data = (): number => calls.push('data');
    const exist = (): number => calls.push('exist');
    const child = (): number => calls.push('child');
    registry.add('data', '/a', data);
    registry.add('exist', '/b', exist);
    registry.add('child', '/a', child);
    assert.deepEqual([...registry.triggered(EventType.NodeChildrenChanged, '/a')], [child]);
    assert.equal(registry.triggered(EventType.NodeChildrenChanged, '/a').size, 0, 'consumed');
    assert.deepEqual([...registry.triggered(EventType.NodeCreated, '/b')], [exist]);
    assert.deepEqual([...registry.triggered(EventType.NodeDeleted, '/a')], [data]);
    assert.ok(registry.isEmpty);
  });

  test('the same callback for several kinds is called once per event', () => {
    const registry = new WatchRegistry();
    const callback = (): void => undefined;
    registry.add('data', '/a', callback);
    registry.add('child', '/a', callback);
    registry.add('persistent', '/a', callback);
    assert.equal(registry.triggered(EventType.NodeDeleted, '/a').size, 1);
    assert.ok(registry.has('persistent', '/a'), 'persistent watches stay');
  });

  test('recursive watches cover the subtree but not NodeChildrenChanged', () => {
    const registry = new WatchRegistry();
    const root = (): void => undefined;
    const sub = (): void => undefined;
    registry.add('persistentRecursive', '/', root);
    registry.add('persistentRecursive', '/a', sub);
    assert.deepEqual(new Set(registry.triggered(EventType.NodeDataChanged, '/a/b/c')), new Set([root, sub]));
    assert.deepEqual([...registry.triggered(EventType.NodeCreated, '/x')], [root]);
    assert.equal(registry.triggered(EventType.NodeChildrenChanged, '/a').size, 0);
    assert.equal(registry.triggered(EventType.None, '/a').size, 0);
  });

  test('snapshot, removeAll, clear', () => {
    const registry = new WatchRegistry();
    const callback = (): void => undefined;
    registry.add('data', '/a', callback);
    registry.add('exist', '/b', callback);
    registry.add('persistentRecursive', '/c', callback);
    assert.deepEqual(registry.snapshot(), { data: ['/a'], exist: ['/b'], child: [], persistent: [], persistentRecursive: ['/c'] });
    assert.deepEqual(registry.snapshotOf('/a'), { data: ['/a'], exist: [], child: [], persistent: [], persistentRecursive: [] });
    assert.deepEqual(registry.removeAll(['data', 'exist'], '/a'), [['data', callback]]);
    assert.equal(registry.persistentCallbacks().size, 1);
    assert.equal(registry.clear().size, 1);
    assert.ok(registry.isEmpty);
  });
});

describe('persistent watch iterator', () => {
  const node = (path: string): WatchEvent => ({ type: EventType.NodeDataChanged, state: KeeperState.SyncConnected, path });

  test('buffers events, hands them to waiting readers in order, and ends on a terminal state', async () => {
    const watch = new PersistentWatch('/a', 'persistent', async () => undefined);
    const first = watch.next();
    watch.callback(node('/a'));
    watch.callback(node('/b'));
    assert.deepEqual(await first, { value: node('/a'), done: false });
    const expired: WatchEvent = { type: EventType.None, state: KeeperState.Expired, path: '' };
    watch.callback(expired);
    watch.callback(node('/ignored'));
    assert.deepEqual(await watch.next(), { value: node('/b'), done: false });
    assert.deepEqual(await watch.next(), { value: expired, done: false });
    assert.deepEqual(await watch.next(), { value: undefined, done: true });
    assert.ok(watch.isEnded);
  });

  test('remove() ends a pending next() and stops once', async () => {
    let stops = 0;
    const watch = new PersistentWatch('/a', 'persistentRecursive', async () => {
      stops++;
    });
    const pending = watch.next();
    await watch.remove();
    await watch.remove();
    assert.deepEqual(await pending, { value: undefined, done: true });
    assert.equal(stops, 1);
  });

  test('breaking out of for-await stops the watch', async () => {
    let stops = 0;
    const watch = new PersistentWatch('/a', 'persistent', async () => {
      stops++;
    });
    watch.callback(node('/a'));
    for await (const event of watch) {
      assert.equal(event.path, '/a');
      break;
    }
    assert.equal(stops, 1);
  });
});

describe('create requests', () => {
  const toServer = (path: string): string => `/root${path}`;
  const code = (fn: () => unknown): number => {
    try {
      fn();
    } catch (error) {
      return (error as KeeperError).code;
    }
    return 0;
  };

  test('the mode picks the opcode; TTL needs a ttl and others refuse one', () => {
    assert.equal(buildCreate('/a', 'x', {}, false, toServer).opcode, 1);
    assert.equal(buildCreate('/a', 'x', {}, true, toServer).opcode, 15);
    assert.equal(buildCreate('/a', 'x', { mode: 4 }, false, toServer).opcode, 19);
    const ttl = buildCreate('/a', 'x', { mode: 5, ttlMs: 1000 }, false, toServer);
    assert.equal(ttl.opcode, 21);
    assert.equal(ttl.body.path, '/root/a');
    assert.deepEqual(ttl.body.data, Buffer.from('x'));
    assert.equal(code(() => buildCreate('/a', 'x', { mode: 5 }, false, toServer)), ErrorCode.BadArguments);
    assert.equal(code(() => buildCreate('/a', 'x', { mode: 6, ttlMs: 0 }, false, toServer)), ErrorCode.BadArguments);
    assert.equal(code(() => buildCreate('/a', 'x', { ttlMs: 10 }, false, toServer)), ErrorCode.BadArguments);
    assert.equal(code(() => buildCreate('/a', 'x', { mode: 9 as 0 }, false, toServer)), ErrorCode.BadArguments);
    assert.equal(code(() => buildCreate('/a', 'x', { acl: [] }, false, toServer)), ErrorCode.InvalidACL);
    assert.equal(code(() => buildCreate('/a/', 'x', {}, false, toServer)), ErrorCode.BadArguments);
    assert.equal(code(() => buildCreate('/a/', 'x', { mode: 2 }, false, toServer)), 0, 'a sequential path may end in /');
  });

  test('strings are sent as UTF-8', () => {
    assert.deepEqual(buildCreate('/a', 'é', {}, false, toServer).body.data, Buffer.from('é', 'utf8'));
  });
});

describe('ACL helpers', () => {
  test('digestAuth computes user:base64(sha1(user:password))', () => {
    // The value ZooKeeper's DigestAuthenticationProvider.generateDigest gives for super:test.
    assert.deepEqual(digestAuth('super', 'test'), { scheme: 'digest', id: 'super:D/InIHSb7yEEbrWz8b9l71RjZJU=' });
  });

  test('the constant ACLs', () => {
    assert.deepEqual(OPEN_ACL_UNSAFE, [{ perms: Perms.ALL, id: { scheme: 'world', id: 'anyone' } }]);
    assert.deepEqual(CREATOR_ALL_ACL, [{ perms: Perms.ALL, id: { scheme: 'auth', id: '' } }]);
    assert.deepEqual(READ_ACL_UNSAFE, [{ perms: Perms.READ, id: { scheme: 'world', id: 'anyone' } }]);
    assert.ok(Object.isFrozen(OPEN_ACL_UNSAFE) && Object.isFrozen(OPEN_ACL_UNSAFE[0]));
  });
});
