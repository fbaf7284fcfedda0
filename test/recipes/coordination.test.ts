// ReadWriteLock, Semaphore, Barrier, DoubleBarrier and SharedCounter with several clients.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { ZkClient } from '../../src/client/mod.js';
import { Barrier, DoubleBarrier, ReadWriteLock, Semaphore, SharedCounter } from '../../src/client/recipes/mod.js';
import { OccupancyMeter, nextEvent, sleep, uniquePath, until, useFixture, within } from './util.js';

const fixture = useFixture();

async function clients(count: number): Promise<ZkClient[]> {
  return Promise.all(Array.from({ length: count }, () => fixture.connect()));
}

describe('ReadWriteLock', () => {
  test('readers share the lock; a writer excludes everyone', async () => {
    const path = uniquePath('rw');
    const [a, b, c] = await clients(3);
    const reader1 = new ReadWriteLock(a!, path).readLock;
    const reader2 = new ReadWriteLock(b!, path).readLock;
    const writer = new ReadWriteLock(c!, path).writeLock;
    assert.equal(await reader1.acquire({ timeoutMs: 30_000 }), true);
    assert.equal(await reader2.acquire({ timeoutMs: 30_000 }), true);
    assert.equal(await writer.acquire({ timeoutMs: 100 }), false);
    await reader1.release();
    await reader2.release();
    assert.equal(await writer.acquire({ timeoutMs: 30_000 }), true);
    assert.equal(await reader1.acquire({ timeoutMs: 100 }), false);
    await writer.release();
  });

  test('a waiting writer holds back readers that come after it (no writer starvation)', async () => {
    const path = uniquePath('rw-fair');
    const [a, b, c] = await clients(3);
    const early = new ReadWriteLock(a!, path).readLock;
    const writer = new ReadWriteLock(b!, path).writeLock;
    const late = new ReadWriteLock(c!, path).readLock;
    await early.acquire();
    const writing = writer.acquire();
    await until(async () => (await early.participantNodes()).length === 2, 'the writer to queue');
    assert.equal(await late.acquire({ timeoutMs: 200 }), false, 'the late reader waits behind the writer');
    const lateReading = late.acquire();
    await early.release();
    assert.equal(await within(writing, 30_000, 'the writer'), true);
    assert.equal(late.isOwned, false);
    await writer.release();
    assert.equal(await within(lateReading, 30_000, 'the late reader'), true);
    await late.release();
  });

  test('the writer may take the read lock (downgrade) but a reader may not upgrade', async () => {
    const path = uniquePath('rw-downgrade');
    const [a, b] = await clients(2);
    const rw = new ReadWriteLock(a!, path);
    await rw.writeLock.acquire();
    assert.equal(await rw.readLock.acquire({ timeoutMs: 30_000 }), true);
    await rw.writeLock.release();
    const other = new ReadWriteLock(b!, path);
    assert.equal(await other.readLock.acquire({ timeoutMs: 30_000 }), true, 'readers share with the downgraded holder');
    await assert.rejects(rw.writeLock.acquire(), /cannot upgrade/);
    await rw.readLock.release();
    await other.readLock.release();
  });

  test('mixed readers and writers: a writer is always alone', async () => {
    const path = uniquePath('rw-mixed');
    const readers = new OccupancyMeter();
    const writers = new OccupancyMeter();
    let violation = '';
    await Promise.all(
      (await clients(6)).map(async (client, index) => {
        const rw = new ReadWriteLock(client, path);
        const writing = index % 3 === 0;
        const lock = writing ? rw.writeLock : rw.readLock;
        for (let round = 0; round < 4; round++) {
          await lock.acquire();
          (writing ? writers : readers).enter();
          if (writers.maxInside > 1) violation = 'two writers';
          await sleep(Math.random() * 5);
          if (writing && readers.inside > 0) violation = 'a reader beside a writer';
          if (!writing && writers.inside > 0) violation = 'a writer beside a reader';
          (writing ? writers : readers).exit();
          await lock.release();
        }
      }),
    );
    assert.equal(violation, '');
    assert.equal(writers.maxInside, 1);
    assert.equal(writers.entries, 8);
    assert.equal(readers.entries, 16);
  });
});

