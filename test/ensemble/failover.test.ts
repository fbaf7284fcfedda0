/**
 * Leader failover under load, with real processes: while several clients
 * (node-zookeeper-client and the zkts client) write, the leader is killed
 * with SIGKILL (in the 5-server ensemble, a follower too), twice over. Each
 * time a new leader must take over and writes must go on; the killed servers
 * are started again on their data. At the end every acknowledged write must
 * be on every server, the trees' digests equal, and zxids must have gone on
 * in later epochs.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ZkClient } from '../../src/client/mod.js';
import { startEnsemble } from '../harness/ensemble.js';
import { SESSION_TIMEOUT_MS, WriteStream, alignDigestZxid, epochOf, verifyWrites } from './workload.js';

/** Acknowledgements every writer must get in each phase: enough to show writes flow, few enough to stay quick. */
const PHASE_ACKS = 25;
const ROUNDS = 2;

describe('leader failover under a stream of writes', () => {
  for (const size of [3, 5] as const) {
    const victims = size === 3 ? 'the leader' : 'the leader and a follower';
    it(`${size} servers: kill -9 ${victims} mid-stream, twice; restart; lose nothing`, { timeout: 240_000 }, async (t) => {
      const ensemble = await startEnsemble({ servers: size });
      try {
        const stream = await WriteStream.start(ensemble, { nzk: 2, zkts: 2, root: '/stream' });
        let firstEpoch: bigint;
        try {
          await stream.progress(PHASE_ACKS);
          firstEpoch = epochOf((await (await ensemble.leader()).srvr())!.zxid);
          for (let round = 1; round <= ROUNDS; round++) {
            const oldLeader = await ensemble.leader();
            const killed = [oldLeader];
            if (size === 5) killed.push(ensemble.server(ensemble.idsExcept(oldLeader.id)[round % (size - 1)]!));
            await Promise.all(killed.map((s) => s.kill9()));
            t.diagnostic(`round ${round}: killed ${killed.map((s) => s.id)} after ${stream.minAcks}+ acks each`);

            const newLeader = await ensemble.waitForLeader();
            assert.ok(!killed.includes(newLeader), `server ${newLeader.id} was killed but leads`);
            await stream.progress(PHASE_ACKS);

            for (const server of killed) await server.start();
            await ensemble.waitForLeader();
            await stream.progress(PHASE_ACKS);
          }
        } finally {
          await stream.stop();
        }
        assert.deepEqual(stream.problems, []);
        const failures = stream.writers.reduce((sum, w) => sum + w.failures, 0);
        t.diagnostic(`acks ${stream.writers.map((w) => `${w.label}=${w.acks}`).join(' ')}; ${failures} failed writes`);
        assert.ok(epochOf(stream.maxAckedZxid) >= firstEpoch + BigInt(ROUNDS), 'writes after each failover were acknowledged in a new epoch');

        const checker = await ZkClient.connect(ensemble.connectString, { sessionTimeoutMs: SESSION_TIMEOUT_MS });
        try {
          const aligned = await alignDigestZxid(checker);
          const converged = await ensemble.waitConverged();
          assert.equal(converged.digest?.zxid, aligned, 'every server lists its digest at the last zxid');
          assert.ok(converged.zxid >= stream.maxAckedZxid);
        } finally {
          await checker.close();
        }
        await verifyWrites(ensemble, stream, ensemble.ids);
      } finally {
        await ensemble.stop();
      }
    });
  }
});
