// DistributedQueue and PriorityQueue: order, waiting, exactly-once delivery, and lost answers to put and take.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { ZkClient } from '../../src/client/mod.js';
import { OpCode } from '../../src/protocol/constants.js';
import { DistributedQueue, PriorityQueue } from '../../src/client/recipes/mod.js';
import { nextEvent, uniquePath, until, useFixture, within } from './util.js';

const fixture = useFixture();

async function clients(count: number): Promise<ZkClient[]> {
  return Promise.all(Array.from({ length: count }, () => fixture.connect()));
}

const text = (item: { data: Buffer | null } | null): string | undefined => item?.data?.toString('utf8');

describe('DistributedQueue', () => {
  test('FIFO; poll gives null when empty; size counts items', async () => {
    const path = uniquePath('queue');
    const [client] = await clients(1);
    const queue = new DistributedQueue(client!, path);
    assert.equal(await queue.poll(), null);
    for (const value of ['a', 'b', 'c']) await queue.put(value);
    assert.equal(await queue.size(), 3);
    assert.deepEqual([text(await queue.take()), text(await queue.poll()), text(await queue.take())], ['a', 'b', 'c']);
    assert.equal(await queue.poll(), null);
    assert.equal(await queue.size(), 0);
  });

  test('take waits for a put, and gives null after its timeout', async () => {
    const path = uniquePath('queue-wait');
    const [a, b] = await clients(2);
    const consumer = new DistributedQueue(a!, path);
    assert.equal(await consumer.take({ timeoutMs: 100 }), null);
    const taking = consumer.take();
    await new DistributedQueue(b!, path).put('late');
    assert.equal(text(await within(taking, 30_000, 'the take')), 'late');
  });

  test('three producers, three consumers: every item taken exactly once', async () => {
    const path = uniquePath('queue-many');
    const all = await clients(6);
    const producers = all.slice(0, 3).map(async (client, p) => {
      const queue = new DistributedQueue(client, path);
      for (let i = 0; i < 20; i++) await queue.put(`p${p}-${i}`);
    });
    const taken: string[] = [];
    const consumers = all.slice(3).map(async (client) => {
      const queue = new DistributedQueue(client, path);
      while (taken.length < 60) {
        const item = await queue.take({ timeoutMs: 200 });
        if (item !== null) taken.push(text(item)!);
      }
    });
    await within(Promise.all([...producers, ...consumers]), 120_000, 'producers and consumers');
    assert.equal(taken.length, 60);
    assert.equal(new Set(taken).size, 60, 'no item twice');
    for (let p = 0; p < 3; p++) assert.equal(taken.filter((value) => value.startsWith(`p${p}-`)).length, 20);
  });

  test('a put whose answer was lost is not repeated', async () => {
    const path = uniquePath('queue-put-lost');
    const { client, proxy } = await fixture.connectViaReplyDropper({ sessionTimeoutMs: 3_000 });
    const [observer] = await clients(1);
    const queue = new DistributedQueue(client, path);
    await queue.put('first');
    proxy.dropReplies(true);
    const putting = queue.put('second');
    await until(async () => (await observer!.getChildren(path)).filter((name) => name.includes('qn-')).length === 2, 'the put to be applied');
    await nextEvent(client, 'disconnected');
    proxy.dropReplies(false);
    await within(putting, 60_000, 'the put');
    const consumer = new DistributedQueue(observer!, path);
    assert.deepEqual([text(await consumer.poll()), text(await consumer.poll()), await consumer.poll()], ['first', 'second', null]);
  });

  test('a put whose answer was lost is not repeated, even when the item was taken before the producer could look', async () => {
    const path = uniquePath('queue-put-lost-taken');
    const { client, proxy } = await fixture.connectViaReplyDropper({ sessionTimeoutMs: 3_000 });
    const [observer] = await clients(1);
    const queue = new DistributedQueue(client, path);
    const consumer = new DistributedQueue(observer!, path);
    await queue.put('first');
    proxy.dropReplies(true);
    const putting = queue.put('second');
    await until(async () => (await consumer.size()) === 2, 'the put to be applied');
    assert.deepEqual([text(await consumer.poll()), text(await consumer.poll())], ['first', 'second']);
    await nextEvent(client, 'disconnected');
    proxy.dropReplies(false);
    await within(putting, 60_000, 'the put');
    assert.equal(await consumer.poll(), null, 'the put was not made twice');
  });

  test('a take whose answer was lost still returns the item it deleted', async () => {
    const path = uniquePath('queue-take-lost');
    const { client, proxy } = await fixture.connectViaReplyDropper({ sessionTimeoutMs: 3_000 });
    const [observer] = await clients(1);
    const producer = new DistributedQueue(observer!, path);
    const queue = new DistributedQueue(client, path);
    // A first take creates the consumer's receipt node, so that the lost answer below is the delete's.
    await producer.put('warm-up');
    assert.equal(text(await queue.take()), 'warm-up');
    await producer.put('only');
    proxy.dropRepliesFrom(OpCode.multi);
    const taking = queue.take();
    await until(async () => (await producer.size()) === 0, 'the delete to be applied');
    await nextEvent(client, 'disconnected');
    proxy.dropReplies(false);
    assert.equal(text(await within(taking, 60_000, 'the take')), 'only');
  });
});

describe('PriorityQueue', () => {
  test('lower priorities first, FIFO within a priority, negative priorities too', async () => {
    const path = uniquePath('pqueue');
    const [a, b] = await clients(2);
    const producer = new PriorityQueue(a!, path);
    await producer.put('low-1', 10);
    await producer.put('mid-1');
    await producer.put('urgent', -5);
    await producer.put('low-2', 10);
    await producer.put('mid-2', 0);
    const consumer = new PriorityQueue(b!, path);
    const order: (string | undefined)[] = [];
    for (let i = 0; i < 5; i++) order.push(text(await consumer.take()));
    assert.deepEqual(order, ['urgent', 'mid-1', 'mid-2', 'low-1', 'low-2']);
    await assert.rejects(producer.put('x', 2 ** 31), RangeError);
  });
});
