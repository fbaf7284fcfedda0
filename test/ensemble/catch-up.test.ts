/**
 * A follower cut off while the others go on writing catches up when the
 * partition heals: with the transactions it missed (a DIFF) when the leader
 * still has them in its recent history, with a snapshot of the whole tree
 * (a SNAP) when it missed more than that history keeps (commitLogCount, at
 * least 500).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ZkClient } from '../../src/client/mod.js';
import { startEnsemble, type Ensemble, type EnsembleServer } from '../harness/ensemble.js';
import { waitFor } from '../harness/process.js';
import { SESSION_TIMEOUT_MS, alignDigestZxid } from './workload.js';

const SNAPSHOT_INSTALLED = "installing the leader's snapshot";
const TRUNCATED = 'truncating the log';
/** Few enough for a DIFF, many more than commitLogCount for a SNAP. */
const FEW_WRITES = 50;
const MANY_WRITES = 700;
/** Writes in flight at once, to get many through quickly. */
const BATCH = 100;

describe('a follower that missed writes catches up', () => {
  it('by DIFF after a few, by SNAP after more than commitLogCount', { timeout: 180_000 }, async (t) => {
    const ensemble = await startEnsemble({ servers: 3 });
    try {
      const leader = await ensemble.leader();
      const [laggard, other] = ensemble.idsExcept(leader.id).map((id) => ensemble.server(id)) as [EnsembleServer, EnsembleServer];
      const writer = await ZkClient.connect(ensemble.connectStringOf([leader.id, other.id]), { sessionTimeoutMs: SESSION_TIMEOUT_MS });
      try {
        await writer.create('/missed');
        const snapshotsBefore = count(laggard.output(), SNAPSHOT_INSTALLED);

        let written = await missWrites(ensemble, laggard.id, writer, 0, FEW_WRITES);
        await expectCaughtUp(ensemble, laggard.id, written);
        const afterDiff = laggard.output();
        assert.equal(count(afterDiff, SNAPSHOT_INSTALLED), snapshotsBefore, `server ${laggard.id} got a snapshot for ${FEW_WRITES} missed writes`);
        assert.equal(count(afterDiff, TRUNCATED), 0);
        t.diagnostic(`server ${laggard.id} caught up on ${FEW_WRITES} writes without a snapshot`);

        written = await missWrites(ensemble, laggard.id, writer, written, MANY_WRITES);
        await expectCaughtUp(ensemble, laggard.id, written);
        assert.equal(count(laggard.output(), SNAPSHOT_INSTALLED), snapshotsBefore + 1, `server ${laggard.id} should have installed one snapshot`);
        t.diagnostic(`server ${laggard.id} caught up on ${MANY_WRITES} writes with a snapshot`);

        const aligned = await alignDigestZxid(writer);
        assert.equal((await ensemble.waitConverged()).digest?.zxid, aligned);
      } finally {
        await writer.close();
      }
    } finally {
      await ensemble.stop();
    }
  });
});

/**
 * Cuts `id` off, acknowledges `writes` more children of /missed (numbered
 * from `from`), heals. Returns how many children there are now.
 */
async function missWrites(ensemble: Ensemble, id: number, writer: ZkClient, from: number, writes: number): Promise<number> {
  ensemble.isolate(id);
  await waitFor(async () => (await ensemble.server(id).srvr()) === null, { what: `server ${id} to notice it is cut off`, timeoutMs: 30_000 });
  for (let start = from; start < from + writes; start += BATCH) {
    const end = Math.min(start + BATCH, from + writes);
    await Promise.all(Array.from({ length: end - start }, (_, i) => writer.create(`/missed/n${start + i}`, String(start + i))));
  }
  ensemble.heal();
  return from + writes;
}

/** Once everyone follows the leader again, server `id` alone (after sync) has all `expected` children. */
async function expectCaughtUp(ensemble: Ensemble, id: number, expected: number): Promise<void> {
  await ensemble.waitForLeader();
  const client = await ZkClient.connect(ensemble.server(id).connectString, { sessionTimeoutMs: SESSION_TIMEOUT_MS });
  try {
    await client.sync('/missed');
    const children = await client.getChildren('/missed');
    assert.equal(children.length, expected, `server ${id} has ${children.length} of ${expected} children`);
    assert.equal((await client.getData(`/missed/n${expected - 1}`)).data?.toString(), String(expected - 1));
  } finally {
    await client.close();
  }
}

function count(text: string, needle: string): number {
  return text.split(needle).length - 1;
}
