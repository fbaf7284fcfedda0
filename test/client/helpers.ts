/**
 * What the client tests share: the server under test, a fault-injecting TCP
 * proxy, event recorders and small waiting helpers.
 *
 * The server under test is a zkts server started in this process by default;
 * with ZKTS_CLIENT_TEST_SERVER=reference the same tests run against Apache
 * ZooKeeper 3.8 (the Debian package) instead. Tests only see a connect
 * string, so any server can be plugged in through `startTestServer`.
 */
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultConfig } from '../../src/server/config.js';
import { silentLogger } from '../../src/server/logger.js';
import { ZkServer } from '../../src/server/zk-server.js';
import { ZkClient, type ConnectOptions, type WatchEvent } from '../../src/client/mod.js';
import { JuteReader, JuteWriter } from '../../src/jute/mod.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import { FrameDecoder } from '../../src/protocol/framing.js';
import { ConnectRequest, ConnectResponse, ReplyHeader, RequestHeader } from '../../src/protocol/records.js';
import { allocatePorts } from '../harness/ports.js';
import { waitFor } from '../harness/process.js';
import { startReferenceZk } from '../harness/reference-zk.js';

export { sleep } from '../harness/process.js';

/** Short ticks so that short sessions (≥ 2 ticks) can expire quickly in tests. */
const TICK_MS = 200;

export interface TestServer {
  readonly kind: 'zkts' | 'reference';
  /** host:port */
  readonly connectString: string;
  readonly host: string;
  readonly port: number;
  stop(): Promise<void>;
}

export function serverKind(): 'zkts' | 'reference' {
  return process.env.ZKTS_CLIENT_TEST_SERVER === 'reference' ? 'reference' : 'zkts';
}

/** Starts the server under test: TTL nodes enabled, containers reaped quickly, sessions from 400 ms to 60 s. */
export async function startTestServer(): Promise<TestServer> {
  return serverKind() === 'reference' ? startReference() : startZkts();
}

async function startZkts(): Promise<TestServer> {
  for (let attempt = 1; ; attempt++) {
    const [port] = await allocatePorts(1);
    const dataDir = await mkdtemp(join(tmpdir(), 'zkts-client-test-'));
    const config = {
      ...defaultConfig(dataDir),
      dataDir,
      dataLogDir: dataDir,
      forceSync: false,
      clientPort: port!,
      clientPortAddress: '127.0.0.1',
      tickTimeMs: TICK_MS,
      minSessionTimeoutMs: 2 * TICK_MS,
      maxSessionTimeoutMs: 60_000,
      extendedTypesEnabled: true,
      containerCheckIntervalMs: 200,
      fourLetterWords: new Set(['ruok', 'srvr', 'isro']),
    };
    const server = ZkServer.open(config, silentLogger());
    const stop = async (): Promise<void> => {
      await server.stop();
      await rm(dataDir, { recursive: true, force: true });
    };
    try {
      await server.start();
    } catch (error) {
      await stop();
      if ((error as NodeJS.ErrnoException).code === 'EADDRINUSE' && attempt < 3) continue;
      throw error;
    }
    return { kind: 'zkts', connectString: `127.0.0.1:${port}`, host: '127.0.0.1', port: port!, stop };
  }
}

async function startReference(): Promise<TestServer> {
  const handle = await startReferenceZk({
    extraConfig: { tickTime: String(TICK_MS), minSessionTimeout: String(2 * TICK_MS), maxSessionTimeout: '60000' },
    jvmFlags: ['-Dznode.container.checkIntervalMs=200'],
  });
  return { kind: 'reference', connectString: handle.connectString, host: handle.host, port: handle.port, stop: () => handle.stop() };
}

/** Clients that `after` hooks close. */
export class ClientPool {
  private readonly clients: ZkClient[] = [];

  async connect(connectString: string, options: ConnectOptions = {}): Promise<ZkClient> {
    const client = await ZkClient.connect(connectString, { sessionTimeoutMs: 30_000, timeoutMs: 30_000, ...options });
    this.clients.push(client);
    return client;
  }

  /** A client that is not started yet (to listen to its first events). */
  create(connectString: string, options: ConnectOptions = {}): ZkClient {
    const client = new ZkClient(connectString, { sessionTimeoutMs: 30_000, ...options });
    this.clients.push(client);
    return client;
  }

  async closeAll(): Promise<void> {
    await Promise.all(this.clients.splice(0).map((client) => client.close({ timeoutMs: 2_000 })));
  }
}

let pathCounter = 0;

/** A fresh top-level path name, so tests sharing a server do not meet. */
export function uniquePath(label: string): string {
  return `/${label}-${process.pid}-${++pathCounter}`;
}

/** Polls until `check` returns a truthy value (generous default deadline for a loaded machine). */
export function until<T>(check: () => T | undefined | null | false | Promise<T | undefined | null | false>, what: string, timeoutMs = 30_000): Promise<T> {
  return waitFor(check, { what, timeoutMs, intervalMs: 20 });
}

/** The next emission of `event`, or an error after `timeoutMs`. */
export async function nextEvent<T extends unknown[]>(
  emitter: { once(event: string, listener: (...args: T) => void): unknown },
  event: string,
  timeoutMs = 30_000,
): Promise<T> {
  return within(once(emitter as unknown as NodeJS.EventEmitter, event) as Promise<T>, timeoutMs, `event ${event}`);
}

