// Watches: one-shot, persistent and recursive, removal, and re-arming after a reconnect.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  CreateMode,
  ErrorCode,
  EventType,
  KeeperError,
  KeeperState,
  WatcherType,
  watchOnce,
  type PersistentWatch,
  type WatchEvent,
  type ZkClient,
} from '../../src/client/mod.js';
import { ClientPool, EventRecorder, TcpProxy, nextEvent, sleep, startTestServer, uniquePath, until, within, type TestServer } from './helpers.js';

let server: TestServer;
const pool = new ClientPool();
let client: ZkClient;
/** Makes the changes the watching client should hear about. */
let writer: ZkClient;

before(async () => {
  server = await startTestServer();
  client = await pool.connect(server.connectString);
  writer = await pool.connect(server.connectString);
});

after(async () => {
  await pool.closeAll();
  await server?.stop();
});

function nodeEvent(type: number, path: string): WatchEvent {
  return { type: type as WatchEvent['type'], state: KeeperState.SyncConnected, path };
}

/** Reads the next event of a persistent watch, with a deadline. */
async function nextOf(watch: PersistentWatch): Promise<WatchEvent> {
  const result = await within(watch.next(), 30_000, `an event of the watch on ${watch.path}`);
  assert.equal(result.done, false, 'the watch ended');
  return result.value!;
}

/** Waits a little and checks that nothing more arrived (used only to check the absence of events). */
async function assertQuiet(recorder: EventRecorder, count: number): Promise<void> {
  await writer.sync('/');
  await client.sync('/');
  await sleep(100);
  assert.equal(recorder.events.length, count, `unexpected events: ${JSON.stringify(recorder.events.slice(count))}`);
}

describe('one-shot watches', () => {
  test('getData: NodeDataChanged once', async () => {
    const path = uniquePath('data');
    await client.create(path, 'v0');
    const recorder = new EventRecorder();
    await client.getData(path, { watch: recorder.callback });
    await writer.setData(path, 'v1');
    assert.deepEqual(await recorder.atLeast(1), [nodeEvent(EventType.NodeDataChanged, path)]);
    await writer.setData(path, 'v2');
    await assertQuiet(recorder, 1);
  });

  test('exists: NodeCreated for a missing node, then NodeDataChanged and NodeDeleted', async () => {
    const path = uniquePath('exists');
    const created = watchOnce();
    assert.equal(await client.exists(path, { watch: created.callback }), null);
    await writer.create(path);
    assert.deepEqual(await within(created.event, 30_000, 'NodeCreated'), nodeEvent(EventType.NodeCreated, path));
    const changed = watchOnce();
    await client.exists(path, { watch: changed.callback });
    await writer.setData(path, 'x');
    assert.deepEqual(await within(changed.event, 30_000, 'NodeDataChanged'), nodeEvent(EventType.NodeDataChanged, path));
    const deleted = watchOnce();
    await client.exists(path, { watch: deleted.callback });
    await writer.delete(path);
    assert.deepEqual(await within(deleted.event, 30_000, 'NodeDeleted'), nodeEvent(EventType.NodeDeleted, path));
  });

  test('getChildren: NodeChildrenChanged; NodeDeleted reaches data and child watches, once per callback', async () => {
    const path = uniquePath('children');
    await client.create(path);
    const recorder = new EventRecorder();
    await client.getChildren(path, { watch: recorder.callback });
    await writer.create(`${path}/a`);
    assert.deepEqual(await recorder.atLeast(1), [nodeEvent(EventType.NodeChildrenChanged, path)]);
    await writer.delete(`${path}/a`);
    const both = new EventRecorder();
    await client.getData(path, { watch: both.callback });
    await client.getChildren2(path, { watch: both.callback });
    await writer.delete(path);
    assert.deepEqual(await both.atLeast(1), [nodeEvent(EventType.NodeDeleted, path)]);
    await assertQuiet(both, 1);
  });

  test('several callbacks on one path each hear the event', async () => {
    const path = uniquePath('fanout');
    await client.create(path);
    const first = watchOnce();
    const second = watchOnce();
    await Promise.all([client.getData(path, { watch: first.callback }), client.exists(path, { watch: second.callback })]);
    await writer.setData(path, 'x');
    const events = await within(Promise.all([first.event, second.event]), 30_000, 'both events');
    assert.deepEqual(events, [nodeEvent(EventType.NodeDataChanged, path), nodeEvent(EventType.NodeDataChanged, path)]);
  });

  test('the event comes before any read that sees the change', async () => {
    const path = uniquePath('order');
    await client.create(path, 'old');
    const recorder = new EventRecorder();
    await client.getData(path, { watch: recorder.callback });
    void writer.setData(path, 'new');
    await until(async () => {
      const { data } = await client.getData(path);
      if (data?.toString() !== 'new') return false;
      assert.equal(recorder.events.length, 1, 'the new data was seen before the watch event');
      return true;
    }, 'the new data');
  });

  test('no watch is left when the read fails', async () => {
    const path = uniquePath('failed-read');
    const recorder = new EventRecorder();
    await assert.rejects(client.getData(path, { watch: recorder.callback }), (e: unknown) => e instanceof KeeperError && e.code === ErrorCode.NoNode);
    await writer.create(path);
    await writer.setData(path, 'x');
    await assertQuiet(recorder, 0);
  });

  test('paths are relative to the chroot', async () => {
    const root = uniquePath('chroot');
    await writer.create(root);
    const rooted = await pool.connect(`${server.connectString}${root}`);
    const created = watchOnce();
    await rooted.exists('/a', { watch: created.callback });
    const children = watchOnce();
    await rooted.getChildren('/', { watch: children.callback });
    await writer.create(`${root}/a`);
    assert.deepEqual(await within(created.event, 30_000, 'NodeCreated'), nodeEvent(EventType.NodeCreated, '/a'));
    assert.deepEqual(await within(children.event, 30_000, 'NodeChildrenChanged'), nodeEvent(EventType.NodeChildrenChanged, '/'));
  });
});

