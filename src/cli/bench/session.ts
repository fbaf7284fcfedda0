/**
 * BenchSession: one ZooKeeper session on one TCP connection, built on the
 * protocol layer with as little client work per request as possible, so that
 * the load generator measures the server rather than itself.
 *
 *   - Request bodies are encoded once (a path, or path + data + version) and
 *     copied into the output buffer with a fresh header per send.
 *   - A server answers a session's requests in the order they were sent, so
 *     pending requests are a FIFO ring of (xid, send time, handler): no map,
 *     no promise and no allocation per request.
 *   - Requests issued while replies are being handled are written with one
 *     socket write after the chunk of replies; others within one event-loop
 *     turn (setImmediate).
 *   - Replies are not decoded beyond their header; notifications are.
 *
 * The latency of a request is measured from when it was issued (queued for
 * the next write) to when its reply was read.
 */
import { connect, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { JuteReader, JuteWriter } from '../../jute/mod.js';
import { OpCode, Xid } from '../../protocol/constants.js';
import { FrameDecoder } from '../../protocol/framing.js';
import { ErrorCode } from '../../protocol/errors.js';
import { ConnectRequest, ConnectResponse } from '../../protocol/records.js';

export interface ServerAddress {
  host: string;
  port: number;
}

/** Called with the reply's error code (0 for success), when the request was issued and when its reply arrived (performance.now()). */
export type ReplyHandler = (err: number, sentAt: number, now: number) => void;

/** Called for each watch notification with its event type and path, and its arrival time. */
export type NotificationHandler = (type: number, path: string, now: number) => void;

export interface OpenOptions {
  /** Requested session timeout. */
  sessionTimeoutMs: number;
  /** How long the TCP connect and the handshake may take. */
  connectTimeoutMs: number;
}

/** Replies hold a 4 MiB getData at most; the benchmark never asks for more. */
const MAX_FRAME_BYTES = 4 * 1024 * 1024;
const INITIAL_RING = 256;

export class BenchSession {
  /** Opens a TCP connection and establishes a new session on it. */
  static open(address: ServerAddress, opts: OpenOptions): Promise<BenchSession> {
    return new Promise((resolve, reject) => {
      const socket = connect({ host: address.host, port: address.port, noDelay: true });
      const frames = new FrameDecoder(MAX_FRAME_BYTES);
      const fail = (error: Error): void => {
        clearTimeout(timer);
        socket.destroy();
        reject(error);
      };
      const timer = setTimeout(
        () => fail(new Error(`no session from ${address.host}:${address.port} within ${opts.connectTimeoutMs} ms`)),
        opts.connectTimeoutMs,
      );
      socket.once('error', fail);
      socket.once('close', () => fail(new Error(`${address.host}:${address.port} closed the connection during the handshake`)));
      socket.once('connect', () => {
        const w = new JuteWriter(64);
        const frame = w.beginFrame();
        ConnectRequest.encode(w, {
          protocolVersion: 0,
          lastZxidSeen: 0,
          timeOut: opts.sessionTimeoutMs,
          sessionId: 0n,
          passwd: Buffer.alloc(16),
        });
        w.writeBool(false); // not read-only
        w.endFrame(frame);
        socket.write(w.take());
      });
      // The server sends nothing unasked, so the ConnectResponse is all that can arrive until a request is sent.
      const onHandshake = (chunk: Buffer): void => {
        let response: ConnectResponse | undefined;
        try {
          frames.push(chunk, (frame) => (response = ConnectResponse.decode(new JuteReader(frame))));
        } catch (e) {
          fail(e as Error);
          return;
        }
        if (response === undefined) return;
        clearTimeout(timer);
        socket.removeAllListeners();
        if (response.timeOut <= 0) {
          socket.destroy();
          reject(new Error(`${address.host}:${address.port} refused the session`));
          return;
        }
        resolve(new BenchSession(socket, frames, response.sessionId, response.timeOut));
      };
      socket.on('data', onHandshake);
    });
  }

  /** Called when the connection ends other than by close(); the benchmark treats it as fatal. */
  onLost: (reason: string) => void = () => {};
  onNotification: NotificationHandler = () => {};

  private readonly out = new JuteWriter(64 * 1024);
  private nextXid = 1;
  private ringXids = new Int32Array(INITIAL_RING);
  private ringSentAt = new Float64Array(INITIAL_RING);
  private ringHandlers: (ReplyHandler | undefined)[] = new Array<ReplyHandler | undefined>(INITIAL_RING);
  private head = 0;
  private pendingCount = 0;
  private handlingData = false;
  private flushScheduled = false;
  private sentSincePing = false;
  private closing = false;
  private lost = false;
  private readonly pingTimer: NodeJS.Timeout;

  private constructor(
    private readonly socket: Socket,
    private readonly frames: FrameDecoder,
    readonly sessionId: bigint,
    readonly sessionTimeoutMs: number,
  ) {
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (error) => this.connectionLost(error.message));
    socket.on('close', () => this.connectionLost('the server closed the connection'));
    // A session with requests in flight is alive; an idle one (a worker
    // waiting for the start signal) needs pings within its timeout.
    this.pingTimer = setInterval(() => {
      if (!this.sentSincePing) this.sendFrame(Xid.ping, OpCode.ping, undefined, undefined);
      this.sentSincePing = false;
    }, sessionTimeoutMs / 3);
    this.pingTimer.unref();
  }

  /** False once the connection is gone: nothing sent from then on is answered. */
  get alive(): boolean {
    return !this.lost;
  }

  /** Issues a request whose body is `body` (pre-encoded bytes); `onReply` gets its outcome. */
  send(opcode: number, body: Buffer, onReply: ReplyHandler): void {
    if (this.lost) return;
    const xid = this.nextXid++;
    this.sendFrame(xid, opcode, body, undefined);
    this.push(xid, onReply);
  }

  /** Issues a request whose body is written by `encode` (for bodies that differ every time, such as fresh create paths). */
  sendEncoded(opcode: number, encode: (w: JuteWriter) => void, onReply: ReplyHandler): void {
    if (this.lost) return;
    const xid = this.nextXid++;
    this.sendFrame(xid, opcode, undefined, encode);
    this.push(xid, onReply);
  }

  /** Ends the session (closeSession) and the connection; resolves when both are gone. */
  close(timeoutMs = 10_000): Promise<void> {
    if (this.lost) return Promise.resolve();
    this.closing = true;
    clearInterval(this.pingTimer);
    return new Promise((resolve) => {
      const timer = setTimeout(() => this.socket.destroy(), timeoutMs);
      this.socket.once('close', () => {
        clearTimeout(timer);
        resolve();
      });
      // The server closes the connection after answering; waiting for that
      // leaves the TIME_WAIT on its side, so churn does not use up client ports.
      this.send(OpCode.closeSession, EMPTY, () => {});
    });
  }

  /** Drops the connection without ending the session. */
  destroy(): void {
    this.closing = true;
    clearInterval(this.pingTimer);
    this.socket.destroy();
  }

  private push(xid: number, handler: ReplyHandler): void {
    if (this.pendingCount === this.ringXids.length) this.growRing();
    const slot = (this.head + this.pendingCount) & (this.ringXids.length - 1);
    this.ringXids[slot] = xid;
    this.ringSentAt[slot] = performance.now();
    this.ringHandlers[slot] = handler;
    this.pendingCount++;
  }

  private growRing(): void {
    const size = this.ringXids.length;
    const xids = new Int32Array(size * 2);
    const sentAt = new Float64Array(size * 2);
    const handlers = new Array<ReplyHandler | undefined>(size * 2);
    for (let i = 0; i < size; i++) {
      const from = (this.head + i) & (size - 1);
      xids[i] = this.ringXids[from]!;
      sentAt[i] = this.ringSentAt[from]!;
      handlers[i] = this.ringHandlers[from];
    }
    this.ringXids = xids;
    this.ringSentAt = sentAt;
    this.ringHandlers = handlers;
    this.head = 0;
  }

  private sendFrame(xid: number, opcode: number, body: Buffer | undefined, encode: ((w: JuteWriter) => void) | undefined): void {
    if (this.lost) return;
    const frame = this.out.beginFrame();
    this.out.writeInt(xid);
    this.out.writeInt(opcode);
    if (body !== undefined) this.out.writeBytes(body);
    else if (encode !== undefined) encode(this.out);
    this.out.endFrame(frame);
    this.sentSincePing = true;
    if (!this.handlingData && !this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(() => this.flush());
    }
  }

  private flush(): void {
    this.flushScheduled = false;
    if (this.out.length > 0 && !this.lost) this.socket.write(this.out.take());
  }

  private onData(chunk: Buffer): void {
    this.handlingData = true;
    try {
      this.frames.push(chunk, (frame) => this.onFrame(frame));
    } catch (e) {
      this.socket.destroy();
      this.connectionLost(`bad reply: ${(e as Error).message}`);
    } finally {
      this.handlingData = false;
    }
    this.flush();
  }

  private onFrame(frame: Buffer): void {
    const now = performance.now();
    const xid = frame.readInt32BE(0);
    const err = frame.readInt32BE(12);
    if (xid === Xid.notification) {
      // WatcherEvent after the 16-byte reply header: type, state, path.
      const type = frame.readInt32BE(16);
      const pathLength = frame.readInt32BE(24);
      this.onNotification(type, frame.toString('utf8', 28, 28 + pathLength), now);
      return;
    }
    if (xid === Xid.ping) return;
    if (this.pendingCount === 0 || this.ringXids[this.head] !== xid) {
      throw new Error(`reply for xid ${xid} out of order (expected ${this.pendingCount === 0 ? 'none' : this.ringXids[this.head]})`);
    }
    const handler = this.ringHandlers[this.head]!;
    const sentAt = this.ringSentAt[this.head]!;
    this.ringHandlers[this.head] = undefined;
    this.head = (this.head + 1) & (this.ringXids.length - 1);
    this.pendingCount--;
    handler(err, sentAt, now);
  }

  /**
   * Requests in flight fail with ConnectionLoss; later ones are dropped
   * unanswered (answering them at once would let a closed loop spin).
   */
  private connectionLost(reason: string): void {
    if (this.lost) return;
    this.lost = true;
    clearInterval(this.pingTimer);
    const now = performance.now();
    while (this.pendingCount > 0) {
      const handler = this.ringHandlers[this.head]!;
      const sentAt = this.ringSentAt[this.head]!;
      this.ringHandlers[this.head] = undefined;
      this.head = (this.head + 1) & (this.ringXids.length - 1);
      this.pendingCount--;
      handler(ErrorCode.ConnectionLoss, sentAt, now);
    }
    if (!this.closing) this.onLost(reason);
  }
}

const EMPTY = Buffer.alloc(0);

/** "host:port,host:port[/chroot]" → addresses; the chroot is not supported by the benchmark. */
export function parseServers(connectString: string): ServerAddress[] {
  if (connectString.includes('/')) throw new Error(`--connect: a chroot is not supported (${connectString})`);
  return connectString.split(',').map((entry) => {
    const match = /^\[?([^\]]*?)\]?(?::(\d+))?$/.exec(entry.trim());
    if (match === null || match[1] === '') throw new Error(`--connect: bad server address "${entry}"`);
    return { host: match[1]!, port: match[2] === undefined ? 2181 : Number(match[2]) };
  });
}

/** Encodes a request body once, for BenchSession.send to reuse. */
export function encodeBody(write: (w: JuteWriter) => void): Buffer {
  const w = new JuteWriter(256);
  write(w);
  return w.take();
}
