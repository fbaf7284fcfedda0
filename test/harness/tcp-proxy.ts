/**
 * A fault-injecting TCP proxy on 127.0.0.1, to put between two servers of an
 * ensemble (one per direction and port) or between a client and a server.
 *
 * It forwards every connection it accepts to its target until told otherwise:
 *
 *  - `block('reset')`: a partition that is noticed at once. Every forwarded
 *    connection is reset (both ends get ECONNRESET), and new connections are
 *    accepted and reset straight away, so dialling fails quickly.
 *  - `block('stall')`: a silent partition (a cable pulled, packets dropped).
 *    Connections stay open but nothing passes either way, not even a close;
 *    new connections are accepted (the dialler sees success) but not
 *    forwarded. `unblock()` delivers what was held back, as TCP would on
 *    healing: bytes written meanwhile arrive, closes that happened meanwhile
 *    arrive after them, and a connection whose dialler gave up meanwhile is
 *    dropped instead of being forwarded.
 *  - `closeAll()`: resets the current connections and keeps forwarding new
 *    ones (a blip, not a partition).
 */
import { connect, createServer, type Server, type Socket } from 'node:net';

export type BlockMode = 'reset' | 'stall';

export interface TcpProxyOptions {
  targetPort: number;
}

/** One accepted connection and, once forwarded, its connection to the target. */
class ProxiedConnection {
  private upstream: Socket | null = null;
  /** While held (accepted during a stall, not yet forwarded): what the dialler sent, and whether it gave up. */
  private held: Buffer[] = [];
  private heldGaveUp = false;
  /** Closes that happened during a stall, to pass on when it ends. */
  private readonly deferred: (() => void)[] = [];
  private stalled = false;
  private done = false;

  constructor(
    private readonly downstream: Socket,
    private readonly onDone: (connection: ProxiedConnection) => void,
  ) {
    downstream.setNoDelay(true);
    downstream.on('error', () => this.closedWithError(downstream));
  }

  /** Connects to the target and forwards both ways, starting with what was held. */
  forward(targetPort: number): void {
    const upstream = connect({ host: '127.0.0.1', port: targetPort });
    upstream.setNoDelay(true);
    this.upstream = upstream;
    upstream.on('error', () => this.closedWithError(upstream));
    for (const chunk of this.held) upstream.write(chunk);
    this.held = [];
    this.pipe(this.downstream, upstream);
    this.pipe(upstream, this.downstream);
  }

  /** Accepted during a stall: reads and keeps what the dialler sends until resume(). */
  hold(): void {
    this.stalled = true;
    this.downstream.on('data', (chunk: Buffer) => this.held.push(chunk));
    this.downstream.once('end', () => (this.heldGaveUp = true));
  }

  /** Nothing more passes either way until resume(). */
  stall(): void {
    this.stalled = true;
    this.downstream.pause();
    this.upstream?.pause();
  }

  /** Ends a stall: passes on what was held back (connecting first if this connection was held). */
  resume(targetPort: number): void {
    if (this.done) return;
    this.stalled = false;
    if (this.upstream === null) {
      this.downstream.removeAllListeners('data');
      this.downstream.removeAllListeners('end');
      // A dialler that gave up while held never reached the target.
      if (this.heldGaveUp || this.downstream.destroyed) this.reset();
      else this.forward(targetPort);
      return;
    }
    this.downstream.resume();
    this.upstream.resume();
    for (const close of this.deferred.splice(0)) close();
  }

  /** Both ends see a reset. */
  reset(): void {
    if (this.done) return;
    this.done = true;
    for (const socket of [this.downstream, this.upstream]) if (socket !== null) resetSocket(socket);
    this.onDone(this);
  }

  private pipe(from: Socket, to: Socket): void {
    from.on('data', (chunk: Buffer) => {
      if (!to.write(chunk)) {
        from.pause();
        to.once('drain', () => {
          if (!this.stalled) from.resume();
        });
      }
    });
    // 'end' comes only after every byte before it was read, so a close never overtakes data.
    from.once('end', () => this.passOn(() => to.end()));
    from.once('close', () => {
      if (to.destroyed) this.finish();
    });
  }

  /** A reset (or other error) on one side is passed on as a reset of the other. */
  private closedWithError(side: Socket): void {
    const other = side === this.downstream ? this.upstream : this.downstream;
    this.passOn(() => {
      if (other !== null) resetSocket(other);
      this.finish();
    });
  }

  private passOn(close: () => void): void {
    if (this.stalled) this.deferred.push(close);
    else close();
  }

  private finish(): void {
    if (this.done) return;
    this.done = true;
    this.onDone(this);
  }
}

/**
 * Closes a socket with a reset (RST), or plainly if it already sent its FIN:
 * Node cannot reset a socket after end() (the reset fails with EINVAL and the
 * socket is never closed, which makes the process spin at exit).
 */
function resetSocket(socket: Socket): void {
  if (socket.destroyed) return;
  if (socket.writableEnded || socket.connecting) socket.destroy();
  else socket.resetAndDestroy();
}

export class TcpProxy {
  private readonly connections = new Set<ProxiedConnection>();
  private mode: BlockMode | null = null;
  private stopped = false;

  private constructor(
    private readonly listener: Server,
    readonly port: number,
    private targetPort: number,
  ) {}

  /** Listens on 127.0.0.1 on a port the kernel picks, forwarding to 127.0.0.1:targetPort. */
  static async start(options: TcpProxyOptions): Promise<TcpProxy> {
    const listener = createServer({ noDelay: true });
    await new Promise<void>((resolve, reject) => {
      listener.once('error', reject);
      listener.listen({ host: '127.0.0.1', port: 0 }, () => {
        listener.off('error', reject);
        resolve();
      });
    });
    const address = listener.address();
    if (address === null || typeof address === 'string') throw new Error('proxy listener has no TCP address');
    const proxy = new TcpProxy(listener, address.port, options.targetPort);
    listener.on('connection', (socket) => proxy.accept(socket));
    return proxy;
  }

  /** Points connections made from now on at another port (a server restarted elsewhere). */
  retarget(targetPort: number): void {
    this.targetPort = targetPort;
  }

  /** Cuts this path: see the header for the two modes. Blocking again in another mode switches to it. */
  block(mode: BlockMode): void {
    if (this.mode === mode) return;
    if (this.mode !== null) this.unblock();
    this.mode = mode;
    for (const connection of [...this.connections]) {
      if (mode === 'reset') connection.reset();
      else connection.stall();
    }
  }

  /** Heals this path. */
  unblock(): void {
    if (this.mode === null) return;
    this.mode = null;
    for (const connection of [...this.connections]) connection.resume(this.targetPort);
  }

  /** Resets every current connection; new ones are still forwarded (unless blocked). */
  closeAll(): void {
    for (const connection of [...this.connections]) connection.reset();
  }

  /** Resets every connection and stops listening. Idempotent. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.closeAll();
    await new Promise<void>((resolve) => this.listener.close(() => resolve()));
  }

  private accept(socket: Socket): void {
    if (this.stopped || this.mode === 'reset') {
      socket.on('error', () => {});
      resetSocket(socket);
      return;
    }
    const connection = new ProxiedConnection(socket, (c) => this.connections.delete(c));
    this.connections.add(connection);
    if (this.mode === 'stall') connection.hold();
    else connection.forward(this.targetPort);
  }
}
