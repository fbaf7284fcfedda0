/**
 * Real clients fail over with their sessions intact: kazoo,
 * node-zookeeper-client and zkCli.sh, each given every server, are
 * connected to some server, which is then killed with SIGKILL (it may be the
 * leader or a follower). Each must reconnect to another server with the same
 * session: the session id is unchanged, its ephemeral node is still there,
 * and a watch it set before the failure fires for a change made after it.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ZkClient } from '../../src/client/mod.js';
import { startEnsemble, type Ensemble, type EnsembleServer } from '../harness/ensemble.js';
import { isKazooAvailable, runKazoo } from '../harness/kazoo.js';
import { EventCollector, connectNzk } from '../harness/nzk.js';
import { removeAtExit, spawnManaged, waitFor } from '../harness/process.js';
import { CLIENT_JVM_FLAGS, ZKCLI_SCRIPT, isZkCliAvailable } from '../harness/zkcli.js';
import { SESSION_TIMEOUT_MS } from './workload.js';

/** JVM and Python start-ups on a loaded machine are slow. */
const CLIENT_WAIT_MS = 90_000;

describe('clients fail over to another server with their session', () => {
  // kazoo 2.8 does not re-arm watches after a reconnect (it sends no SetWatches): on a lost
  // connection it calls every one-shot watcher with a NONE event, and its DataWatch recipe sets
  // its watch again. So the one-shot watch must have been told, and the DataWatch must see the change.
  it('kazoo', { skip: !isKazooAvailable() && 'kazoo is not installed', timeout: 180_000 }, async (t) => {
    await withScenario('kazoo', async ({ ensemble, checker, signals, killServerOf }) => {
      const script = `
        import os, threading, time
        from kazoo.recipe.watchers import DataWatch
        states, events, seen, changed = [], [], [], threading.Event()
        zk.add_listener(lambda state: states.append(str(state)))
        def on_data(data, stat):
            seen.append(data.decode() if data is not None else None)
            if data == b'w1':
                changed.set()
        zk.create('/clients/kazoo-eph', b'mine', ephemeral=True)
        zk.get('/clients/watched-kazoo', watch=lambda event: events.append([str(event.type), event.path]))
        DataWatch(zk, '/clients/watched-kazoo', on_data)
        session_id = zk.client_id[0]
        with open(${JSON.stringify(signals.ready)}, 'w') as f:
            f.write(str(session_id))
        deadline = time.time() + 120
        while not os.path.exists(${JSON.stringify(signals.go)}) and time.time() < deadline:
            time.sleep(0.05)
        changed.wait(60)
        eph = zk.exists('/clients/kazoo-eph')
        result = {'before': session_id, 'after': zk.client_id[0], 'states': states, 'events': events, 'seen': seen,
                  'owner': eph.ephemeralOwner if eph else None}
      `;
      const run = runKazoo(ensemble.connectString, script, { timeoutMs: 180_000, sessionTimeoutS: SESSION_TIMEOUT_MS / 1000 });
      // A failed run must not leave the wait below hanging until its deadline.
      let runFailed: unknown;
      run.catch((error: unknown) => (runFailed = error));
      const sessionId = await waitFor(() => (existsSync(signals.ready) ? BigInt(readFileSync(signals.ready, 'utf8')) : undefined), {
        what: 'kazoo to create its ephemeral and set its watches',
        timeoutMs: CLIENT_WAIT_MS,
        giveUpIf: () => (runFailed === undefined ? undefined : String(runFailed)),
      });
      const killed = await killServerOf(sessionId);
      await checker.setData('/clients/watched-kazoo', 'w1');
      writeFileSync(signals.go, '');
      const result = await run;
      t.diagnostic(`killed server ${killed.id}; kazoo states: ${result.states.join(' ')}; DataWatch saw ${JSON.stringify(result.seen)}`);
      assert.equal(BigInt(result.after), sessionId, 'kazoo got a new session');
      assert.ok(!result.states.includes('LOST'), 'kazoo lost its session');
      assert.deepEqual(result.events, [['NONE', null]], 'the one-shot watch was told of the lost connection');
      assert.equal(result.seen.at(-1), 'w1', 'the DataWatch saw the change made after the failover');
      assert.equal(BigInt(result.owner), sessionId);
    });
  });

  it('node-zookeeper-client', { timeout: 180_000 }, async (t) => {
    await withScenario('nzk', async ({ ensemble, checker, killServerOf }) => {
      const client = await connectNzk(ensemble.connectString, { sessionTimeoutMs: SESSION_TIMEOUT_MS });
      try {
        let expired = false;
        client.raw.on('expired', () => (expired = true));
        await client.create('/clients/nzk-eph', 'mine', 'EPHEMERAL');
        const watch = new EventCollector();
        await client.getData('/clients/watched-nzk', watch);
        const sessionId = client.sessionId;

        const killed = await killServerOf(sessionId);
        await checker.setData('/clients/watched-nzk', 'w1');
        assert.deepEqual(await watch.next(CLIENT_WAIT_MS), { type: 'NODE_DATA_CHANGED', path: '/clients/watched-nzk' });
        assert.equal(client.sessionId, sessionId);
        assert.ok(!expired, 'the session expired');
        assert.equal((await client.exists('/clients/nzk-eph'))?.ephemeralOwner, sessionId);
        t.diagnostic(`killed server ${killed.id}`);
      } finally {
        await client.close();
      }
    });
  });

  it('zkCli.sh', { skip: !isZkCliAvailable() && 'zkCli.sh is not installed', timeout: 180_000 }, async (t) => {
    await withScenario('zkcli', async ({ ensemble, checker, signals, killServerOf }) => {
      // zkCli reads commands from stdin as they come: the second part waits for the go file.
      const commands = [
        `printf '%s\\n' 'create -e /clients/zkcli-eph mine' 'get -w /clients/watched-zkcli'`,
        `i=0; while [ ! -e '${signals.go}' ] && [ $i -lt 1200 ]; do sleep 0.1; i=$((i+1)); done`,
        `printf '%s\\n' 'stat /clients/zkcli-eph' 'quit'`,
      ].join('\n');
      const cli = spawnManaged('/bin/sh', ['-c', `(${commands}) | '${ZKCLI_SCRIPT}' -server '${ensemble.connectString}'`], {
        name: 'zkCli',
        collectOutput: true,
        env: { ...process.env, CLIENT_JVMFLAGS: CLIENT_JVM_FLAGS },
      });
      try {
        const owner = await waitFor(
          async () => (/^w0$/m.test(cli.stdout) ? (await checker.exists('/clients/zkcli-eph'))?.ephemeralOwner : undefined),
          { what: 'zkCli to create its ephemeral and set its watch', timeoutMs: CLIENT_WAIT_MS, diagnostics: () => cli.describe() },
        );
        const killed = await killServerOf(owner);
        await checker.setData('/clients/watched-zkcli', 'w1');
        await waitFor(() => cli.stdout.includes('WatchedEvent state:SyncConnected type:NodeDataChanged path:/clients/watched-zkcli'), {
          what: "zkCli's watch to fire",
          timeoutMs: CLIENT_WAIT_MS,
          diagnostics: () => cli.describe(),
        });
        writeFileSync(signals.go, '');
        await waitFor(() => !cli.running, { what: 'zkCli to quit', timeoutMs: CLIENT_WAIT_MS, diagnostics: () => cli.describe() });
        const statOwner = /^ephemeralOwner = (0x[0-9a-f]+)$/m.exec(cli.stdout)?.[1];
        assert.equal(statOwner === undefined ? undefined : BigInt(statOwner), owner, `zkCli's stat after the failover:\n${cli.stdout}`);
        t.diagnostic(`killed server ${killed.id}`);
      } finally {
        await cli.stop();
      }
    });
  });
});

