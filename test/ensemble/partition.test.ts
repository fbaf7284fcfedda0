/**
 * The leader cut off from the rest of the ensemble by the proxies, in both
 * ways a network fails: connections reset (noticed at once) and connections
 * that silently stop passing anything (noticed only by missing heartbeats).
 * In the 5-server ensemble one follower stays on the leader's side.
 *
 * The majority elects a new leader and writes go on there. The minority must
 * stop serving within a few syncLimits: the old leader's clients are
 * disconnected, srvr stops saying leader (or follower), and a write sent to
 * the old leader is never acknowledged (and never appears anywhere, even
 * after healing). After healing everyone converges and no acknowledged write
 * is lost.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { OPEN_ACL_UNSAFE, ZkClient } from '../../src/client/mod.js';
import { OpCode } from '../../src/protocol/constants.js';
import { CreateRequest } from '../../src/protocol/records.js';
import { body, RawClient } from '../differential/raw-client.js';
import { startEnsemble } from '../harness/ensemble.js';
import { waitFor } from '../harness/process.js';
import type { BlockMode } from '../harness/tcp-proxy.js';
import { SESSION_TIMEOUT_MS, WriteStream, alignDigestZxid, verifyWrites } from './workload.js';

const PHASE_ACKS = 15;
/** A few syncLimits of 2 s, with room for a loaded machine. */
const STEP_DOWN_LIMIT_MS = 30_000;

const CASES: { servers: 3 | 5; mode: BlockMode }[] = [
  { servers: 3, mode: 'reset' },
  { servers: 3, mode: 'stall' },
  { servers: 5, mode: 'reset' },
  { servers: 5, mode: 'stall' },
];

describe('the leader partitioned away from the majority', () => {
  for (const { servers, mode } of CASES) {
    it(`${servers} servers, ${mode}: the minority stops serving, the majority goes on, healing converges`, { timeout: 180_000 }, async (t) => {
      const ensemble = await startEnsemble({ servers });
      try {
        const oldLeader = await ensemble.leader();
        const others = ensemble.idsExcept(oldLeader.id);
        const minority = [oldLeader.id, ...others.slice(0, servers === 5 ? 1 : 0)];
        const majority = ensemble.idsExcept(...minority);
        const stream = await WriteStream.start(ensemble, { nzk: 1, zkts: 2, root: '/stream' });
        const onOldLeader = await ZkClient.connect(oldLeader.connectString, { sessionTimeoutMs: SESSION_TIMEOUT_MS });
        let disconnected = false;
        onOldLeader.on('disconnected', () => (disconnected = true));
        // Sends one write and never reconnects: whatever answer it gets is the old leader's.
        const raw = await RawClient.session(oldLeader.connectString, { timeoutMs: SESSION_TIMEOUT_MS });
        const ghost = `/ghost-${mode}`;
        try {
          await stream.progress(PHASE_ACKS);
          ensemble.partition([minority, majority], mode);
          const ghostReply = raw.request(
            OpCode.create,
            body(CreateRequest, { path: ghost, data: Buffer.from('x'), acl: [...OPEN_ACL_UNSAFE], flags: 0 }),
          );

          const newLeader = await ensemble.waitForLeader({ among: majority });
          t.diagnostic(`servers ${minority} cut off (${mode}); server ${newLeader.id} leads the majority`);
          await stream.progress(PHASE_ACKS);

          for (const id of minority) {
            await waitFor(async () => (await ensemble.server(id).srvr()) === null, { what: `server ${id} to stop serving`, timeoutMs: STEP_DOWN_LIMIT_MS });
          }
          await waitFor(() => disconnected, { what: `the old leader's client to be disconnected`, timeoutMs: STEP_DOWN_LIMIT_MS });
          const reply = await ghostReply;
          assert.ok(reply === 'closed' || reply.err !== 0, 'the cut-off leader acknowledged a write');

          ensemble.heal();
          await ensemble.waitForLeader();
          await stream.progress(PHASE_ACKS);
        } finally {
          await stream.stop();
          // Ended rather than left to expire, which would write in the middle of the digest check.
          await raw.end(ensemble.connectString);
          await onOldLeader.close();
        }
        assert.deepEqual(stream.problems, []);

        const checker = await ZkClient.connect(ensemble.connectString, { sessionTimeoutMs: SESSION_TIMEOUT_MS });
        try {
          const aligned = await alignDigestZxid(checker);
          assert.equal((await ensemble.waitConverged()).digest?.zxid, aligned);
        } finally {
          await checker.close();
        }
        await verifyWrites(ensemble, stream, ensemble.ids);
        for (const id of ensemble.ids) {
          const client = await ZkClient.connect(ensemble.server(id).connectString, { sessionTimeoutMs: SESSION_TIMEOUT_MS });
          try {
            assert.equal(await client.exists(ghost), null, `server ${id} has the write the cut-off leader took`);
          } finally {
            await client.close();
          }
        }
      } finally {
        await ensemble.stop();
      }
    });
  }
});
