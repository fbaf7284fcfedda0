/**
 * readonlymode.enabled: a server cut off from its quorum serves read-only
 * clients from its own tree (writes and sync get NotReadOnly), turns other
 * clients away, and gives up read-only mode once a quorum forms again, when
 * its clients move on to read-write sessions.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ErrorCode, KeeperError, ZkClient } from '../../src/client/mod.js';
import { RawClient } from '../differential/raw-client.js';
import { startEnsemble } from '../harness/ensemble.js';
import { waitFor } from '../harness/process.js';
import { SESSION_TIMEOUT_MS } from './workload.js';

/** Long enough for a few connection attempts on a loaded machine; the refusal is immediate. */
const REFUSED_WITHIN_MS = 5_000;
const MODE_CHANGE_MS = 60_000;

function isNotReadOnly(e: unknown): boolean {
  return e instanceof KeeperError && e.code === ErrorCode.NotReadOnly;
}

describe('read-only mode', () => {
  it('serves read-only clients without a quorum, and read-write ones again once it has one', { timeout: 240_000 }, async () => {
    const ensemble = await startEnsemble({ servers: 3, config: { 'readonlymode.enabled': 'true' } });
    let client: ZkClient | null = null;
    try {
      await ensemble.waitForLeader();
      const writer = await ZkClient.connect(ensemble.connectString, { sessionTimeoutMs: SESSION_TIMEOUT_MS });
      await writer.create('/before', 'v');
      await writer.close();
      await ensemble.waitConverged();

      const [survivorId, ...others] = ensemble.ids;
      const survivor = ensemble.server(survivorId!);
      assert.equal(await survivor.fourLetterWord('isro'), 'rw');
      const { zxid } = (await survivor.srvr())!;
      assert.match(await survivor.fourLetterWord('mntr'), new RegExp(`^zk_current_epoch\t${zxid >> 32n}$`, 'm'));
      for (const id of others) await ensemble.server(id).kill9();
      await waitFor(async () => (await survivor.fourLetterWord('isro')) === 'ro', {
        what: 'the survivor to go read-only',
        timeoutMs: MODE_CHANGE_MS,
      });
      assert.equal((await survivor.srvr())?.mode, 'read-only');

      await assert.rejects(
        ZkClient.connect(survivor.connectString, { sessionTimeoutMs: SESSION_TIMEOUT_MS, timeoutMs: REFUSED_WITHIN_MS }),
        (e: unknown) => e instanceof KeeperError && e.code === ErrorCode.ConnectionLoss,
        'a client that does not accept a read-only server is turned away',
      );

      client = await ZkClient.connect(survivor.connectString, { sessionTimeoutMs: SESSION_TIMEOUT_MS, readOnly: true });
      assert.equal(client.state, 'connectedReadOnly');
      assert.equal((await client.getData('/before')).data?.toString(), 'v');
      assert.deepEqual([...(await client.getChildren('/'))].sort(), ['before', 'zookeeper']);
      await assert.rejects(client.create('/during', 'x'), isNotReadOnly);
      await assert.rejects(client.setData('/before', 'x'), isNotReadOnly);
      await assert.rejects(client.sync('/'), isNotReadOnly);
      // Reads still work after the refusals: the session is intact.
      assert.ok((await client.exists('/before')) !== null);
      assert.match(await survivor.fourLetterWord('mntr'), /^zk_local_sessions\t1$/m);

      // A read-only session whose client falls silent expires, as any session does.
      const silent = await RawClient.session(survivor.connectString, { readOnly: true, timeoutMs: 1_000 });
      assert.equal(silent.session?.readOnly, true);
      try {
        await waitFor(() => silent.closed, { what: 'the silent read-only session to expire', timeoutMs: MODE_CHANGE_MS });
      } finally {
        silent.destroy();
      }
      assert.match(await survivor.fourLetterWord('mntr'), /^zk_local_sessions\t1$/m);

      for (const id of others) await ensemble.server(id).start();
      await ensemble.waitForLeader({ timeoutMs: MODE_CHANGE_MS });
      await waitFor(async () => (await survivor.fourLetterWord('isro')) === 'rw', {
        what: 'the survivor to serve read-write again',
        timeoutMs: MODE_CHANGE_MS,
      });
      // The client lost its read-only server and finds a read-write one: a new session there.
      const rwClient = client;
      await waitFor(() => rwClient.state === 'connected', { what: 'the client to reconnect read-write', timeoutMs: MODE_CHANGE_MS });
      await client.create('/after', 'w');
      assert.equal((await client.getData('/after')).data?.toString(), 'w');
    } finally {
      await client?.close();
      await ensemble.stop();
    }
  });
});