interface Scenario {
  ensemble: Ensemble;
  /** A zkts client on every server, for setting things up and changing watched nodes. */
  checker: ZkClient;
  /** Files for handing over between this test and a client in another process. */
  signals: { ready: string; go: string };
  /**
   * Finds the server `sessionId` is connected to and kills it; returns once
   * the rest have a leader again and the session is connected to one of
   * them. Then checks its ephemerals are on every live server.
   */
  killServerOf(sessionId: bigint): Promise<EnsembleServer>;
}

async function withScenario(kind: string, body: (scenario: Scenario) => Promise<void>): Promise<void> {
  const ensemble = await startEnsemble({ servers: 3 });
  const signalDir = mkdtempSync(join(tmpdir(), 'zkts-failover-'));
  const releaseSignalDir = removeAtExit(signalDir);
  try {
    const checker = await ZkClient.connect(ensemble.connectString, { sessionTimeoutMs: SESSION_TIMEOUT_MS });
    try {
      await checker.create('/clients');
      await checker.create(`/clients/watched-${kind}`, 'w0');
      await body({
        ensemble,
        checker,
        signals: { ready: join(signalDir, 'ready'), go: join(signalDir, 'go') },
        killServerOf: (sessionId) => killServerOf(ensemble, sessionId),
      });
    } finally {
      await checker.close();
    }
  } finally {
    await ensemble.stop();
    rmSync(signalDir, { recursive: true, force: true });
    releaseSignalDir();
  }
}

async function killServerOf(ensemble: Ensemble, sessionId: bigint): Promise<EnsembleServer> {
  const hex = `0x${sessionId.toString(16)}`;
  const connectedTo = async (servers: readonly EnsembleServer[]): Promise<EnsembleServer | undefined> => {
    for (const server of servers) if ((await server.connectedSessions()).includes(sessionId)) return server;
    return undefined;
  };
  const victim = await waitFor(() => connectedTo(ensemble.servers), { what: `a server holding session ${hex}` });
  await victim.kill9();
  await ensemble.waitForLeader();
  const survivors = ensemble.servers.filter((s) => s.live);
  const now = await waitFor(() => connectedTo(survivors), { what: `session ${hex} to reconnect to another server`, timeoutMs: CLIENT_WAIT_MS });
  assert.notEqual(now, victim);
  for (const server of survivors) {
    const client = await ZkClient.connect(server.connectString, { sessionTimeoutMs: SESSION_TIMEOUT_MS });
    try {
      await client.sync('/clients');
      const children = await client.getChildren('/clients');
      const owners = await Promise.all(children.map(async (name) => (await client.exists(`/clients/${name}`))?.ephemeralOwner));
      assert.ok(owners.includes(sessionId), `server ${server.id} lost the ephemeral of session ${hex}`);
    } finally {
      await client.close();
    }
  }
  return victim;
}
