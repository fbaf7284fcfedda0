/**
 * An observer (3 voters and 1 observer): it serves reads from its own copy,
 * forwards writes to the leader, never becomes leader however often the
 * leader changes, and losing it does not disturb the voters' quorum.
 *
 * Local reads are shown by freezing the leader: the observer keeps answering
 * reads meanwhile (syncLimit is raised so that it does not give up on the
 * leader during the freeze).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ZkClient } from '../../src/client/mod.js';
import { startEnsemble, type Ensemble } from '../harness/ensemble.js';
import { sleep } from '../harness/process.js';
import { SESSION_TIMEOUT_MS, alignDigestZxid, epochOf } from './workload.js';

const OBSERVER = 4;
/** 20 ticks of 500 ms: the freeze below is far shorter. */
const PATIENT_SYNC_LIMIT = '20';

describe('an observer', () => {
  it('reads locally, forwards writes, never leads, and is not needed by the quorum', { timeout: 180_000 }, async (t) => {
    const ensemble = await startEnsemble({ servers: 3, observers: 1, config: { syncLimit: PATIENT_SYNC_LIMIT } });
    const observer = ensemble.server(OBSERVER);
    const onObserver = await ZkClient.connect(observer.connectString, { sessionTimeoutMs: SESSION_TIMEOUT_MS });
    const onVoters = await ZkClient.connect(ensemble.connectStringOf([1, 2, 3]), { sessionTimeoutMs: SESSION_TIMEOUT_MS });
    try {
      assert.equal((await observer.srvr())?.mode, 'observer');

      // Writes through the observer reach the leader and everyone else.
      await onObserver.create('/observed', 'v1');
      await onVoters.sync('/observed');
      assert.equal((await onVoters.getData('/observed')).data?.toString(), 'v1');

      // Reads are answered while the leader is frozen.
      const leader = await ensemble.leader();
      leader.pause();
      try {
        for (let i = 0; i < 20; i++) assert.equal((await onObserver.getData('/observed', { timeoutMs: 5_000 })).data?.toString(), 'v1');
      } finally {
        leader.resume();
      }

      // Two leader changes: the observer never takes over.
      let sampling = true;
      const modesSeen = new Set<string>();
      const sampler = (async () => {
        while (sampling) {
          const srvr = await observer.srvr().catch(() => null);
          modesSeen.add(srvr?.mode ?? 'not serving');
          await sleep(50);
        }
      })();
      try {
        for (let change = 0; change < 2; change++) {
          const old = await ensemble.leader();
          await old.kill9();
          const next = await ensemble.waitForLeader();
          assert.notEqual(next.id, OBSERVER);
          await old.start();
          await ensemble.waitForLeader();
        }
      } finally {
        sampling = false;
        await sampler;
      }
      t.diagnostic(`the observer's modes during two leader changes: ${[...modesSeen].join(', ')}`);
      assert.ok(!modesSeen.has('leader'));
      assert.equal((await observer.srvr())?.mode, 'observer');

      // Losing the observer changes nothing for the voters: same leader, same epoch, writes go on.
      await expectQuorumUnaffectedByLosingObserver(ensemble, onVoters);
      await observer.start();
      await ensemble.waitForLeader();
      await onVoters.setData('/observed', 'v3');
      await onObserver.sync('/observed');
      assert.equal((await onObserver.getData('/observed')).data?.toString(), 'v3');

      const aligned = await alignDigestZxid(onVoters);
      assert.equal((await ensemble.waitConverged()).digest?.zxid, aligned);
    } finally {
      await onObserver.close();
      await onVoters.close();
      await ensemble.stop();
    }
  });
});

async function expectQuorumUnaffectedByLosingObserver(ensemble: Ensemble, onVoters: ZkClient): Promise<void> {
  const leader = await ensemble.leader();
  const before = await onVoters.setData('/observed', 'v2-before');
  await ensemble.server(OBSERVER).kill9();
  const after = await onVoters.setData('/observed', 'v2-after');
  assert.equal((await ensemble.leader()).id, leader.id, 'the leader changed when the observer died');
  assert.equal(epochOf(BigInt(after.mzxid)), epochOf(BigInt(before.mzxid)), 'a new epoch began when the observer died');
}
