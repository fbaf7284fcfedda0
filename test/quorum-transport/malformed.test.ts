import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { PROTOCOL_VERSION, encodeFrame } from '../../src/quorum/wire.js';
import { RawPeer, hello, int, notification, startEnsemble, tcpHandles, waitFor, type Ensemble } from './ensemble.js';

const TEST = { timeout: 180_000 };
const LEADER = 3;

/** Every pair exchanges one notification; returns when all arrived. */
async function electionRound(ensemble: Ensemble, round: number): Promise<void> {
  const pairs = [1, 2, 3].flatMap((a) => [1, 2, 3].filter((b) => b !== a).map((b) => [a, b] as const));
  for (const [a, b] of pairs) ensemble.member(a).transport.sendElection(b, notification(a, round));
  await waitFor(`election round ${round} is delivered`, () =>
    pairs.every(([a, b]) => ensemble.member(b).electionEpochsFrom(a).includes(round)),
  );
}

describe('malformed input', () => {
  it('closes a connection with a bad hello or a malformed frame, and only that connection', TEST, async () => {
    const ensemble = await startEnsemble([1, 2, 3]);
    try {
      const leader = ensemble.member(LEADER);
      const learner = ensemble.member(1);
      learner.transport.connectToLeader(LEADER);
      await waitFor(
        'the learner is connected',
        () => leader.count('connected', 1) === 1 && learner.count('connected', LEADER) === 1,
      );
      await electionRound(ensemble, 0);
      const healthy = leader.transport.connections().map((c) => c.generation).sort((a, b) => a - b);
      const quorumPort = ensemble.servers.find((s) => s.id === LEADER)!.quorumPort;
      const electionPort = ensemble.servers.find((s) => s.id === LEADER)!.electionPort;

      const badOpenings: [string, number, Buffer][] = [
        ['not our protocol at all', quorumPort, Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n')],
        ['an unknown server id', quorumPort, hello({ serverId: 99 })],
        ['the leader’s own id', quorumPort, hello({ serverId: LEADER })],
        ['another protocol version', quorumPort, hello({ version: PROTOCOL_VERSION + 1 })],
        ['an election hello on the quorum port', quorumPort, hello({ channel: 'election' })],
        ['a quorum hello on the election port', electionPort, hello({ channel: 'quorum' })],
        ['a message before any hello', quorumPort, encodeFrame({ type: 'ack', zxid: 1 })],
        ['a hello with trailing bytes', quorumPort, Buffer.concat([int(40), hello({}).subarray(4), int(0)])],
        ['a negative frame length', quorumPort, int(-5)],
      ];
      for (const [what, port, bytes] of badOpenings) {
        const raw = await RawPeer.open(port);
        raw.write(bytes);
        await waitFor(`the leader closes a connection opening with ${what}`, () => raw.closed);
        assert.equal(raw.received.length, 0, `no answer to ${what}`);
      }
      assert.equal(leader.count('connected', 2), 0, 'nothing was reported');

      // Good hellos, then bad frames: each connection is reported, then closed.
      const badFrames: [string, Buffer][] = [
        ['an unknown frame tag', Buffer.concat([int(4), int(999)])],
        ['a negative frame length', int(-1)],
        ['a truncated record', Buffer.concat([int(8), int(4), int(0)])],
        ['an election message on the quorum channel', encodeFrame(notification(2, 0))],
        ['a second hello', hello({})],
        ['a snapshot chunk outside a snapshot', encodeFrame({ type: 'snapshotChunk', bytes: Buffer.from('x') })],
      ];
      let reports = 0;
      for (const [what, bytes] of badFrames) {
        const raw = await RawPeer.open(quorumPort);
        raw.write(hello({}));
        reports++;
        await waitFor(
          `the leader answers the hello before ${what}`,
          () => raw.received.length > 0 && leader.count('connected', 2) === reports,
        );
        raw.write(bytes);
        await waitFor(
          `the leader closes the connection after ${what}`,
          () => raw.closed && leader.count('disconnected', 2) === reports,
        );
      }

      // The healthy connections are untouched and still carry traffic.
      assert.deepEqual(leader.transport.connections().map((c) => c.generation).sort((a, b) => a - b), healthy);
      assert.equal(leader.count('disconnected', 1), 0);
      learner.transport.sendQuorum(LEADER, { type: 'ack', zxid: 42 });
      await waitFor(
        'the learner’s ack arrives',
        () => leader.messagesFrom(1).some((m) => m.type === 'ack' && m.zxid === 42),
      );
      await electionRound(ensemble, 1);
    } finally {
      await ensemble.stop();
    }
  });

  it('recovers the election link when an impostor takes it over and then misbehaves', TEST, async () => {
    const ensemble = await startEnsemble([1, 2, 3]);
    try {
      await electionRound(ensemble, 0);
      // Claiming to be 2 towards 1: the higher id's connection replaces the real one.
      const electionPort = ensemble.servers.find((s) => s.id === 1)!.electionPort;
      const raw = await RawPeer.open(electionPort);
      raw.write(hello({ serverId: 2, channel: 'election', linkId: 12345 }));
      await waitFor('1 answers the impostor', () => raw.received.length > 0);
      raw.write(Buffer.concat([int(4), int(12)])); // a proposal tag with no fields
      await waitFor('1 closes the impostor', () => raw.closed);
      // 2 finds its connection gone and dials again; messages flow both ways.
      await waitFor('2 sees its link to 1 closed', () => ensemble.member(2).electionLink(1) === undefined);
      await electionRound(ensemble, 1);
    } finally {
      await ensemble.stop();
    }
  });

  it('enforces maxFrameBytes on a single frame and on an assembled snapshot', TEST, async () => {
    const limit = 1024 * 1024;
    const ensemble = await startEnsemble([1, 2, 3], [1, 2, 3], { maxFrameBytes: limit });
    try {
      const leader = ensemble.member(LEADER);
      const learner = ensemble.member(1);
      const connect = async (n: number): Promise<void> => {
        learner.transport.connectToLeader(LEADER);
        await waitFor(`connection ${n} is up`, () => learner.count('connected', LEADER) === n);
      };
      const dropped = (n: number): Promise<void> =>
        waitFor(`connection ${n} is closed`, () => learner.count('disconnected', LEADER) === n);

      await connect(1);
      // A proposal frame is its tag, zxid and txn length (16 bytes), then the txn.
      leader.transport.sendQuorum(1, { type: 'proposal', zxid: 1, txn: Buffer.alloc(limit - 16) });
      await waitFor('a message at the limit arrives', () => learner.count('message', LEADER) === 1);
      leader.transport.sendQuorum(1, { type: 'proposal', zxid: 2, txn: Buffer.alloc(limit - 15) });
      await dropped(1);

      await connect(2);
      assert.equal(await leader.transport.sendSnapshot(1, 3, [Buffer.alloc(limit)]), true);
      await waitFor('a snapshot at the limit arrives', () => learner.count('message', LEADER) === 2);
      void leader.transport.sendSnapshot(1, 4, [Buffer.alloc(limit), Buffer.alloc(1)]);
      await dropped(2);
      assert.deepEqual(
        learner.messagesFrom(LEADER).map((m) => m.type),
        ['proposal', 'snap'],
      );
    } finally {
      await ensemble.stop();
    }
  });

  it('closes a connection that never says hello, after the connect timeout', TEST, async () => {
    const ensemble = await startEnsemble([1, 2, 3], [1, 2, 3], { connectTimeoutMs: 500 });
    try {
      const quorumPort = ensemble.servers.find((s) => s.id === LEADER)!.quorumPort;
      const raw = await RawPeer.open(quorumPort);
      raw.write(int(36)); // a hello's length, then nothing
      await waitFor('the silent connection is closed', () => raw.closed);
      assert.equal(ensemble.member(LEADER).events.length, 0);
    } finally {
      await ensemble.stop();
    }
  });

  it('stop() closes every socket, listener and timer, reports nothing, and is idempotent', TEST, async () => {
    // Handles of earlier tests are released a loop iteration after their close callbacks.
    await waitFor('earlier tests left no TCP handle', () => tcpHandles() === 0);
    // Server 4 is configured but down: messages to it wait, with retry timers running.
    const ensemble = await startEnsemble([1, 2, 3, 4], [1, 2, 3]);
    const leader = ensemble.member(LEADER);
    for (const id of [1, 2]) ensemble.member(id).transport.connectToLeader(LEADER);
    await waitFor(
      'the learners are connected',
      () => leader.count('connected', 1) === 1 && leader.count('connected', 2) === 1,
    );
    await electionRound(ensemble, 0);
    for (const id of [1, 2, 3]) ensemble.member(id).transport.sendElection(4, notification(id, 0));
    // A snapshot that would never end, being streamed when the transports stop.
    async function* endless(): AsyncGenerator<Uint8Array> {
      for (;;) yield Buffer.alloc(1024 * 1024);
    }
    const streaming = leader.transport.sendSnapshot(1, 1, endless());
    const raw = await RawPeer.open(ensemble.servers.find((s) => s.id === LEADER)!.quorumPort);

    const reported = [...ensemble.members.values()].map((m) => m.events.length);
    const stops = [...ensemble.members.values()].flatMap((m) => [m.transport.stop(), m.transport.stop()]);
    await Promise.all(stops);
    assert.equal(await streaming, false);
    assert.deepEqual(
      [...ensemble.members.values()].map((m) => m.events.length),
      reported,
      'no event after stop()',
    );
    await waitFor('the raw client sees the close', () => raw.closed);
    raw.destroy();
    await waitFor('no TCP handle is left', () => tcpHandles() === 0);

    // After stop, sending and dialling do nothing.
    const one = ensemble.member(1).transport;
    one.sendElection(2, notification(1, 1));
    one.connectToLeader(LEADER);
    assert.equal(one.sendQuorum(LEADER, { type: 'ack', zxid: 1 }), false);
    assert.equal(tcpHandles(), 0);
    const timers = process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    assert.equal(timers, 0, 'no timer left running');
  });
});
