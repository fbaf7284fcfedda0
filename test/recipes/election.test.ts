// Leader election: LeaderLatch (one leader at a time, succession, disconnects, expiry) and LeaderSelector.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { ZkClient } from '../../src/client/mod.js';
import { LeaderLatch, LeaderSelector } from '../../src/client/recipes/mod.js';
import { OccupancyMeter, nextEvent, sleep, uniquePath, until, useFixture, within } from './util.js';

const fixture = useFixture();

async function clients(count: number): Promise<ZkClient[]> {
  return Promise.all(Array.from({ length: count }, () => fixture.connect()));
}

/** Resolves once the signal is aborted (at once if it is). */
function aborted(signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
}

function leaders(latches: readonly LeaderLatch[]): string[] {
  return latches.filter((latch) => latch.hasLeadership).map((latch) => latch.nodePath!);
}

describe('LeaderLatch', () => {
  test('exactly one leader; closing it hands leadership to the next, in order', async () => {
    const path = uniquePath('latch');
    const latches: LeaderLatch[] = [];
    for (const [index, client] of (await clients(4)).entries()) {
      const latch = new LeaderLatch(client, path, { id: `p${index}` });
      await latch.start();
      latches.push(latch);
    }
    const succession: string[] = [];
    for (let round = 0; round < 4; round++) {
      const leader = await until(() => {
        const now = latches.filter((latch) => latch.hasLeadership);
        return now.length === 1 ? now[0] : undefined;
      }, 'one leader');
      const reported = await leader.getLeader();
      assert.equal(reported?.path, leader.nodePath);
      succession.push(reported!.id);
      assert.equal((await leader.getParticipants()).length, 4 - round);
      const notLeader = nextEvent<[string]>(leader, 'notLeader');
      await leader.close();
      assert.match((await notLeader)[0], /closed/);
      assert.equal(leader.hasLeadership, false);
      assert.ok(leader.leadershipSignal.aborted);
      latches.splice(latches.indexOf(leader), 1);
      assert.ok(leaders(latches).length <= 1);
    }
    assert.deepEqual(succession, ['p0', 'p1', 'p2', 'p3']);
  });

  test('awaitLeadership: true once leading, false on timeout, and isLeader is emitted', async () => {
    const path = uniquePath('latch-await');
    const [a, b] = await clients(2);
    const first = new LeaderLatch(a!, path);
    await first.start();
    assert.equal(await first.awaitLeadership({ timeoutMs: 30_000 }), true);
    const second = new LeaderLatch(b!, path);
    await second.start();
    assert.equal(await second.awaitLeadership({ timeoutMs: 100 }), false);
    const isLeader = nextEvent<[]>(second, 'isLeader');
    const waiting = second.awaitLeadership();
    await first.close();
    await isLeader;
    assert.equal(await waiting, true);
    assert.equal(second.leadershipSignal.aborted, false);
    await second.close();
  });

  test('a disconnect gives leadership up; reconnecting within the session takes it back', async () => {
    const path = uniquePath('latch-disconnect');
    const { client, proxy } = await fixture.connectViaProxy();
    const latch = new LeaderLatch(client, path);
    await latch.start();
    await latch.awaitLeadership();
    const signal = latch.leadershipSignal;
    const notLeader = nextEvent<[string]>(latch, 'notLeader');
    const isLeader = nextEvent<[]>(latch, 'isLeader');
    proxy.dropConnections();
    assert.match((await notLeader)[0], /disconnected/);
    assert.ok(signal.aborted);
    await isLeader;
    assert.equal(latch.hasLeadership, true);
    await latch.close();
  });

  test('a leader whose session expires loses leadership, says so, and another leads', async () => {
    const path = uniquePath('latch-expiry');
    const { client, proxy } = await fixture.connectViaProxy({ sessionTimeoutMs: 1_000 });
    const [other] = await clients(1);
    const doomed = new LeaderLatch(client, path, { id: 'doomed' });
    await doomed.start();
    await doomed.awaitLeadership();
    const successor = new LeaderLatch(other!, path, { id: 'successor' });
    await successor.start();
    const closed = nextEvent<[]>(doomed, 'closed');
    proxy.setBlackhole(true);
    assert.equal(await successor.awaitLeadership({ timeoutMs: 60_000 }), true);
    assert.equal(doomed.hasLeadership, false);
    proxy.setBlackhole(false);
    await closed;
    assert.equal(doomed.state, 'closed');
    assert.equal(doomed.hasLeadership, false);
    assert.equal((await successor.getLeader())?.id, 'successor');
    await successor.close();
  });

  test('a participant whose node is deleted joins again', async () => {
    const path = uniquePath('latch-rejoin');
    const [a, admin] = await clients(2);
    const latch = new LeaderLatch(a!, path);
    await latch.start();
    await latch.awaitLeadership();
    const old = latch.nodePath!;
    const notLeader = nextEvent<[string]>(latch, 'notLeader');
    await admin!.delete(old);
    await notLeader;
    await latch.awaitLeadership({ timeoutMs: 30_000 });
    assert.notEqual(latch.nodePath, old);
    await latch.close();
  });
});

