import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Member, RawPeer, hello, notification, startEnsemble, tcpSockets, waitFor, type Ensemble } from './ensemble.js';

const IDS = [1, 2, 3];
const PAIRS = IDS.flatMap((a) => IDS.filter((b) => b > a).map((b) => [a, b] as const));
const TEST = { timeout: 180_000 };

/** Every server sends `count` notifications to every other, all in this turn. */
function sendAllToAll(ensemble: Ensemble, count: number, epochBase: number): void {
  for (const a of IDS) {
    for (const b of IDS) {
      if (a === b) continue;
      for (let k = 0; k < count; k++) ensemble.member(a).transport.sendElection(b, notification(a, epochBase + k));
    }
  }
}

function allDelivered(ensemble: Ensemble, perPair: number): boolean {
  return IDS.every((a) => IDS.every((b) => a === b || ensemble.member(a).count('message', b) === perPair));
}

/** Both ends of each pair hold the same single TCP connection, dialled by the higher id. */
function onePerPair(ensemble: Ensemble): boolean {
  for (const [low, high] of PAIRS) {
    const atLow = ensemble.member(low).electionLink(high);
    const atHigh = ensemble.member(high).electionLink(low);
    if (atLow === undefined || atHigh === undefined) return false;
    if (atLow.localPort !== atHigh.remotePort || atLow.remotePort !== atHigh.localPort) return false;
    if (atLow.dialled || !atHigh.dialled) return false;
  }
  return true;
}

function generations(ensemble: Ensemble): number[] {
  return PAIRS.flatMap(([a, b]) => [
    ensemble.member(a).electionLink(b)!.generation,
    ensemble.member(b).electionLink(a)!.generation,
  ]);
}