/** The promise's value, or a rejection naming `what` after `timeoutMs`. */
export async function within<T>(promise: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)), timeoutMs);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Collects watch events from a callback. */
export class EventRecorder {
  readonly events: WatchEvent[] = [];
  readonly callback = (event: WatchEvent): void => {
    this.events.push(event);
  };

  /** Waits until at least `count` events arrived and returns them all. */
  async atLeast(count: number, timeoutMs = 30_000): Promise<WatchEvent[]> {
    await until(() => this.events.length >= count, `${count} watch event(s); got ${JSON.stringify(this.events)}`, timeoutMs);
    return this.events;
  }
}

/**
 * A TCP proxy in front of a server, to cut, stall or refuse a client's
 * connections without touching the server.
 */
export class TcpProxy {
  private readonly pairs = new Set<[Socket, Socket]>();
  private blackholed = false;
  private refusing = false;
  private accepted = 0;

  private constructor(
    private readonly listener: Server,
    readonly port: number,
    private target: { host: string; port: number },
  ) {}

  static async start(target: { host: string; port: number }): Promise<TcpProxy> {
    for (let attempt = 1; ; attempt++) {
      const [port] = await allocatePorts(1);
      const listener = createServer();
      try {
        await new Promise<void>((resolve, reject) => {
          listener.once('error', reject);
          listener.listen({ host: '127.0.0.1', port }, () => resolve());
        });
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'EADDRINUSE' && attempt < 3) continue;
        throw error;
      }
      const proxy = new TcpProxy(listener, port!, target);
      listener.on('connection', (socket) => proxy.accept(socket));
      return proxy;
    }
  }

  get connectString(): string {
    return `127.0.0.1:${this.port}`;
  }

  get connectionCount(): number {
    return this.pairs.size;
  }

  /** Connections accepted so far (refused ones included). */
  get acceptedCount(): number {
    return this.accepted;
  }

  /** Points new connections at another server. */
  retarget(target: { host: string; port: number }): void {
    this.target = target;
  }

  /** Cuts every current connection (both ends see it closed). */
  dropConnections(): void {
    for (const [client, server] of this.pairs) {
      client.destroy();
      server.destroy();
    }
    this.pairs.clear();
  }

  /** While on, bytes are swallowed in both directions: connections stay open but silent. */
  setBlackhole(on: boolean): void {
    this.blackholed = on;
  }

  /** While on, new connections are closed at once. */
  setRefusing(on: boolean): void {
    this.refusing = on;
  }

  async stop(): Promise<void> {
    this.dropConnections();
    await new Promise<void>((resolve) => this.listener.close(() => resolve()));
  }

  private accept(client: Socket): void {
    this.accepted++;
    if (this.refusing) {
      client.destroy();
      return;
    }
    const server = connect(this.target);
    const pair: [Socket, Socket] = [client, server];
    this.pairs.add(pair);
    const close = (): void => {
      client.destroy();
      server.destroy();
      this.pairs.delete(pair);
    };
    for (const [from, to] of [
      [client, server],
      [server, client],
    ] as const) {
      from.on('data', (chunk: Buffer) => {
        if (!this.blackholed) to.write(chunk);
      });
      from.on('error', close);
      from.on('close', close);
    }
  }
}

/**
 * A stand-in for a ZooKeeper server cut off from its quorum: it accepts
 * sessions from clients that allow read-only mode, answers pings, refuses
 * every other request with NotReadOnly, and answers `isro` with "ro".
 */
export class FakeReadOnlyServer {
  private readonly sockets = new Set<Socket>();

  private constructor(
    private readonly listener: Server,
    readonly port: number,
  ) {}

  static async start(): Promise<FakeReadOnlyServer> {
    const [port] = await allocatePorts(1);
    const listener = createServer();
    await new Promise<void>((resolve, reject) => {
      listener.once('error', reject);
      listener.listen({ host: '127.0.0.1', port }, () => resolve());
    });
    const fake = new FakeReadOnlyServer(listener, port!);
    listener.on('connection', (socket) => fake.serve(socket));
    return fake;
  }

  get connectString(): string {
    return `127.0.0.1:${this.port}`;
  }

  async stop(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.listener.close(() => resolve()));
  }

  private serve(socket: Socket): void {
    this.sockets.add(socket);
    socket.on('close', () => this.sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    const frames = new FrameDecoder(1 << 20);
    let handshakeDone = false;
    let first = true;
    socket.on('data', (chunk: Buffer) => {
      if (first && chunk.subarray(0, 4).toString('latin1') === 'isro') {
        socket.end('ro');
        return;
      }
      first = false;
      frames.push(chunk, (frame) => {
        const out = new JuteWriter();
        const start = out.beginFrame();
        const reader = new JuteReader(frame);
        if (!handshakeDone) {
          const request = ConnectRequest.decode(reader);
          if (reader.remaining < 1 || !reader.readBool()) {
            socket.destroy();
            return;
          }
          handshakeDone = true;
          ConnectResponse.encode(out, { protocolVersion: 0, timeOut: request.timeOut, sessionId: 0x77n, passwd: Buffer.alloc(16, 7) });
          out.writeBool(true);
        } else {
          const { xid, type } = RequestHeader.decode(reader);
          ReplyHeader.encode(out, { xid, zxid: 0, err: type === 11 ? ErrorCode.Ok : ErrorCode.NotReadOnly });
        }
        out.endFrame(start);
        socket.write(out.take());
      });
    });
  }
}