describe('persistent watches', () => {
  test('persistent: every event on the node, until removed', async () => {
    const path = uniquePath('persistent');
    const watch = await client.addWatch(path, 'persistent');
    await writer.create(path);
    assert.deepEqual(await nextOf(watch), nodeEvent(EventType.NodeCreated, path));
    await writer.setData(path, 'a');
    assert.deepEqual(await nextOf(watch), nodeEvent(EventType.NodeDataChanged, path));
    await writer.setData(path, 'b');
    assert.deepEqual(await nextOf(watch), nodeEvent(EventType.NodeDataChanged, path));
    await writer.create(`${path}/child`);
    assert.deepEqual(await nextOf(watch), nodeEvent(EventType.NodeChildrenChanged, path));
    await writer.setData(`${path}/child`, 'not watched');
    await writer.delete(`${path}/child`);
    assert.deepEqual(await nextOf(watch), nodeEvent(EventType.NodeChildrenChanged, path));
    await client.checkWatches(path, WatcherType.Any);
    await watch.remove();
    assert.deepEqual(await watch.next(), { value: undefined, done: true });
    await assert.rejects(client.checkWatches(path, WatcherType.Any), (e: unknown) => e instanceof KeeperError && e.code === ErrorCode.NoWatcher);
  });

  test('persistent-recursive: created, changed and deleted below the node, never NodeChildrenChanged', async () => {
    const path = uniquePath('recursive');
    await writer.create(path);
    const watch = await client.addWatch(path, 'persistentRecursive');
    await writer.create(`${path}/a`);
    await writer.create(`${path}/a/b`, null, { mode: CreateMode.EPHEMERAL });
    await writer.setData(`${path}/a/b`, 'x');
    await writer.delete(`${path}/a/b`);
    await writer.setData(path, 'y');
    const events = [await nextOf(watch), await nextOf(watch), await nextOf(watch), await nextOf(watch), await nextOf(watch)];
    assert.deepEqual(events, [
      nodeEvent(EventType.NodeCreated, `${path}/a`),
      nodeEvent(EventType.NodeCreated, `${path}/a/b`),
      nodeEvent(EventType.NodeDataChanged, `${path}/a/b`),
      nodeEvent(EventType.NodeDeleted, `${path}/a/b`),
      nodeEvent(EventType.NodeDataChanged, path),
    ]);
    await watch.remove();
  });

  test('breaking out of for-await removes the watch from the server', async () => {
    const path = uniquePath('for-await');
    const watch = await client.addWatch(path, 'persistentRecursive');
    void writer.create(path);
    for await (const event of watch) {
      assert.deepEqual(event, nodeEvent(EventType.NodeCreated, path));
      break;
    }
    assert.ok(watch.isEnded);
    await assert.rejects(client.checkWatches(path, WatcherType.Any), (e: unknown) => e instanceof KeeperError && e.code === ErrorCode.NoWatcher);
  });

  test('two watches on one path: removing one keeps the other, and a one-shot watch there survives', async () => {
    const path = uniquePath('shared');
    await writer.create(path);
    const first = await client.addWatch(path, 'persistent');
    const second = await client.addWatch(path, 'persistent');
    const recursive = await client.addWatch(path, 'persistentRecursive');
    const oneShot = new EventRecorder();
    await client.getData(path, { watch: oneShot.callback });
    await first.remove();
    await recursive.remove();
    await writer.setData(path, 'x');
    assert.deepEqual(await nextOf(second), nodeEvent(EventType.NodeDataChanged, path));
    assert.deepEqual(await oneShot.atLeast(1), [nodeEvent(EventType.NodeDataChanged, path)]);
    await second.remove();
  });

  test('chroot: events carry relative paths', async () => {
    const root = uniquePath('chroot-recursive');
    await writer.create(root);
    const rooted = await pool.connect(`${server.connectString}${root}`);
    const watch = await rooted.addWatch('/', 'persistentRecursive');
    await writer.create(`${root}/x`);
    assert.deepEqual(await nextOf(watch), nodeEvent(EventType.NodeCreated, '/x'));
    await watch.remove();
  });
});

