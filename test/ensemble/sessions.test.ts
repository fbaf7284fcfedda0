/**
 * Sessions are global in an ensemble: the leader tracks every session,
 * followers relay which of their clients showed life. A client of a follower
 * that goes silent expires, and its ephemeral node disappears on every
 * server; a client of a follower that keeps pinging never expires, however
 * long it stays idle otherwise.
 *
 * The silent client is cut off by a TCP proxy between it and its follower
 * that stops passing anything (as a client process frozen or unplugged
 * would); it has no other server to turn to.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CreateMode, ZkClient } from '../../src/client/mod.js';
import { startEnsemble, type Ensemble } from '../harness/ensemble.js';
import { sleep, waitFor } from '../harness/process.js';
import { TcpProxy } from '../harness/tcp-proxy.js';

/** Short, so that expiry is quick; at least 2 ticks of 500 ms. */
const SESSION_TIMEOUT_MS = 2_000;
/** How long the pinging client must survive after the silent one expired: several session timeouts. */
const SURVIVAL_MS = 4 * SESSION_TIMEOUT_MS;

describe('sessions of clients connected to followers', () => {
  it('a silent client expires everywhere; a pinging one never does', { timeout: 120_000 }, async (t) => {
    const ensemble = await startEnsemble({ servers: 3 });
    let proxy: TcpProxy | undefined;
    const clients: ZkClient[] = [];
    try {
      const leader = await ensemble.leader();
      const [silentClientsFollower, pingingClientsFollower] = ensemble.idsExcept(leader.id).map((id) => ensemble.server(id));
      proxy = await TcpProxy.start({ targetPort: silentClientsFollower!.clientPort });

      const silent = await ZkClient.connect(`127.0.0.1:${proxy.port}`, { sessionTimeoutMs: SESSION_TIMEOUT_MS });
      clients.push(silent);
      const pinging = await ZkClient.connect(pingingClientsFollower!.connectString, { sessionTimeoutMs: SESSION_TIMEOUT_MS });
      clients.push(pinging);
      let pingingExpired = false;
      pinging.on('expired', () => (pingingExpired = true));
      let silentExpired = false;
      silent.on('expired', () => (silentExpired = true));

      await silent.create('/silent', 'x', { mode: CreateMode.EPHEMERAL });
      await pinging.create('/pinging', 'x', { mode: CreateMode.EPHEMERAL });
      await expectEverywhere(ensemble, ['/silent', '/pinging'], []);

      proxy.block('stall');
      const cutAt = Date.now();
      await expectEverywhere(ensemble, ['/pinging'], ['/silent']);
      t.diagnostic(`the silent client's ephemeral was gone everywhere ${Date.now() - cutAt} ms after it went silent`);

      await sleep(SURVIVAL_MS);
      assert.ok(!pingingExpired, 'the pinging client expired');
      await expectEverywhere(ensemble, ['/pinging'], ['/silent']);
      assert.equal(pinging.state, 'connected');

      // Once it can talk again, the silent client learns its session is gone.
      proxy.unblock();
      await waitFor(() => silentExpired, { what: 'the silent client to learn that its session expired', timeoutMs: 30_000 });
    } finally {
      for (const client of clients) await client.close();
      await proxy?.stop();
      await ensemble.stop();
    }
  });
});

/** Polls every server on its own until `present` exist and `absent` do not. */
async function expectEverywhere(ensemble: Ensemble, present: string[], absent: string[]): Promise<void> {
  for (const server of ensemble.servers) {
    const client = await ZkClient.connect(server.connectString, { sessionTimeoutMs: 10_000 });
    try {
      await waitFor(
        async () => {
          await client.sync('/');
          const found = await Promise.all([...present, ...absent].map(async (path) => (await client.exists(path)) !== null));
          return found.every((exists, i) => exists === i < present.length);
        },
        { what: `server ${server.id} to have ${present.join(', ')} and not ${absent.join(', ')}`, timeoutMs: 30_000, intervalMs: 200 },
      );
    } finally {
      await client.close();
    }
  }
}
