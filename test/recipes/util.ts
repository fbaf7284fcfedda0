/**
 * What the recipe tests share: a fixture with the server under test (zkts
 * in this process, or Apache ZooKeeper with ZKTS_CLIENT_TEST_SERVER=
 * reference), a pool of clients and proxies, and a proxy that can let
 * requests through but drop the replies, to make a request's outcome
 * unknown to the client (the case protected mode and queue receipts are for).
 */
import { createServer, connect, type Server, type Socket } from 'node:net';
import { after, before } from 'node:test';
import type { ZkClient, ConnectOptions } from '../../src/client/mod.js';
import { allocatePorts } from '../harness/ports.js';
import { ClientPool, TcpProxy, startTestServer, type TestServer } from '../client/helpers.js';

export { nextEvent, sleep, uniquePath, until, within } from '../client/helpers.js';

export interface Fixture {
  readonly server: TestServer;
  /** A client on the server directly. */
  connect(options?: ConnectOptions): Promise<ZkClient>;
  /** A client behind its own TcpProxy (to cut or stall its connection). */
  connectViaProxy(options?: ConnectOptions): Promise<{ client: ZkClient; proxy: TcpProxy }>;
  /** A client behind its own ReplyDroppingProxy. */
  connectViaReplyDropper(options?: ConnectOptions): Promise<{ client: ZkClient; proxy: ReplyDroppingProxy }>;
}

/** Starts the server before the file's tests and stops everything after them. */
export function useFixture(): Fixture {
  let server: TestServer | undefined;
  const pool = new ClientPool();
  const stoppers: (() => Promise<void>)[] = [];
  before(async () => {
    server = await startTestServer();
  });
  after(async () => {
    await pool.closeAll();
    await Promise.all(stoppers.map((stop) => stop()));
    await server?.stop();
  });
  return {
    get server(): TestServer {
      return server!;
    },
    connect: (options) => pool.connect(server!.connectString, options),
    async connectViaProxy(options) {
      const proxy = await TcpProxy.start(server!);
      stoppers.push(() => proxy.stop());
      return { client: await pool.connect(proxy.connectString, options), proxy };
    },
    async connectViaReplyDropper(options) {
      const proxy = await ReplyDroppingProxy.start(server!);
      stoppers.push(() => proxy.stop());
      return { client: await pool.connect(proxy.connectString, options), proxy };
    },
  };
}

/**
 * A TCP proxy that, while `dropReplies` is on, forwards what the client
 * sends but swallows what the server answers: requests are applied and the
 * client never hears of it, until its read timeout closes the connection
 * and its requests fail with ConnectionLoss.
 */
export class ReplyDroppingProxy {
  private readonly sockets = new Set<Socket>();
  private dropping = false;
  /** Start dropping once the client sends a request with this opcode. */
  private trigger: number | null = null;

  private constructor(
    private readonly listener: Server,
    readonly port: number,
    private readonly target: { host: string; port: number },
  ) {}

  static async start(target: { host: string; port: number }): Promise<ReplyDroppingProxy> {
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
      const proxy = new ReplyDroppingProxy(listener, port!, target);
      listener.on('connection', (socket) => proxy.accept(socket));
      return proxy;
    }
  }

  get connectString(): string {
    return `127.0.0.1:${this.port}`;
  }

  dropReplies(on: boolean): void {
    this.dropping = on;
    this.trigger = null;
  }

  /** Drops replies from the moment the client sends a request with this opcode (its reply included). */
  dropRepliesFrom(opcode: number): void {
    this.trigger = opcode;
  }

  async stop(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.listener.close(() => resolve()));
  }

  private accept(client: Socket): void {
    const server = connect(this.target);
    this.sockets.add(client).add(server);
    const close = (): void => {
      client.destroy();
      server.destroy();
      this.sockets.delete(client);
      this.sockets.delete(server);
    };
    // Frames from the client: a 4-byte length, then (after the handshake) xid and opcode.
    let pending = Buffer.alloc(0);
    let handshakeSeen = false;
    client.on('data', (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk]);
      while (pending.length >= 4 && pending.length >= 4 + pending.readInt32BE(0)) {
        const frame = pending.subarray(4, 4 + pending.readInt32BE(0));
        pending = pending.subarray(4 + frame.length);
        if (handshakeSeen && frame.length >= 8 && frame.readInt32BE(4) === this.trigger) {
          this.dropping = true;
          this.trigger = null;
        }
        handshakeSeen = true;
      }
      server.write(chunk);
    });
    server.on('data', (chunk: Buffer) => {
      if (!this.dropping) client.write(chunk);
    });
    for (const socket of [client, server]) {
      socket.on('error', close);
      socket.on('close', close);
    }
  }
}

/** Counts how many are inside a critical section at once, remembering the most. */
export class OccupancyMeter {
  inside = 0;
  maxInside = 0;
  entries = 0;

  enter(): void {
    this.inside++;
    this.entries++;
    this.maxInside = Math.max(this.maxInside, this.inside);
  }

  exit(): void {
    this.inside--;
  }
}
