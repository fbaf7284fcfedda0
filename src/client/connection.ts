/**
 * One TCP connection to one server: the socket, the length-prefixed frames
 * in both directions, and the timers that decide the connection is dead.
 *
 * Requests are encoded straight into one reused JuteWriter and written to
 * the socket once per event-loop turn (setImmediate), so a burst of calls
 * becomes one write. Incoming frames are handed over as views of the socket's
 * chunks, without copying.
 *
 * Liveness follows the Java client (ClientCnxn): until the session handshake
 * completes the whole attempt must finish within the connect timeout; after
 * it, a ping goes out whenever nothing was sent for a third of the session
 * timeout (at most 10 s), and the connection is given up when nothing was
 * heard for two thirds of it, so the client can move to another server
 * before the session expires.
 */
import { connect, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { JuteWriter } from '../jute/mod.js';
import { OpCode, Xid } from '../protocol/constants.js';
import { FrameDecoder, FrameError } from '../protocol/framing.js';
import { RequestHeader } from '../protocol/records.js';
import type { ServerAddress } from './connect-string.js';

export interface ConnectionHandler {
  /** The TCP connection is up: time to send the ConnectRequest. */
  onOpen(conn: Connection): void;
  onFrame(conn: Connection, frame: Buffer): void;
  /** Called once, whatever ended the connection. */
  onClose(conn: Connection, reason: string): void;
}

/** The Java client's MAX_SEND_PING_INTERVAL. */
const MAX_PING_INTERVAL_MS = 10_000;

export class Connection {
  readonly writer = new JuteWriter();
  /** Set once the server accepted the session on this connection. */
  established = false;
  private readonly socket: Socket;
  private readonly frames: FrameDecoder;
  private flushScheduled = false;
  private closed = false;
  private timer: NodeJS.Timeout | null = null;
  private lastSentAt = performance.now();
  private lastHeardAt = performance.now();
  private pingIntervalMs = 0;
  private readTimeoutMs = 0;

  constructor(
    readonly server: ServerAddress,
    maxFrameBytes: number,
    connectTimeoutMs: number,
    private readonly handler: ConnectionHandler,
  ) {
    this.frames = new FrameDecoder(maxFrameBytes);
    this.socket = connect({ host: server.host, port: server.port, noDelay: true });
    this.socket.on('connect', () => {
      if (!this.closed) this.handler.onOpen(this);
    });
    this.socket.on('data', (chunk: Buffer) => this.onData(chunk));
    this.socket.on('error', (error) => this.close(error.message));
    this.socket.on('close', () => this.close('the server closed the connection'));
    this.timer = setTimeout(() => this.close(`no session within the connect timeout of ${connectTimeoutMs} ms`), connectTimeoutMs);
    this.timer.unref();
  }

  get address(): string {
    return `${this.server.host}:${this.server.port}`;
  }

  /** Switches from the connect timeout to pings and the read timeout, for a session of this timeout. */
  startHeartbeat(sessionTimeoutMs: number): void {
    this.pingIntervalMs = Math.min(sessionTimeoutMs / 3, MAX_PING_INTERVAL_MS);
    this.readTimeoutMs = (sessionTimeoutMs * 2) / 3;
    this.lastHeardAt = performance.now();
    this.checkLiveness();
  }

  /** Begins a frame in the writer; endFrame completes it and schedules the write. */
  beginFrame(): number {
    return this.writer.beginFrame();
  }

  endFrame(start: number): void {
    this.writer.endFrame(start);
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(() => this.flush());
    }
  }

  /** Drops a partly written frame (its encoding failed). */
  abandonFrame(start: number): void {
    this.writer.truncate(start);
  }

  close(reason: string): void {
    if (this.closed) return;
    this.closed = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.socket.destroy();
    this.handler.onClose(this, reason);
  }

  private flush(): void {
    this.flushScheduled = false;
    if (this.closed || this.writer.length === 0) return;
    this.socket.write(this.writer.take());
    this.lastSentAt = performance.now();
  }

  private onData(chunk: Buffer): void {
    if (this.closed) return;
    this.lastHeardAt = performance.now();
    try {
      this.frames.push(chunk, (frame) => {
        if (!this.closed) this.handler.onFrame(this, frame);
      });
    } catch (error) {
      if (!(error instanceof FrameError)) throw error;
      this.close(`bad frame from the server: ${error.message}`);
    }
  }

  /** Sends a ping if we have been quiet, gives up if the server has; then sleeps until the next deadline. */
  private checkLiveness(): void {
    if (this.closed) return;
    const now = performance.now();
    if (now - this.lastHeardAt >= this.readTimeoutMs) {
      this.close(`nothing heard from the server for ${Math.round(now - this.lastHeardAt)} ms`);
      return;
    }
    if (now - this.lastSentAt >= this.pingIntervalMs) this.sendPing();
    const nextPing = this.lastSentAt + this.pingIntervalMs;
    const giveUp = this.lastHeardAt + this.readTimeoutMs;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = setTimeout(() => this.checkLiveness(), Math.max(1, Math.min(nextPing, giveUp) - now));
    this.timer.unref();
  }

  private sendPing(): void {
    const start = this.beginFrame();
    RequestHeader.encode(this.writer, { xid: Xid.ping, type: OpCode.ping });
    this.writer.endFrame(start);
    this.flush();
  }
}