describe('removeWatches and checkWatches', () => {
  test('removing data watches notifies their callbacks; the server no longer fires them', async () => {
    const path = uniquePath('remove-data');
    await client.create(path);
    const data = watchOnce();
    const children = new EventRecorder();
    await client.getData(path, { watch: data.callback });
    await client.getChildren(path, { watch: children.callback });
    await client.checkWatches(path, WatcherType.Data);
    await client.removeWatches(path, WatcherType.Data);
    assert.deepEqual(await within(data.event, 30_000, 'DataWatchRemoved'), nodeEvent(EventType.DataWatchRemoved, path));
    await assert.rejects(client.checkWatches(path, WatcherType.Data), (e: unknown) => e instanceof KeeperError && e.code === ErrorCode.NoWatcher);
    await client.checkWatches(path, WatcherType.Children);
    await writer.create(`${path}/child`);
    assert.deepEqual(await children.atLeast(1), [nodeEvent(EventType.NodeChildrenChanged, path)]);
  });

  test('removing child watches, and Any', async () => {
    const path = uniquePath('remove-any');
    await client.create(path);
    const children = watchOnce();
    await client.getChildren(path, { watch: children.callback });
    await client.removeWatches(path, WatcherType.Children);
    assert.equal((await within(children.event, 30_000, 'ChildWatchRemoved')).type, EventType.ChildWatchRemoved);
    const data = watchOnce();
    const persistent = await client.addWatch(path, 'persistent');
    await client.exists(path, { watch: data.callback });
    await client.removeWatches(path, WatcherType.Any);
    assert.equal((await within(data.event, 30_000, 'DataWatchRemoved')).type, EventType.DataWatchRemoved);
    assert.deepEqual(await nextOf(persistent), nodeEvent(EventType.PersistentWatchRemoved, path));
    assert.deepEqual(await persistent.next(), { value: undefined, done: true });
  });

  test('removing persistent watches by type', async () => {
    const path = uniquePath('remove-persistent');
    await client.create(path);
    const persistent = await client.addWatch(path, 'persistent');
    const recursive = await client.addWatch(path, 'persistentRecursive');
    await client.removeWatches(path, WatcherType.Persistent);
    assert.deepEqual(await nextOf(persistent), nodeEvent(EventType.PersistentWatchRemoved, path));
    await writer.setData(path, 'x');
    assert.deepEqual(await nextOf(recursive), nodeEvent(EventType.NodeDataChanged, path));
    await client.removeWatches(path, WatcherType.PersistentRecursive);
    assert.deepEqual(await nextOf(recursive), nodeEvent(EventType.PersistentWatchRemoved, path));
  });

  test('NoWatcher when this client has no such watch', async () => {
    const path = uniquePath('no-watcher');
    await client.create(path);
    await assert.rejects(client.removeWatches(path, WatcherType.Data), (e: unknown) => e instanceof KeeperError && e.code === ErrorCode.NoWatcher && e.path === path);
    await assert.rejects(client.checkWatches(path, WatcherType.Children), (e: unknown) => e instanceof KeeperError && e.code === ErrorCode.NoWatcher);
    await assert.rejects(client.removeWatches(path, 9 as 1), (e: unknown) => e instanceof KeeperError && e.code === ErrorCode.BadArguments);
  });
});