describe('election channel', () => {
  it('delivers between every pair; simultaneous dialling converges to one connection per pair', TEST, async () => {
    // Several fresh ensembles: each start has every pair dialling from both ends at once.
    for (let round = 0; round < 4; round++) {
      const ensemble = await startEnsemble(IDS);
      try {
        sendAllToAll(ensemble, 5, 0);
        await waitFor('every notification is delivered', () => allDelivered(ensemble, 5));
        for (const a of IDS) {
          for (const b of IDS) {
            if (a === b) continue;
            assert.deepEqual(ensemble.member(a).electionEpochsFrom(b), [0, 1, 2, 3, 4], `${b} → ${a} in order`);
          }
        }
        // Dial-back requests hang up by themselves; then only the pairs' sockets remain (two ends each).
        await waitFor('one connection per pair', () => onePerPair(ensemble) && tcpSockets() === 2 * PAIRS.length);
        const settled = generations(ensemble);
        sendAllToAll(ensemble, 5, 100);
        await waitFor('the second round is delivered', () => allDelivered(ensemble, 10));
        assert.deepEqual(generations(ensemble), settled, 'no connection was replaced');
        assert.equal(tcpSockets(), 2 * PAIRS.length);
      } finally {
        await ensemble.stop();
      }
    }
  });

  it('reconnects a restarted server, whichever end of each pair it is', TEST, async () => {
    const ensemble = await startEnsemble(IDS);
    try {
      sendAllToAll(ensemble, 1, 0);
      await waitFor('the first round is delivered', () => allDelivered(ensemble, 1));
      let delivered = 1;
      // 1 is the lower end of both its pairs, 3 the higher end, 2 one of each.
      for (const restarted of [1, 3, 2]) {
        await ensemble.member(restarted).restart();
        // A message the others send before they see the old connection close is lost, as election allows.
        const others = IDS.filter((id) => id !== restarted).map((id) => ensemble.member(id));
        await waitFor('the others see the old connections close', () =>
          others.every((other) => other.electionLink(restarted) === undefined),
        );
        sendAllToAll(ensemble, 1, delivered);
        delivered++;
        await waitFor(`messages flow again after ${restarted} restarted`, () => allDelivered(ensemble, delivered));
        await waitFor('one connection per pair', () => onePerPair(ensemble) && tcpSockets() === 2 * PAIRS.length);
      }
    } finally {
      await ensemble.stop();
    }
  });

  it('ignores a stale dial-back request, and redials for a lost connection or a restart', TEST, async () => {
    const ensemble = await startEnsemble(IDS);
    try {
      sendAllToAll(ensemble, 1, 0);
      await waitFor('the pairs are connected', () => allDelivered(ensemble, 1) && onePerPair(ensemble));
      const three = ensemble.member(3);
      const electionPort = ensemble.servers.find((s) => s.id === 3)!.electionPort;
      /** Sends 3 a dial-back request as server 1; 3 has acted on it once it hangs up. */
      const request = async (incarnation: number, linkId: number): Promise<void> => {
        const raw = await RawPeer.open(electionPort);
        raw.write(hello({ serverId: 1, channel: 'election', incarnation, linkId }));
        await waitFor('3 hangs up on the request', () => raw.closed);
        assert.equal(raw.received.length, 0, 'a request gets no answer');
      };

      const current = three.electionLink(1)!;
      // Sent before 1 accepted the current connection: it names an older one (or none).
      await request(current.remoteIncarnation, 0);
      await request(current.remoteIncarnation, current.linkId + 1);
      assert.equal(three.electionLink(1)?.generation, current.generation, 'stale requests change nothing');

      // 1 lost the current connection: 3 drops it and dials again.
      await request(current.remoteIncarnation, current.linkId);
      await waitFor(
        '3 redials 1',
        () => onePerPair(ensemble) && three.electionLink(1)!.generation !== current.generation,
      );
      const redialled = three.electionLink(1)!;
      assert.notEqual(redialled.linkId, current.linkId);

      // 1 restarted (another incarnation): whatever 3 holds is stale.
      await request(redialled.remoteIncarnation + 1, 0);
      await waitFor(
        '3 redials 1 again',
        () => onePerPair(ensemble) && three.electionLink(1)!.generation !== redialled.generation,
      );

      sendAllToAll(ensemble, 1, 1);
      await waitFor('messages still flow', () => allDelivered(ensemble, 2));
    } finally {
      await ensemble.stop();
    }
  });

  it('queues for a server that is down, keeping the newest, and delivers once it starts', TEST, async () => {
    const ensemble = await startEnsemble(IDS, [1, 2]);
    try {
      // 1 dials 3 as the lower id (dial-back requests), 2 likewise; both are refused until 3 starts.
      for (let k = 0; k < 20; k++) {
        ensemble.member(1).transport.sendElection(3, notification(1, k));
        ensemble.member(2).transport.sendElection(3, notification(2, k));
      }
      const three = new Member(3, ensemble.servers);
      ensemble.members.set(3, three);
      await three.transport.start();
      await waitFor(
        'the queued notifications arrive',
        () => three.count('message', 1) === 16 && three.count('message', 2) === 16,
      );
      for (const from of [1, 2]) {
        const newest = Array.from({ length: 16 }, (_, i) => i + 4);
        assert.deepEqual(three.electionEpochsFrom(from), newest, `the 16 newest from ${from}, in order`);
      }
    } finally {
      await ensemble.stop();
    }
  });

  it('drops messages to itself and to unknown servers', TEST, async () => {
    const ensemble = await startEnsemble(IDS);
    try {
      const one = ensemble.member(1);
      one.transport.sendElection(1, notification(1, 0));
      one.transport.sendElection(99, notification(1, 0));
      one.transport.sendElection(2, notification(1, 7));
      await waitFor('the message to 2 arrives', () => ensemble.member(2).count('message', 1) === 1);
      assert.equal(one.events.length, 0);
      assert.deepEqual(
        one.transport.connections().map((c) => c.peer),
        [2],
      );
    } finally {
      await ensemble.stop();
    }
  });
});
