// Sessions and connections: state events, reconnects and failover, time-outs, expiry, auth failure, close.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  CreateMode,
  ErrorCode,
  EventType,
  KeeperError,
  KeeperState,
  ZkClient,
  watchOnce,
  type ClientState,
  type ConnectedInfo,
} from '../../src/client/mod.js';
import { allocatePorts } from '../harness/ports.js';
import { ClientPool, FakeReadOnlyServer, TcpProxy, nextEvent, sleep, startTestServer, uniquePath, until, within, type TestServer } from './helpers.js';

let server: TestServer;
const pool = new ClientPool();
const proxies: TcpProxy[] = [];
/** A client connected straight to the server, to observe what the others did. */
let observer: ZkClient;

before(async () => {
  server = await startTestServer();
  observer = await pool.connect(server.connectString);
});

after(async () => {
  await pool.closeAll();
  await Promise.all(proxies.map((proxy) => proxy.stop()));
  await server?.stop();
});

async function proxy(): Promise<TcpProxy> {
  const started = await TcpProxy.start(server);
  proxies.push(started);
  return started;
}

function isKeeperError(code: number): (error: unknown) => boolean {
  return (error) => error instanceof KeeperError && error.code === code;
}

/** A port nothing listens on. */
async function closedPort(): Promise<number> {
  const [port] = await allocatePorts(1);
  return port!;
}

describe('connecting', () => {
  test('state events and the negotiated session', async () => {
    const client = pool.create(server.connectString, { sessionTimeoutMs: 100 });
    const states: ClientState[] = [];
    client.on('state', (state) => states.push(state));
    const connected = nextEvent<[ConnectedInfo]>(client, 'connected');
    assert.equal(client.state, 'idle');
    await client.start();
    const [info] = await connected;
    assert.deepEqual(states, ['connecting', 'connected']);
    assert.equal(client.state, 'connected');
    assert.equal(info.sessionId, client.sessionId);
    assert.notEqual(info.sessionId, 0n);
    assert.equal(info.newSession, true);
    assert.equal(info.server, server.connectString);
    assert.equal(client.connectedServer, server.connectString);
    // The server clamps the requested timeout to its minimum (2 ticks of 200 ms in these tests).
    assert.equal(info.sessionTimeoutMs, 400);
    assert.equal(client.negotiatedSessionTimeoutMs, 400);
    assert.equal(client.sessionPassword.length, 16);
  });

  test('an unreachable server is skipped for the next one', async () => {
    const port = await closedPort();
    const client = await pool.connect(`127.0.0.1:${port},${server.connectString}`, { shuffleServers: false });
    assert.equal(client.connectedServer, server.connectString);
  });

  test('connect gives up after its timeout when no server answers', async () => {
    const port = await closedPort();
    await assert.rejects(
      ZkClient.connect(`127.0.0.1:${port}`, { timeoutMs: 500, sessionTimeoutMs: 2000 }),
      (error: unknown) => isKeeperError(ErrorCode.ConnectionLoss)(error) && /no session established/.test((error as Error).message),
    );
  });

  test('the read-only flag is accepted by a read-write server', async () => {
    const client = await pool.connect(server.connectString, { readOnly: true });
    assert.equal(client.state, 'connected');
    await client.create(uniquePath('ro-flag'));
  });

  test('read-only mode: a read-only server serves the client until a read-write one answers', async () => {
    const readOnlyServer = await FakeReadOnlyServer.start();
    try {
      const client = pool.create(`${readOnlyServer.connectString},${server.connectString}`, { readOnly: true, shuffleServers: false });
      const readOnly = nextEvent<[ConnectedInfo]>(client, 'connectedReadOnly');
      const readWrite = nextEvent<[ConnectedInfo]>(client, 'connected');
      await client.start();
      const [readOnlyInfo] = await readOnly;
      assert.equal(readOnlyInfo.server, readOnlyServer.connectString);
      const [readWriteInfo] = await readWrite;
      assert.equal(readWriteInfo.server, server.connectString);
      // A read-only server's session is local to it: the read-write server starts a new one.
      assert.equal(readWriteInfo.newSession, true);
      assert.notEqual(readWriteInfo.sessionId, readOnlyInfo.sessionId);
      await client.create(uniquePath('read-write-again'));
    } finally {
      await readOnlyServer.stop();
    }
  });

  test('pings keep an idle session alive', async () => {
    const client = await pool.connect(server.connectString, { sessionTimeoutMs: 3000 });
    const path = uniquePath('idle');
    await client.create(path, null, { mode: CreateMode.EPHEMERAL });
    let disconnects = 0;
    client.on('disconnected', () => disconnects++);
    // Idle for more than twice the session timeout: only the pings keep the session alive.
    await sleep(7000);
    assert.equal(disconnects, 0);
    assert.equal((await observer.exists(path))?.ephemeralOwner, client.sessionId);
  });
});

