/**
 * The fault-injecting proxy the ensemble tests put between servers: it
 * forwards, and on demand resets, stalls and heals connections.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { sleep, waitFor } from '../harness/process.js';
import { TcpProxy } from '../harness/tcp-proxy.js';

/** A target that echoes what it gets and counts the connections it accepted. */
class EchoServer {
  accepted = 0;
  private readonly sockets = new Set<Socket>();

  private constructor(readonly server: Server) {
    server.on('connection', (socket) => {
      this.accepted++;
      this.sockets.add(socket);
      socket.on('error', () => {});
      socket.on('close', () => this.sockets.delete(socket));
      socket.pipe(socket);
    });
  }

  static async start(): Promise<EchoServer> {
    const server = createServer();
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    return new EchoServer(server);
  }

  get port(): number {
    return (this.server.address() as { port: number }).port;
  }

  async stop(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** A client connection through the proxy that records what comes back and how it ended. */
class Dialler {
  received = '';
  ended: 'reset' | 'closed' | null = null;

  private constructor(readonly socket: Socket) {
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => (this.received += chunk));
    socket.on('error', (e: NodeJS.ErrnoException) => (this.ended = e.code === 'ECONNRESET' ? 'reset' : this.ended));
    socket.on('close', () => (this.ended ??= 'closed'));
  }

  /** Connects; resolves once connected, or once the connection ended (a refused one). */
  static async open(port: number): Promise<Dialler> {
    const socket = connect({ host: '127.0.0.1', port });
    const dialler = new Dialler(socket);
    await new Promise((resolve) => {
      socket.once('connect', resolve);
      socket.once('close', resolve);
    });
    return dialler;
  }

  async expectEcho(text: string): Promise<void> {
    const before = this.received.length;
    this.socket.write(text);
    await waitFor(() => this.received.length >= before + text.length, { what: `the echo of ${text}`, timeoutMs: 10_000 });
    assert.equal(this.received.slice(before), text);
  }
}

describe('TcpProxy', () => {
  let echo: EchoServer;
  before(async () => {
    echo = await EchoServer.start();
  });
  after(async () => {
    await echo.stop();
  });

  it('forwards; closeAll resets the current connections and keeps forwarding new ones', async () => {
    const proxy = await TcpProxy.start({ targetPort: echo.port });
    try {
      const first = await Dialler.open(proxy.port);
      await first.expectEcho('hello');
      proxy.closeAll();
      await waitFor(() => first.ended, { what: 'the reset' });
      assert.equal(first.ended, 'reset');
      const second = await Dialler.open(proxy.port);
      await second.expectEcho('again');
      second.socket.destroy();
    } finally {
      await proxy.stop();
    }
  });

  it('block(reset) resets every connection and refuses new ones until unblocked', async () => {
    const proxy = await TcpProxy.start({ targetPort: echo.port });
    try {
      const open = await Dialler.open(proxy.port);
      await open.expectEcho('x');
      proxy.block('reset');
      await waitFor(() => open.ended, { what: 'the reset' });
      assert.equal(open.ended, 'reset');
      const refused = await Dialler.open(proxy.port);
      await waitFor(() => refused.ended, { what: 'the new connection to be reset' });
      proxy.unblock();
      const healed = await Dialler.open(proxy.port);
      await healed.expectEcho('y');
      healed.socket.destroy();
    } finally {
      await proxy.stop();
    }
  });

  it('block(stall) passes nothing, not even a close, and delivers it all when unblocked', async () => {
    const proxy = await TcpProxy.start({ targetPort: echo.port });
    try {
      const open = await Dialler.open(proxy.port);
      await open.expectEcho('before;');
      proxy.block('stall');
      open.socket.write('during;');
      const heldAccepted = echo.accepted;
      const held = await Dialler.open(proxy.port);
      held.socket.write('held;');
      const gaveUp = await Dialler.open(proxy.port);
      gaveUp.socket.end('never;');
      await sleep(300);
      assert.equal(open.received, 'before;');
      assert.equal(open.ended, null);
      assert.equal(echo.accepted, heldAccepted, 'a connection made during the stall reached the target');

      proxy.unblock();
      await waitFor(() => open.received === 'before;during;' && held.received === 'held;', {
        what: 'the held-back bytes',
        timeoutMs: 10_000,
      });
      await sleep(300);
      assert.equal(echo.accepted, heldAccepted + 1, 'only the dialler still waiting reaches the target');
      await held.expectEcho('after');
      open.socket.destroy();
      held.socket.destroy();
    } finally {
      await proxy.stop();
    }
  });
});
