// Lock: exclusion, order, reentrancy, timeouts and aborts, and what a holder sees when its connection or session goes.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ErrorCode, KeeperError, type ZkClient } from '../../src/client/mod.js';
import { Lock, LostError } from '../../src/client/recipes/mod.js';
import { OccupancyMeter, nextEvent, sleep, uniquePath, until, useFixture, within } from './util.js';

const fixture = useFixture();

function isKeeperError(code: number): (error: unknown) => boolean {
  return (error) => error instanceof KeeperError && error.code === code;
}

async function clients(count: number): Promise<ZkClient[]> {
  return Promise.all(Array.from({ length: count }, () => fixture.connect()));
}

describe('Lock', () => {
  test('five clients, four rounds each: never two holders', async () => {
    const path = uniquePath('lock');
    const meter = new OccupancyMeter();
    await Promise.all(
      (await clients(5)).map(async (client) => {
        const lock = new Lock(client, path);
        for (let round = 0; round < 4; round++) {
          assert.equal(await lock.acquire(), true);
          meter.enter();
          assert.equal(lock.isOwned, true);
          await sleep(Math.random() * 5);
          meter.exit();
          await lock.release();
          assert.equal(lock.isOwned, false);
        }
      }),
    );
    assert.equal(meter.entries, 20);
    assert.equal(meter.maxInside, 1);
    const observer = await fixture.connect();
    assert.deepEqual(await new Lock(observer, path).participantNodes(), [], 'every node was deleted');
  });

  test('contenders get the lock in the order they asked for it', async () => {
    const path = uniquePath('lock-order');
    const [first, ...others] = await clients(4);
    const holder = new Lock(first!, path);
    await holder.acquire();
    const order: number[] = [];
    const waiting: Promise<void>[] = [];
    for (const [index, client] of others.entries()) {
      const lock = new Lock(client, path);
      waiting.push(
        lock.acquire().then(async () => {
          order.push(index);
          await lock.release();
        }),
      );
      await until(async () => (await holder.participantNodes()).length === index + 2, `contender ${index} to queue`);
    }
    await holder.release();
    await within(Promise.all(waiting), 30_000, 'every contender');
    assert.deepEqual(order, [0, 1, 2]);
  });

  test('reentrant per Lock object; another Lock on the same client is another contender', async () => {
    const path = uniquePath('lock-reentrant');
    const client = (await clients(1))[0]!;
    const lock = new Lock(client, path);
    const other = new Lock(client, path);
    await lock.acquire();
    await lock.acquire();
    assert.equal(lock.holdCount, 2);
    assert.equal((await lock.participantNodes()).length, 1, 'one node for both acquisitions');
    await lock.release();
    assert.equal(lock.isOwned, true);
    assert.equal(await other.acquire({ timeoutMs: 200 }), false);
    await lock.release();
    assert.equal(await other.acquire({ timeoutMs: 30_000 }), true);
    await other.release();
    await assert.rejects(other.release(), /not held/);
  });

  test('a timed-out or aborted acquire leaves no node behind', async () => {
    const path = uniquePath('lock-timeout');
    const [a, b] = await clients(2);
    const holder = new Lock(a!, path);
    await holder.acquire();
    const waiter = new Lock(b!, path);
    assert.equal(await waiter.acquire({ timeoutMs: 100 }), false);
    assert.equal(waiter.isOwned, false);
    await until(async () => (await holder.participantNodes()).length === 1, 'the timed-out node to be deleted');

    const controller = new AbortController();
    const aborted = waiter.acquire({ signal: controller.signal });
    await until(async () => (await holder.participantNodes()).length === 2, 'the waiter to queue');
    controller.abort(new Error('changed my mind'));
    await assert.rejects(aborted, /changed my mind/);
    await until(async () => (await holder.participantNodes()).length === 1, 'the aborted node to be deleted');
    await holder.release();
  });

  test('a holder whose node is deleted has lost the lock', async () => {
    const path = uniquePath('lock-deleted');
    const [a, admin] = await clients(2);
    const lock = new Lock(a!, path);
    await lock.acquire();
    const lost = nextEvent<[string]>(lock, 'lost');
    await admin!.delete(lock.nodePath!);
    const [reason] = await lost;
    assert.match(reason, /deleted/);
    assert.equal(lock.isOwned, false);
    assert.equal(lock.holdState, 'lost');
    assert.ok(lock.signal.aborted);
    assert.ok(lock.signal.reason instanceof LostError);
    await assert.rejects(lock.acquire(), /was lost/);
    await lock.release();
    assert.equal(lock.holdState, null);
  });

  test('a disconnect suspends the hold; reconnecting within the session gives it back', async () => {
    const path = uniquePath('lock-suspend');
    const { client, proxy } = await fixture.connectViaProxy();
    const lock = new Lock(client, path);
    await lock.acquire();
    const node = lock.nodePath;
    const suspended = nextEvent<[string]>(lock, 'suspended');
    const reconnected = nextEvent<[]>(lock, 'reconnected');
    proxy.dropConnections();
    await suspended;
    await reconnected;
    assert.equal(lock.isOwned, true);
    assert.equal(lock.nodePath, node);
    await client.multi([lock.fencingOp(), { type: 'create', path: `${path}-fenced` }]);
    await lock.release();
  });

  test('a holder whose session expires has lost the lock, says so, and its fenced writes fail', async () => {
    const path = uniquePath('lock-expiry');
    const { client, proxy } = await fixture.connectViaProxy({ sessionTimeoutMs: 1_000 });
    const [rival] = await clients(1);
    const lock = new Lock(client, path);
    await lock.acquire();
    const fence = lock.fencingOp();
    const suspended = nextEvent<[string]>(lock, 'suspended');
    const lost = nextEvent<[string]>(lock, 'lost');
    proxy.setBlackhole(true);
    await suspended;
    assert.equal(lock.isOwned, false, 'not owned while suspended');
    // The server expires the session and deletes the node: the rival gets the lock.
    const rivalLock = new Lock(rival!, path);
    assert.equal(await rivalLock.acquire({ timeoutMs: 60_000 }), true);
    proxy.setBlackhole(false);
    const [reason] = await lost;
    assert.match(reason, /session ended/);
    assert.equal(lock.isOwned, false);
    assert.ok(lock.signal.aborted);
    await assert.rejects(client.multi([fence, { type: 'create', path: `${path}-late` }]), isKeeperError(ErrorCode.SessionExpired));
    await assert.rejects(rival!.multi([fence, { type: 'create', path: `${path}-late` }]), isKeeperError(ErrorCode.NoNode));
    await lock.release();
    await rivalLock.release();
  });

  test('protected mode: a create whose answer was lost is found, not repeated', async () => {
    const path = uniquePath('lock-protected');
    const { client, proxy } = await fixture.connectViaReplyDropper({ sessionTimeoutMs: 3_000 });
    const [observer] = await clients(1);
    await observer!.create(path);
    proxy.dropReplies(true);
    const lock = new Lock(client, path);
    const acquired = lock.acquire();
    await until(async () => (await observer!.getChildren(path)).length === 1, 'the create to be applied');
    await nextEvent(client, 'disconnected');
    proxy.dropReplies(false);
    assert.equal(await within(acquired, 60_000, 'the acquisition'), true);
    const children = await observer!.getChildren(path);
    assert.equal(children.length, 1, `one node, not an orphan and a second: ${children.join(', ')}`);
    assert.equal(`${path}/${children[0]}`, lock.nodePath);
    assert.match(children[0]!, /^_c_[0-9a-f-]{36}-lock-\d{10}$/);
    await lock.release();
  });

  test('lock nodes are ephemeral-sequential and the lock path is created as a container', async () => {
    const parent = uniquePath('lock-parent');
    const path = `${parent}/inner/lock`;
    const [client, observer] = await clients(2);
    const lock = new Lock(client!, path);
    await lock.acquire();
    const stat = await observer!.exists(lock.nodePath!);
    assert.equal(stat?.ephemeralOwner, client!.sessionId);
    assert.equal((await observer!.exists(path))?.ephemeralOwner, 0n);
    await lock.release();
    // A container goes once its last child is gone.
    await until(async () => (await observer!.exists(path)) === null, 'the container to be reaped', 60_000);
  });
});
