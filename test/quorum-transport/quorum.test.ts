import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomFillSync } from 'node:crypto';
import { setImmediate as nextTurn } from 'node:timers/promises';
import type { QuorumMessage } from '../../src/quorum/messages.js';
import { QuorumTransport } from '../../src/server/quorum-transport.js';
import { silentLogger } from '../../src/server/logger.js';
import { startEnsemble, waitFor, type Ensemble, type Member, type TransportEvent } from './ensemble.js';

const TEST = { timeout: 180_000 };
const LEADER = 3;

async function connect(learner: Member, leader: Member): Promise<void> {
  const before = [learner.count('connected', leader.id), leader.count('connected', learner.id)];
  learner.transport.connectToLeader(leader.id);
  await waitFor(`${learner.id} and ${leader.id} both report the channel`, () => {
    return learner.count('connected', leader.id) > before[0]! && leader.count('connected', learner.id) > before[1]!;
  });
}

function zxids(messages: readonly QuorumMessage[]): number[] {
  return messages.map((m) => ('zxid' in m ? m.zxid : -1));
}

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from + 1 }, (_, i) => from + i);
}

/** The events of `member` about `peer`, as short strings ("connected", "ack 5"). */
function timeline(events: readonly TransportEvent[], peer: number): string[] {
  const out: string[] = [];
  for (const e of events) {
    if (e.kind !== 'message') {
      if (e.peer === peer) out.push(e.kind);
    } else if (e.from === peer) {
      out.push(`${e.message.type} ${'zxid' in e.message ? e.message.zxid : ''}`);
    }
  }
  return out;
}

async function withEnsemble(test: (ensemble: Ensemble) => Promise<void>): Promise<void> {
  const ensemble = await startEnsemble([1, 2, 3]);
  try {
    await test(ensemble);
  } finally {
    await ensemble.stop();
  }
}