describe('reconnecting', () => {
  test('a dropped connection is re-established with the same session', async () => {
    const front = await proxy();
    const client = await pool.connect(front.connectString);
    const path = uniquePath('reconnect');
    await client.create(path, null, { mode: CreateMode.EPHEMERAL });
    const sessionId = client.sessionId;
    const disconnected = nextEvent<[{ reason: string }]>(client, 'disconnected');
    const reconnected = nextEvent<[ConnectedInfo]>(client, 'connected');
    front.dropConnections();
    await disconnected;
    const [info] = await reconnected;
    assert.equal(info.newSession, false);
    assert.equal(info.sessionId, sessionId);
    assert.equal((await client.exists(path))?.ephemeralOwner, sessionId);
  });

  test('requests in flight fail with ConnectionLoss; requests made while disconnected wait for the next connection', async () => {
    const front = await proxy();
    const client = await pool.connect(front.connectString);
    front.setBlackhole(true);
    const lost = client.exists('/');
    await sleep(50);
    front.setRefusing(true);
    const disconnected = nextEvent<[unknown]>(client, 'disconnected');
    front.dropConnections();
    await assert.rejects(lost, isKeeperError(ErrorCode.ConnectionLoss));
    await disconnected;
    front.setBlackhole(false);
    const path = uniquePath('queued');
    const queued = [client.create(path), client.setData(path, 'after create'), client.getData(path)];
    front.setRefusing(false);
    const [created, , read] = await within(Promise.all(queued), 30_000, 'the queued requests');
    assert.equal(created, path);
    assert.equal((read as { data: Buffer }).data.toString(), 'after create');
  });

  test('a request abandoned while it waits for a connection is never sent', async () => {
    const front = await proxy();
    const client = await pool.connect(front.connectString);
    front.setRefusing(true);
    const disconnected = nextEvent<[unknown]>(client, 'disconnected');
    front.dropConnections();
    await disconnected;
    const path = uniquePath('abandoned');
    const controller = new AbortController();
    const aborted = client.create(path, null, { signal: controller.signal });
    const timedOut = client.create(`${path}-timeout`, null, { timeoutMs: 1 });
    controller.abort();
    await assert.rejects(aborted, { name: 'AbortError' });
    await assert.rejects(timedOut, isKeeperError(ErrorCode.RequestTimeout));
    const reconnected = nextEvent<[unknown]>(client, 'connected');
    front.setRefusing(false);
    await reconnected;
    assert.equal(await client.exists(path), null);
    assert.equal(await client.exists(`${path}-timeout`), null);
  });

  test('failover to another server address keeps the session', async () => {
    const first = await proxy();
    const second = await proxy();
    const client = await pool.connect(`${first.connectString},${second.connectString}`, { shuffleServers: false });
    assert.equal(client.connectedServer, first.connectString);
    const sessionId = client.sessionId;
    first.setRefusing(true);
    const reconnected = nextEvent<[ConnectedInfo]>(client, 'connected');
    first.dropConnections();
    const [info] = await reconnected;
    assert.equal(info.server, second.connectString);
    assert.equal(info.sessionId, sessionId);
    assert.equal(info.newSession, false);
  });

  test('a silent server is abandoned after two thirds of the session timeout', async () => {
    const front = await proxy();
    // Long enough for the session to outlive the silence (6 s) and the reconnect, even on a slow machine.
    const client = await pool.connect(front.connectString, { sessionTimeoutMs: 9000 });
    const sessionId = client.sessionId;
    const disconnected = nextEvent<[{ reason: string }]>(client, 'disconnected');
    front.setBlackhole(true);
    const [{ reason }] = await disconnected;
    assert.match(reason, /nothing heard from the server/);
    const reconnected = nextEvent<[ConnectedInfo]>(client, 'connected');
    front.setBlackhole(false);
    const [info] = await reconnected;
    assert.equal(info.sessionId, sessionId);
  });

  test('a server that is behind the zxid the client has seen is not used', async () => {
    const behind = await startTestServer();
    try {
      const front = await proxy();
      const client = await pool.connect(front.connectString);
      const path = uniquePath('zxid');
      await client.create(path);
      for (let i = 0; i < 5; i++) await client.setData(path, String(i));
      const sessionId = client.sessionId;
      const zxid = client.lastZxidSeen;
      assert.ok(zxid > 0);
      const connects: ConnectedInfo[] = [];
      client.on('connected', (info) => connects.push(info));
      front.retarget(behind);
      const attemptsBefore = front.acceptedCount;
      front.dropConnections();
      await until(() => front.acceptedCount >= attemptsBefore + 2, 'two attempts on the server that is behind');
      assert.equal(connects.length, 0, 'the client must not settle for a server that is behind');
      assert.equal(client.state, 'connecting');
      front.retarget(server);
      await until(() => connects.length === 1, 'the reconnect to the up-to-date server');
      assert.equal(connects[0]!.sessionId, sessionId);
      assert.ok(client.lastZxidSeen >= zxid);
    } finally {
      await behind.stop();
    }
  });

  test('authentication is presented again on the new connection', async () => {
    const front = await proxy();
    const client = await pool.connect(front.connectString);
    await client.addAuth('digest', 'dave:pw');
    const path = uniquePath('reauth');
    await client.create(path, 'mine', { acl: [{ perms: 31, id: { scheme: 'auth', id: '' } }] });
    const reconnected = nextEvent<[unknown]>(client, 'connected');
    front.dropConnections();
    await reconnected;
    assert.equal((await client.getData(path)).data?.toString(), 'mine');
    assert.ok((await client.whoAmI()).some((info) => info.user === 'dave'));
  });
});