describe('Semaphore', () => {
  test('at most maxLeases holders among five contenders', async () => {
    const path = uniquePath('semaphore');
    const meter = new OccupancyMeter();
    await Promise.all(
      (await clients(5)).map(async (client) => {
        const semaphore = new Semaphore(client, path, 2);
        for (let round = 0; round < 3; round++) {
          const lease = await semaphore.acquire();
          assert.ok(lease !== null);
          assert.equal(lease.isValid, true);
          meter.enter();
          await sleep(Math.random() * 10);
          meter.exit();
          await lease.release();
          assert.equal(lease.isValid, false);
        }
      }),
    );
    assert.equal(meter.entries, 15);
    assert.equal(meter.maxInside, 2);
  });

  test('acquire times out with null while full, from the holder’s own Semaphore object too', async () => {
    const path = uniquePath('semaphore-full');
    const [a, b] = await clients(2);
    const semaphore = new Semaphore(a!, path, 1);
    const lease = await semaphore.acquire();
    assert.ok(lease !== null);
    assert.equal(await semaphore.acquire({ timeoutMs: 100 }), null);
    assert.equal(await new Semaphore(b!, path, 1).acquire({ timeoutMs: 100 }), null);
    await until(async () => (await semaphore.leaseNodes()).length === 1, 'the timed-out lease nodes to go');
    const waiting = new Semaphore(b!, path, 1).acquire();
    await lease.release();
    const next = await within(waiting, 30_000, 'the next lease');
    assert.ok(next !== null);
    await next.release();
  });

  test('a lease whose node is deleted is lost', async () => {
    const path = uniquePath('semaphore-lost');
    const [a, admin] = await clients(2);
    const lease = (await new Semaphore(a!, path, 3).acquire())!;
    const lost = nextEvent<[string]>(lease, 'lost');
    await admin!.delete(lease.path);
    await lost;
    assert.equal(lease.isValid, false);
    assert.ok(lease.signal.aborted);
    await lease.release();
  });
});

describe('Barrier', () => {
  test('waiters pass once the barrier is removed', async () => {
    const path = uniquePath('barrier');
    const [coordinator, a, b] = await clients(3);
    const barrier = new Barrier(coordinator!, path);
    assert.equal(await new Barrier(a!, path).wait({ timeoutMs: 100 }), true, 'no barrier set: passes at once');
    await barrier.set();
    await barrier.set();
    assert.equal(await new Barrier(a!, path).wait({ timeoutMs: 100 }), false);
    const waiting = [new Barrier(a!, path).wait(), new Barrier(b!, path).wait()];
    await barrier.remove();
    assert.deepEqual(await within(Promise.all(waiting), 30_000, 'the waiters'), [true, true]);
    await barrier.remove();
  });
});

describe('DoubleBarrier', () => {
  test('nobody enters before all have arrived; nobody leaves before all have left', async () => {
    const path = uniquePath('double');
    const members = await clients(3);
    const barriers = members.map((client, index) => new DoubleBarrier(client, path, 3, { id: `m${index}` }));
    const entered: boolean[] = [];
    const first = barriers.slice(0, 2).map((barrier) => barrier.enter().then((value) => entered.push(value)));
    await until(async () => (await members[0]!.getChildren(path)).length === 2, 'two members to arrive');
    assert.equal(entered.length, 0, 'two of three are not let in');
    const last = barriers[2]!.enter();
    assert.equal(await within(last, 30_000, 'the third member'), true);
    await within(Promise.all(first), 30_000, 'the first two members');

    const left: boolean[] = [];
    const leaving = barriers.slice(0, 2).map((barrier) => barrier.leave().then((value) => left.push(value)));
    await sleep(100);
    assert.equal(left.length, 0, 'two of three cannot leave yet');
    assert.equal(await within(barriers[2]!.leave(), 30_000, 'the third to leave'), true);
    await within(Promise.all(leaving), 30_000, 'the first two to leave');
    assert.deepEqual(left, [true, true]);
  });

  test('enter times out with false, taking the member out again', async () => {
    const path = uniquePath('double-timeout');
    const [a, observer] = await clients(2);
    assert.equal(await new DoubleBarrier(a!, path, 2).enter({ timeoutMs: 100 }), false);
    await until(async () => (await observer!.getChildren(path).catch(() => [])).length === 0, 'the member node to go');
  });
});

describe('SharedCounter', () => {
  test('concurrent increments from five clients all count', async () => {
    const path = uniquePath('counter');
    await Promise.all(
      (await clients(5)).map(async (client) => {
        const counter = new SharedCounter(client, path);
        for (let i = 0; i < 20; i++) await counter.increment();
      }),
    );
    const [observer] = await clients(1);
    assert.equal((await new SharedCounter(observer!, path).get()).value, 100);
    assert.equal((await observer!.getData(path)).data?.toString(), '100');
  });

  test('trySetCount succeeds only from the current version; add, decrement, setCount', async () => {
    const path = uniquePath('counter-cas');
    const [a, b] = await clients(2);
    const mine = new SharedCounter(a!, path, { initialValue: 10 });
    const theirs = new SharedCounter(b!, path);
    const seen = await mine.get();
    assert.equal(seen.value, 10);
    assert.equal(await theirs.add(5), 15);
    assert.equal(await mine.trySetCount(seen, 0), false);
    const fresh = await mine.get();
    assert.equal(await mine.trySetCount(fresh, 0), true);
    assert.equal(await theirs.decrement(), -1);
    await theirs.setCount(42);
    assert.equal((await mine.get()).value, 42);
    await assert.rejects(mine.add(0.5), RangeError);
  });
});