describe('LeaderSelector', () => {
  test('each of three leads once, one at a time', async () => {
    const path = uniquePath('selector');
    const meter = new OccupancyMeter();
    const done: Promise<void>[] = [];
    const selectors: LeaderSelector[] = [];
    for (const client of await clients(3)) {
      let finished!: () => void;
      done.push(new Promise<void>((resolve) => (finished = resolve)));
      const selector: LeaderSelector = new LeaderSelector(client, path, async (): Promise<void> => {
        meter.enter();
        assert.equal(selector.hasLeadership, true);
        await sleep(20);
        meter.exit();
        finished();
      });
      selectors.push(selector);
      selector.start();
    }
    await within(Promise.all(done), 60_000, 'three leaderships');
    assert.equal(meter.entries, 3);
    assert.equal(meter.maxInside, 1);
    await within(Promise.all(selectors.map((selector) => selector.close())), 30_000, 'the selectors to close');
  });

  test('autoRequeue leads again; close() aborts the running leadership and waits for it', async () => {
    const path = uniquePath('selector-requeue');
    const [a, b] = await clients(2);
    const counts = [0, 0];
    const meter = new OccupancyMeter();
    let abortedBy: unknown;
    const selectors = [a!, b!].map(
      (client, index) =>
        new LeaderSelector(
          client,
          path,
          async (signal) => {
            meter.enter();
            counts[index]!++;
            if (counts[index]! < 3) {
              await sleep(5);
            } else {
              // The third time, hold on until closed.
              await aborted(signal);
              abortedBy = signal.reason;
            }
            meter.exit();
          },
          { autoRequeue: true },
        ),
    );
    for (const selector of selectors) selector.start();
    await until(() => counts.every((count) => count >= 2) && (counts[0] === 3 || counts[1] === 3), 'both to lead twice and one a third time');
    await within(Promise.all(selectors.map((selector) => selector.close())), 30_000, 'the selectors to close');
    assert.ok(abortedBy instanceof Error);
    assert.equal(meter.maxInside, 1);
    assert.equal(selectors.some((selector) => selector.hasLeadership), false);
  });

  test('losing the connection aborts the leadership signal', async () => {
    const path = uniquePath('selector-disconnect');
    const { client, proxy } = await fixture.connectViaProxy();
    let signalled!: () => void;
    const ended = new Promise<void>((resolve) => (signalled = resolve));
    const selector = new LeaderSelector(client, path, async (signal) => {
      proxy.dropConnections();
      await aborted(signal);
      signalled();
    });
    selector.start();
    await within(ended, 30_000, 'the leadership to be aborted');
    await within(selector.close(), 30_000, 'the selector to close');
  });
});
