/**
 * leaderServes=no: the leader takes no clients (they go to the followers),
 * while it still leads — writes through the followers commit — and a
 * follower that becomes leader stops taking clients too.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ErrorCode, KeeperError, ZkClient } from '../../src/client/mod.js';
import { startEnsemble } from '../harness/ensemble.js';
import { SESSION_TIMEOUT_MS } from './workload.js';

/** Long enough for a few connection attempts on a loaded machine; the refusal is immediate. */
const REFUSED_WITHIN_MS = 5_000;

async function expectRefused(connectString: string): Promise<void> {
  await assert.rejects(
    ZkClient.connect(connectString, { sessionTimeoutMs: SESSION_TIMEOUT_MS, timeoutMs: REFUSED_WITHIN_MS }),
    (e: unknown) => e instanceof KeeperError && e.code === ErrorCode.ConnectionLoss,
  );
}

describe('leaderServes=no', () => {
  it('keeps clients off the leader, which still leads', { timeout: 180_000 }, async () => {
    const ensemble = await startEnsemble({ servers: 3, config: { leaderServes: 'no' } });
    try {
      const leader = await ensemble.leader();
      assert.equal((await leader.srvr())?.mode, 'leader');
      await expectRefused(leader.connectString);

      const followers = ensemble.idsExcept(leader.id);
      const client = await ZkClient.connect(ensemble.connectStringOf(followers), { sessionTimeoutMs: SESSION_TIMEOUT_MS });
      try {
        await client.create('/through-a-follower', 'v');
        assert.equal((await client.getData('/through-a-follower')).data?.toString(), 'v');
      } finally {
        await client.close();
      }

      // The next leader, once elected, turns its clients away too.
      await leader.kill9();
      const next = await ensemble.waitForLeader();
      await expectRefused(next.connectString);
      await leader.start();
      await ensemble.waitForLeader();
      const again = await ZkClient.connect(leader.connectString, { sessionTimeoutMs: SESSION_TIMEOUT_MS });
      try {
        assert.equal((await again.getData('/through-a-follower')).data?.toString(), 'v');
      } finally {
        await again.close();
      }
    } finally {
      await ensemble.stop();
    }
  });
});