describe('the end of a session', () => {
  test('expiry: reported once the client reaches a server again, and final', async () => {
    const front = await proxy();
    const client = await pool.connect(front.connectString, { sessionTimeoutMs: 1000 });
    const path = uniquePath('expiring');
    await client.create(path, null, { mode: CreateMode.EPHEMERAL });
    const watch = watchOnce();
    await client.exists(path, { watch: watch.callback });
    const states: ClientState[] = [];
    client.on('state', (state) => states.push(state));
    front.setBlackhole(true);
    await until(async () => (await observer.exists(path)) === null, 'the server to expire the session');
    const queued = client.getData(path);
    const expired = nextEvent<[{ reason: string }]>(client, 'expired');
    front.setBlackhole(false);
    await expired;
    assert.equal(client.state, 'expired');
    assert.deepEqual(states.slice(-1), ['expired']);
    await assert.rejects(queued, isKeeperError(ErrorCode.SessionExpired));
    await assert.rejects(client.exists('/'), isKeeperError(ErrorCode.SessionExpired));
    assert.deepEqual(await within(watch.event, 30_000, 'the Expired event'), { type: EventType.None, state: KeeperState.Expired, path: '' });
    await client.close();
    assert.equal(client.state, 'expired');
  });

  test('another client can resume the session with its id and password; a wrong password means expired', async () => {
    const front = await proxy();
    const original = await pool.connect(front.connectString, { sessionTimeoutMs: 10_000 });
    const path = uniquePath('resumed');
    await original.create(path, null, { mode: CreateMode.EPHEMERAL });
    front.setRefusing(true);
    front.dropConnections();
    const wrong = Buffer.from(original.sessionPassword);
    wrong[0] = wrong[0]! ^ 0xff;
    await assert.rejects(
      ZkClient.connect(server.connectString, { sessionId: original.sessionId, sessionPassword: wrong, timeoutMs: 30_000 }),
      isKeeperError(ErrorCode.SessionExpired),
    );
    const resumed = await pool.connect(server.connectString, { sessionId: original.sessionId, sessionPassword: original.sessionPassword });
    assert.equal(resumed.sessionId, original.sessionId);
    assert.equal((await resumed.exists(path))?.ephemeralOwner, original.sessionId);
    await resumed.close();
    assert.equal(await observer.exists(path), null, 'closing the session deleted its ephemeral node');
    const expired = nextEvent<[unknown]>(original, 'expired');
    front.setRefusing(false);
    await expired;
  });

  test('an identity the server rejects ends the session with authFailed', async () => {
    const client = await pool.connect(server.connectString);
    const authFailed = nextEvent<[{ reason: string }]>(client, 'authFailed');
    await assert.rejects(client.addAuth('no-such-scheme', 'x'), isKeeperError(ErrorCode.AuthFailed));
    await authFailed;
    assert.equal(client.state, 'authFailed');
    await assert.rejects(client.exists('/'), isKeeperError(ErrorCode.AuthFailed));
  });

  test('close: ends the session at once, is final and idempotent', async () => {
    const client = await pool.connect(server.connectString);
    const path = uniquePath('closed');
    await client.create(path, null, { mode: CreateMode.EPHEMERAL });
    const closed = nextEvent<[]>(client, 'closed');
    const pending = client.exists(path);
    await client.close();
    await closed;
    assert.notEqual(await pending, null, 'a request made before close() is answered');
    assert.equal(client.state, 'closed');
    assert.equal(await observer.exists(path), null);
    await assert.rejects(client.exists('/'), isKeeperError(ErrorCode.SessionExpired));
    await client.close();
    await assert.rejects(client.start(), isKeeperError(ErrorCode.SessionExpired));
  });

  test('close without a reachable server is bounded', async () => {
    const front = await proxy();
    const client = await pool.connect(front.connectString);
    front.setRefusing(true);
    front.dropConnections();
    await within(client.close({ timeoutMs: 300 }), 30_000, 'close');
    assert.equal(client.state, 'closed');
  });

  test('close before start', async () => {
    const client = pool.create(server.connectString);
    await client.close();
    assert.equal(client.state, 'closed');
  });
});
