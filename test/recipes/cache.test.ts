// TreeCache (initial load, events, depth, resync after a reconnect) and ServiceDiscovery.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { ZkClient } from '../../src/client/mod.js';
import { ServiceDiscovery, TreeCache, type CachedNode } from '../../src/client/recipes/mod.js';
import { nextEvent, uniquePath, until, useFixture } from './util.js';

const fixture = useFixture();

async function clients(count: number): Promise<ZkClient[]> {
  return Promise.all(Array.from({ length: count }, () => fixture.connect()));
}

/** The cache's content as path → data, to compare with what is on the server. */
function contents(cache: TreeCache): Record<string, string | null> {
  const out: Record<string, string | null> = {};
  for (const node of cache.entries()) out[node.path] = node.data?.toString('utf8') ?? null;
  return out;
}

/** What is on the server under `root`, read directly. */
async function serverContents(client: ZkClient, root: string): Promise<Record<string, string | null>> {
  const out: Record<string, string | null> = {};
  const visit = async (path: string): Promise<void> => {
    const { data } = await client.getData(path);
    out[path] = data?.toString('utf8') ?? null;
    for (const child of await client.getChildren(path)) await visit(`${path}/${child}`);
  };
  if ((await client.exists(root)) !== null) await visit(root);
  return out;
}

class Recorder {
  readonly log: string[] = [];

  constructor(cache: TreeCache) {
    cache.on('add', (node: CachedNode) => this.log.push(`add ${node.path}`));
    cache.on('update', (node: CachedNode) => this.log.push(`update ${node.path} ${node.data?.toString()}`));
    cache.on('remove', (node: CachedNode) => this.log.push(`remove ${node.path}`));
  }
}

describe('TreeCache', () => {
  test('loads the subtree, then follows creates, changes and deletes at any depth', async () => {
    const root = uniquePath('cache');
    const [writer, reader] = await clients(2);
    await writer!.create(root, 'r');
    await writer!.create(`${root}/a`, 'a0');
    await writer!.create(`${root}/a/deep`, 'd0');
    const cache = new TreeCache(reader!, root);
    const recorder = new Recorder(cache);
    const initialized = nextEvent(cache, 'initialized');
    await cache.start();
    await initialized;
    assert.deepEqual(contents(cache), { [root]: 'r', [`${root}/a`]: 'a0', [`${root}/a/deep`]: 'd0' });
    assert.deepEqual(cache.childrenOf(root), ['a']);

    recorder.log.length = 0;
    await writer!.create(`${root}/b`, 'b0');
    await writer!.setData(`${root}/a/deep`, 'd1');
    await writer!.create(`${root}/b/c`, 'c0');
    await writer!.delete(`${root}/a/deep`);
    await until(() => recorder.log.length >= 4, 'four events');
    assert.deepEqual(recorder.log, [`add ${root}/b`, `update ${root}/a/deep d1`, `add ${root}/b/c`, `remove ${root}/a/deep`]);
    assert.deepEqual(contents(cache), await serverContents(writer!, root));
    assert.deepEqual(cache.childrenOf(root), ['a', 'b']);
    assert.equal(cache.get(`${root}/b/c`)?.stat.version, 0);
    await cache.close();
  });

  test('a root that does not exist yet, and maxDepth', async () => {
    const root = uniquePath('cache-depth');
    const [writer, reader] = await clients(2);
    const cache = new TreeCache(reader!, root, { maxDepth: 1 });
    await cache.start();
    assert.equal(cache.size, 0);
    await writer!.create(root);
    await writer!.create(`${root}/child`, 'x');
    await writer!.create(`${root}/child/grandchild`, 'y');
    await writer!.create(`${root}/other`, 'z');
    await until(() => cache.size === 3, 'root and two children');
    assert.equal(cache.get(`${root}/child/grandchild`), undefined);
    await cache.close();
  });

  test('changes made while disconnected are found by the resync after the reconnect', async () => {
    const root = uniquePath('cache-resync');
    const [writer] = await clients(1);
    const { client, proxy } = await fixture.connectViaProxy();
    await writer!.create(root);
    for (const name of ['keep', 'change', 'drop']) await writer!.create(`${root}/${name}`, name);
    const cache = new TreeCache(client, root);
    const recorder = new Recorder(cache);
    await cache.start();
    recorder.log.length = 0;
    proxy.setRefusing(true);
    proxy.dropConnections();
    await nextEvent(client, 'disconnected');
    await writer!.setData(`${root}/change`, 'changed');
    await writer!.delete(`${root}/drop`);
    await writer!.create(`${root}/new`, 'new');
    const resynced = nextEvent(cache, 'resynced');
    proxy.setRefusing(false);
    await resynced;
    assert.deepEqual(contents(cache), await serverContents(writer!, root));
    assert.deepEqual([...recorder.log].sort(), [`add ${root}/new`, `remove ${root}/drop`, `update ${root}/change changed`]);
    await cache.close();
  });

  test('close() ends the cache and emits closed', async () => {
    const root = uniquePath('cache-close');
    const [reader] = await clients(1);
    const cache = new TreeCache(reader!, root);
    await cache.start();
    const closed = nextEvent(cache, 'closed');
    await cache.close();
    await closed;
    await assert.rejects(cache.start(), /already started/);
  });
});