describe('quorum channel', () => {
  it('keeps FIFO order under load: 10k messages each way, two learners', TEST, () =>
    withEnsemble(async (ensemble) => {
      const leader = ensemble.member(LEADER);
      const learners = [ensemble.member(1), ensemble.member(2)];
      for (const learner of learners) await connect(learner, leader);
      const count = 10_000;
      for (let i = 1; i <= count; i++) {
        for (const learner of learners) {
          assert.equal(learner.transport.sendQuorum(LEADER, { type: 'ack', zxid: i }), true);
          assert.equal(leader.transport.sendQuorum(learner.id, { type: 'commit', zxid: i }), true);
        }
        // Yield now and then: many socket writes of many frames each.
        if (i % 777 === 0) await nextTurn();
      }
      const payload = Buffer.from('a forwarded write');
      learners[0]!.transport.sendQuorum(LEADER, { type: 'request', payload });
      const sentBy = (learner: Member): number => count + (learner.id === 1 ? 1 : 0);
      await waitFor('everything arrives', () =>
        learners.every((l) => leader.count('message', l.id) === sentBy(l) && l.count('message', LEADER) === count),
      );
      for (const learner of learners) {
        const fromLearner = leader.messagesFrom(learner.id);
        assert.deepEqual(zxids(fromLearner.slice(0, count)), range(1, count), `acks from ${learner.id} in order`);
        assert.deepEqual(zxids(learner.messagesFrom(LEADER)), range(1, count), `commits to ${learner.id} in order`);
      }
      assert.deepEqual(leader.messagesFrom(1)[count], { type: 'request', payload });
    }));

  it('disconnect closes both ends; nothing from the old connection is delivered after it', TEST, () =>
    withEnsemble(async (ensemble) => {
      const leader = ensemble.member(LEADER);
      const learner = ensemble.member(1);
      await connect(learner, leader);

      // The leader disconnects from inside the handler of ack 500, with more acks in the same chunk.
      let insideDisconnect = false;
      let reportedInside = false;
      leader.onEvent = (e) => {
        if (e.kind === 'disconnected' && insideDisconnect) reportedInside = true;
        if (e.kind === 'message' && e.message.type === 'ack' && e.message.zxid === 500) {
          insideDisconnect = true;
          leader.transport.disconnect(1);
          insideDisconnect = false;
          assert.equal(leader.transport.sendQuorum(1, { type: 'commit', zxid: 1 }), false);
        }
      };
      // The learner comes back as soon as it sees the channel go.
      learner.onEvent = (e) => {
        if (e.kind === 'disconnected') {
          assert.equal(learner.transport.sendQuorum(LEADER, { type: 'ack', zxid: 0 }), false);
          learner.transport.connectToLeader(LEADER);
        }
      };
      for (let i = 1; i <= 2000; i++) learner.transport.sendQuorum(LEADER, { type: 'ack', zxid: i });
      await waitFor(
        'the learner is back',
        () => learner.count('connected', LEADER) === 2 && leader.count('connected', 1) === 2,
      );
      for (let i = 10_001; i <= 10_100; i++) learner.transport.sendQuorum(LEADER, { type: 'ack', zxid: i });
      await waitFor('the new acks arrive', () => zxids(leader.messagesFrom(1)).includes(10_100));

      assert.equal(reportedInside, false, 'onDisconnected comes after disconnect() returns');
      const expected = ['connected', ...range(1, 500).map((z) => `ack ${z}`), 'disconnected', 'connected'];
      expected.push(...range(10_001, 10_100).map((z) => `ack ${z}`));
      assert.deepEqual(timeline(leader.events, 1), expected);
      assert.deepEqual(timeline(learner.events, LEADER), ['connected', 'disconnected', 'connected']);

      // The learner's side of disconnect, and disconnect followed by connectToLeader in one turn.
      learner.onEvent = null;
      learner.transport.disconnect(LEADER);
      await waitFor(
        'both ends see it',
        () => learner.count('disconnected', LEADER) === 2 && leader.count('disconnected', 1) === 2,
      );
      await connect(learner, leader);
      learner.transport.disconnect(LEADER);
      learner.transport.connectToLeader(LEADER);
      await waitFor(
        'the new channel is up',
        () => learner.count('connected', LEADER) === 4 && leader.count('connected', 1) === 4,
      );
      assert.equal(learner.count('disconnected', LEADER), 2, 'the superseded channel is not reported');
      assert.equal(learner.transport.sendQuorum(LEADER, { type: 'ack', zxid: 20_000 }), true);
      await waitFor('it carries messages', () => zxids(leader.messagesFrom(1)).includes(20_000));
    }));

  it('a second connection from the same learner replaces the first', TEST, () =>
    withEnsemble(async (ensemble) => {
      const leader = ensemble.member(LEADER);
      const first = ensemble.member(1);
      await connect(first, leader);
      for (let i = 1; i <= 100; i++) first.transport.sendQuorum(LEADER, { type: 'ack', zxid: i });
      await waitFor('the first acks arrive', () => leader.count('message', 1) === 100);

      // Server 1 again, as after a restart, while its old connection is still open.
      const events: TransportEvent[] = [];
      const second = new QuorumTransport({
        myId: 1,
        servers: ensemble.servers,
        listenOnAllIps: false,
        connectTimeoutMs: 10_000,
        logger: silentLogger(),
        handlers: {
          onMessage: (from, message) => events.push({ kind: 'message', from, message }),
          onConnected: (peer) => events.push({ kind: 'connected', peer }),
          onDisconnected: (peer) => events.push({ kind: 'disconnected', peer }),
        },
      });
      try {
        second.connectToLeader(LEADER);
        await waitFor('the second connection is up', () => events.length === 1 && leader.count('connected', 1) === 2);
        assert.deepEqual(events, [{ kind: 'connected', peer: LEADER }]);
        await waitFor('the first learner sees its channel go', () => first.count('disconnected', LEADER) === 1);
        assert.equal(first.transport.sendQuorum(LEADER, { type: 'ack', zxid: 101 }), false);
        for (let i = 1001; i <= 1100; i++) second.sendQuorum(LEADER, { type: 'ack', zxid: i });
        leader.transport.sendQuorum(1, { type: 'commit', zxid: 7 });
        await waitFor('the second learner’s acks arrive', () => zxids(leader.messagesFrom(1)).includes(1100));
        await waitFor('the leader’s commit reaches the second learner', () => events.length === 2);
        assert.deepEqual(events[1], { kind: 'message', from: LEADER, message: { type: 'commit', zxid: 7 } });
        const expected = ['connected', ...range(1, 100).map((z) => `ack ${z}`), 'disconnected', 'connected'];
        expected.push(...range(1001, 1100).map((z) => `ack ${z}`));
        assert.deepEqual(timeline(leader.events, 1), expected);
      } finally {
        await second.stop();
      }
    }));

  it('reports onDisconnected when the leader cannot be reached or is not a peer', TEST, async () => {
    const ensemble = await startEnsemble([1, 2, 3], [1]);
    try {
      const learner = ensemble.member(1);
      learner.transport.connectToLeader(3);
      learner.transport.connectToLeader(42);
      await waitFor(
        'both attempts fail',
        () => learner.count('disconnected', 3) === 1 && learner.count('disconnected', 42) === 1,
      );
      assert.equal(learner.count('connected', 3), 0);
      assert.equal(learner.transport.sendQuorum(3, { type: 'ack', zxid: 1 }), false);
    } finally {
      await ensemble.stop();
    }
  });

  it('streams a 50 MB snapshot; what was sent before and after arrives in order around it', TEST, () =>
    withEnsemble(async (ensemble) => {
      const leader = ensemble.member(LEADER);
      const learner = ensemble.member(1);
      const other = ensemble.member(2);
      await connect(learner, leader);
      await connect(other, leader);

      const size = 50 * 1024 * 1024;
      const snapshot = randomFillSync(Buffer.allocUnsafe(size));
      // Uneven pieces, some larger than one wire chunk, some much smaller.
      const pieceSizes = [1, 300_001, 4 * 1024 * 1024 + 3, 65_536, 2_000_000];
      let pieces = 0;
      let pulled = 0;
      for (let at = 0; at < size; pieces++) at += pieceSizes[pieces % pieceSizes.length]!;
      async function* source(): AsyncGenerator<Uint8Array> {
        for (let at = 0, i = 0; at < size; i++) {
          const end = Math.min(size, at + pieceSizes[i % pieceSizes.length]!);
          pulled++;
          yield snapshot.subarray(at, end);
          at = end;
        }
      }

      leader.transport.sendQuorum(1, { type: 'diff', zxid: 5 });
      const sent = leader.transport.sendSnapshot(1, 77, source());
      for (let i = 1; i <= 1000; i++) {
        leader.transport.sendQuorum(1, { type: 'proposal', zxid: 100 + i, txn: Buffer.from(`txn ${i}`) });
        leader.transport.sendQuorum(2, { type: 'commit', zxid: i });
      }
      await nextTurn();
      assert.ok(pulled < pieces, `the source is read as the socket drains (${pulled} of ${pieces} read at once)`);
      // Another learner's channel does not wait for this snapshot.
      await waitFor('the other learner gets its commits', () => other.count('message', LEADER) === 1000);
      assert.equal(await sent, true);
      await waitFor('everything reaches the learner', () => learner.count('message', LEADER) === 1002);

      const received = learner.messagesFrom(LEADER);
      assert.deepEqual(received[0], { type: 'diff', zxid: 5 });
      const snap = received[1]!;
      assert.ok(snap.type === 'snap' && snap.zxid === 77);
      assert.equal(snap.snapshot.length, size);
      assert.ok(snapshot.equals(snap.snapshot), 'snapshot bytes intact');
      for (let i = 1; i <= 1000; i++) {
        assert.deepEqual(received[1 + i], { type: 'proposal', zxid: 100 + i, txn: Buffer.from(`txn ${i}`) });
      }
    }));

  it('sends snapshots given as arrays, queued one behind the other', TEST, () =>
    withEnsemble(async (ensemble) => {
      const leader = ensemble.member(LEADER);
      const learner = ensemble.member(1);
      await connect(learner, leader);
      const a = randomFillSync(Buffer.alloc(3 * 1024 * 1024 + 17));
      const b = Buffer.from('small');
      const first = leader.transport.sendSnapshot(1, 1, [a.subarray(0, 10), a.subarray(10)]);
      leader.transport.sendQuorum(1, { type: 'commit', zxid: 2 });
      const second = leader.transport.sendSnapshot(1, 3, [b]);
      const third = leader.transport.sendSnapshot(1, 4, []);
      leader.transport.sendQuorum(1, { type: 'commit', zxid: 5 });
      assert.deepEqual(await Promise.all([first, second, third]), [true, true, true]);
      await waitFor('all five arrive', () => learner.count('message', LEADER) === 5);
      const received = learner.messagesFrom(LEADER);
      assert.deepEqual(
        received.map((m) => m.type),
        ['snap', 'commit', 'snap', 'snap', 'commit'],
      );
      assert.deepEqual(received[0], { type: 'snap', zxid: 1, snapshot: a });
      assert.deepEqual(received[2], { type: 'snap', zxid: 3, snapshot: b });
      assert.deepEqual(received[3], { type: 'snap', zxid: 4, snapshot: Buffer.alloc(0) });
    }));

  it('closes the channel when a snapshot source fails, and delivers no partial snapshot', TEST, () =>
    withEnsemble(async (ensemble) => {
      const leader = ensemble.member(LEADER);
      const learner = ensemble.member(1);
      await connect(learner, leader);
      async function* failing(): AsyncGenerator<Uint8Array> {
        yield Buffer.alloc(2 * 1024 * 1024, 7);
        throw new Error('disk read failed');
      }
      leader.transport.sendQuorum(1, { type: 'diff', zxid: 1 });
      const sent = leader.transport.sendSnapshot(1, 9, failing());
      const after = leader.transport.sendSnapshot(1, 10, [Buffer.from('queued behind it')]);
      assert.deepEqual(await Promise.all([sent, after]), [false, false]);
      await waitFor(
        'both ends see the channel go',
        () => learner.count('disconnected', LEADER) === 1 && leader.count('disconnected', 1) === 1,
      );
      assert.deepEqual(timeline(learner.events, LEADER), ['connected', 'diff 1', 'disconnected']);
      assert.equal(await leader.transport.sendSnapshot(1, 11, [Buffer.from('x')]), false, 'no channel any more');
    }));
});