describe('watches across reconnects', () => {
  test('every kind of watch is re-armed on the new connection', async () => {
    const proxy = await TcpProxy.start(server);
    try {
      const watcher = await pool.connect(proxy.connectString);
      const path = uniquePath('rearm');
      // The recursive watch gets a tree of its own: ZooKeeper 3.8 keeps one mode per connection and path, so
      // re-arming a recursive watch on a path with a persistent one would silence its NodeChildrenChanged there.
      const tree = `${path}-tree`;
      await writer.create(path);
      await writer.create(tree);
      const data = watchOnce();
      const created = watchOnce();
      const children = watchOnce();
      await watcher.getData(path, { watch: data.callback });
      await watcher.exists(`${path}/new`, { watch: created.callback });
      await watcher.getChildren(path, { watch: children.callback });
      const persistent = await watcher.addWatch(path, 'persistent');
      const recursive = await watcher.addWatch(tree, 'persistentRecursive');
      const sessionId = watcher.sessionId;
      const reconnected = nextEvent<[unknown]>(watcher, 'connected');
      proxy.dropConnections();
      await reconnected;
      assert.equal(watcher.sessionId, sessionId, 'the same session');
      assert.deepEqual(await nextOf(persistent), { type: EventType.None, state: KeeperState.Disconnected, path: '' });
      assert.deepEqual(await nextOf(persistent), { type: EventType.None, state: KeeperState.SyncConnected, path: '' });
      await nextOf(recursive);
      await nextOf(recursive);
      await writer.setData(path, 'changed');
      await writer.create(`${path}/new`);
      await writer.setData(tree, 'changed');
      await writer.create(`${tree}/new`);
      assert.deepEqual(await within(data.event, 30_000, 'data watch'), nodeEvent(EventType.NodeDataChanged, path));
      assert.deepEqual(await within(created.event, 30_000, 'exist watch'), nodeEvent(EventType.NodeCreated, `${path}/new`));
      assert.deepEqual(await within(children.event, 30_000, 'child watch'), nodeEvent(EventType.NodeChildrenChanged, path));
      assert.deepEqual(await nextOf(persistent), nodeEvent(EventType.NodeDataChanged, path));
      assert.deepEqual(await nextOf(persistent), nodeEvent(EventType.NodeChildrenChanged, path));
      assert.deepEqual(await nextOf(recursive), nodeEvent(EventType.NodeDataChanged, tree));
      assert.deepEqual(await nextOf(recursive), nodeEvent(EventType.NodeCreated, `${tree}/new`));
    } finally {
      await proxy.stop();
    }
  });

  test('a change made while disconnected fires the watch on reconnect', async () => {
    const proxy = await TcpProxy.start(server);
    try {
      const watcher = await pool.connect(proxy.connectString);
      const path = uniquePath('missed');
      await writer.create(path, 'v0');
      await writer.create(`${path}-gone`);
      const changed = watchOnce();
      const deleted = watchOnce();
      const created = watchOnce();
      await watcher.getData(path, { watch: changed.callback });
      await watcher.getChildren(`${path}-gone`, { watch: deleted.callback });
      await watcher.exists(`${path}-new`, { watch: created.callback });
      proxy.setRefusing(true);
      const disconnected = nextEvent<[unknown]>(watcher, 'disconnected');
      proxy.dropConnections();
      await disconnected;
      await writer.setData(path, 'v1');
      await writer.delete(`${path}-gone`);
      await writer.create(`${path}-new`);
      proxy.setRefusing(false);
      assert.deepEqual(await within(changed.event, 30_000, 'NodeDataChanged'), nodeEvent(EventType.NodeDataChanged, path));
      assert.equal((await within(deleted.event, 30_000, 'NodeDeleted')).type, EventType.NodeDeleted);
      assert.equal((await within(created.event, 30_000, 'NodeCreated')).type, EventType.NodeCreated);
    } finally {
      await proxy.stop();
    }
  });

  test('more than 128 KiB of watched paths are re-armed in several setWatches2 batches', async () => {
    const proxy = await TcpProxy.start(server);
    try {
      const watcher = await pool.connect(proxy.connectString);
      const parent = uniquePath('many');
      await writer.create(parent);
      const count = 1500;
      const paths = Array.from({ length: count }, (_, i) => `${parent}/${'w'.repeat(120)}-${i}`);
      const recorder = new EventRecorder();
      await Promise.all(paths.map((path) => watcher.exists(path, { watch: recorder.callback })));
      const reconnected = nextEvent<[unknown]>(watcher, 'connected');
      proxy.dropConnections();
      await reconnected;
      const picked = [0, 700, count - 1].map((i) => paths[i]!);
      for (const path of picked) await writer.create(path);
      const events = await recorder.atLeast(picked.length);
      assert.deepEqual(
        events.map((e) => e.path).sort(),
        [...picked].sort(),
      );
      assert.ok(events.every((e) => e.type === EventType.NodeCreated));
    } finally {
      await proxy.stop();
    }
  });
});

describe('watches when the session ends', () => {
  test('close: one-shot callbacks hear Closed, persistent watches end', async () => {
    const closing = await pool.connect(server.connectString);
    const path = uniquePath('closing');
    const oneShot = watchOnce();
    await closing.exists(path, { watch: oneShot.callback });
    const persistent = await closing.addWatch(path, 'persistent');
    await closing.close();
    assert.deepEqual(await within(oneShot.event, 30_000, 'Closed'), { type: EventType.None, state: KeeperState.Closed, path: '' });
    assert.deepEqual(await nextOf(persistent), { type: EventType.None, state: KeeperState.Closed, path: '' });
    assert.deepEqual(await persistent.next(), { value: undefined, done: true });
    await persistent.remove();
  });
});