describe('ServiceDiscovery', () => {
  test('register, list, look up, update, unregister; instances go with their session', async () => {
    const base = uniquePath('services');
    const [a, b, observer] = await clients(3);
    const discoveryA = new ServiceDiscovery<{ zone: string }>(a!, base);
    const discoveryB = new ServiceDiscovery<{ zone: string }>(b!, base);
    const one = await discoveryA.register({ name: 'api', address: '10.0.0.1', port: 8080, payload: { zone: 'x' } });
    const two = await discoveryB.register({ name: 'api', id: 'fixed-id', address: '10.0.0.2', port: 8080 });
    await discoveryB.register({ name: 'worker', address: '10.0.0.3' });
    const reader = new ServiceDiscovery<{ zone: string }>(observer!, base);
    assert.deepEqual(await reader.names(), ['api', 'worker']);
    assert.deepEqual((await reader.instances('api')).map((i) => i.id).sort(), [one.id, 'fixed-id'].sort());
    assert.deepEqual(await reader.instance('api', one.id), one);
    assert.equal(two.serviceType, 'DYNAMIC');
    await discoveryA.update({ ...one, payload: { zone: 'y' } });
    assert.equal((await reader.instance('api', one.id))?.payload?.zone, 'y');
    await discoveryB.unregister(two);
    assert.deepEqual((await reader.instances('api')).map((i) => i.id), [one.id]);
    await a!.close();
    assert.deepEqual(await reader.instances('api'), []);
    assert.equal(await reader.instance('api', 'nope'), null);
  });

  test('a service cache reports every change', async () => {
    const base = uniquePath('services-cache');
    const [a, b, observer] = await clients(3);
    const cache = await new ServiceDiscovery(observer!, base).cache('db');
    assert.deepEqual(cache.instances, []);
    const lists: string[][] = [];
    cache.on('change', (instances) => lists.push(instances.map((i) => i.id)));
    await new ServiceDiscovery(a!, base).register({ name: 'db', id: 'db-1' });
    await until(() => cache.instances.length === 1, 'the first instance');
    const second = await new ServiceDiscovery(b!, base).register({ name: 'db', id: 'db-2' });
    await until(() => cache.instances.length === 2, 'the second instance');
    await new ServiceDiscovery(b!, base).unregister(second);
    await until(() => cache.instances.length === 1, 'the second instance to go');
    assert.deepEqual(lists.at(-1), ['db-1']);
    assert.ok(lists.some((list) => list.length === 2));
    await cache.close();
  });

  test('an id taken by another session is refused', async () => {
    const base = uniquePath('services-taken');
    const [a, b] = await clients(2);
    await new ServiceDiscovery(a!, base).register({ name: 's', id: 'same' });
    await assert.rejects(new ServiceDiscovery(b!, base).register({ name: 's', id: 'same' }), /NodeExists|node exists/i);
  });
});
