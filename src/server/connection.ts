/**
 * ClientConnection: one client TCP connection — framing, the handshake
 * state, the per-connection queue that keeps responses in request order, and
 * batched socket writes. What requests *do* is decided by RequestProcessor;
 * this class only moves bytes and keeps order.
 */
import type { Socket } from 'node:net';
import { JuteReader, JuteWriter } from '../jute/mod.js';
import { KeeperState, Xid } from '../protocol/constants.js';
import { FrameDecoder, FrameError } from '../protocol/framing.js';
import { ReplyHeader, WatcherEvent, type ACL, type Id } from '../protocol/records.js';
import type { Request } from '../protocol/requests.js';
import { Perms } from '../protocol/constants.js';
import { aclPermits, type ProviderSchemes } from '../tree/acl.js';
import type { TxnResult } from '../tree/database.js';
import type { Watcher } from '../tree/watches.js';

/**
 * A request waiting for its turn to be answered. Writes wait for their
 * commit, syncs for their barrier; everything else runs when it reaches the
 * head of the queue, so a read never overtakes the same client's writes.
 */
export interface Outstanding {
  readonly xid: number;
  readonly type: number;
  readonly kind: 'write' | 'sync' | 'local';
  /** The decoded request; null when decoding failed or the opcode is unknown (see errorCode). */
  readonly request: Request | null;
  readonly receivedAt: number;
  ready: boolean;
  /** A write's outcome, once committed and applied. */
  result: TxnResult | null;
  /** Non-zero when the request failed before it could run; answered with this code. */
  errorCode: number;
}

/** What a connection needs from the server that owns it. */
export interface ConnectionHost {
  readonly maxFrameBytes: number;
  readonly skipACL: boolean;
  /** ACL schemes of configured authentication providers (`sasl`). */
  readonly providerAclSchemes: ProviderSchemes;
  /** The first bytes received (at least 4): true if they were a four-letter word, now answered. */
  onFirstBytes(conn: ClientConnection, firstBytes: Buffer): boolean;
  onConnectFrame(conn: ClientConnection, frame: Buffer): void;
  onRequestFrame(conn: ClientConnection, frame: Buffer): void;
  drain(conn: ClientConnection): void;
  onClosed(conn: ClientConnection): void;
  onProtocolError(conn: ClientConnection, reason: string): void;
}

/** Bytes queued in the socket above which we stop reading from this client. */
const WRITE_HIGH_WATER_BYTES = 4 * 1024 * 1024;

let nextConnectionId = 1;

export class ClientConnection implements Watcher {
  readonly id = nextConnectionId++;
  readonly remoteAddress: string;
  readonly remotePort: number;
  readonly establishedAt = Date.now();
  /** Identities for ACL checks: the client's ip, then whatever it authenticates as. */
  readonly authIds: Id[];
  sessionId = 0n;
  sessionTimeoutMs = 0;
  /** The client omitted ConnectRequest's readOnly byte (pre-3.4 protocol). */
  oldClient = false;
  state: 'new' | 'handshake' | 'connected' | 'closed' = 'new';
  /** Set when a four-letter word is being answered on this connection. */
  isFourLetterWord = false;

  readonly stats = {
    packetsReceived: 0,
    packetsSent: 0,
    lastCxid: -1,
    lastZxid: -1,
    lastOp: 'NA',
    lastLatencyMs: 0,
    minLatencyMs: Number.MAX_SAFE_INTEGER,
    maxLatencyMs: 0,
    totalLatencyMs: 0,
    responses: 0,
    lastResponseAt: 0,
  };

  private readonly frames: FrameDecoder;
  private readonly out = new JuteWriter(4096);
  private flushScheduled = false;
  private readonly queue: Outstanding[] = [];
  private queueHead = 0;
  private readingPaused = false;
  private throttled = false;
  private closeAfterFlush = false;
  private prefix: Buffer | null = null;
  /** From the connect request until the session is established: requests that came after it. */
  private framesAwaitingSession: Buffer[] | null = null;

  constructor(
    readonly socket: Socket,
    private readonly host: ConnectionHost,
  ) {
    this.remoteAddress = normalizeAddress(socket.remoteAddress ?? '');
    this.remotePort = socket.remotePort ?? 0;
    this.authIds = [{ scheme: 'ip', id: this.remoteAddress }];
    this.frames = new FrameDecoder(host.maxFrameBytes);
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('drain', () => this.updateReading());
    socket.on('error', () => this.close());
    socket.on('close', () => this.close());
  }

  /** True once the connection is closed or closing: nothing more is to be answered on it. */
  get closing(): boolean {
    return this.state === 'closed' || this.closeAfterFlush;
  }

  get outstandingCount(): number {
    return this.queue.length - this.queueHead;
  }

  private onData(chunk: Buffer): void {
    if (this.state === 'closed' || this.closeAfterFlush) return;
    if (this.state === 'new') {
      const data = this.prefix === null ? chunk : Buffer.concat([this.prefix, chunk]);
      if (data.length < 4) {
        this.prefix = data;
        return;
      }
      this.prefix = null;
      this.state = 'handshake';
      if (this.host.onFirstBytes(this, data)) {
        this.isFourLetterWord = true;
        return;
      }
      chunk = data;
    }
    try {
      this.frames.push(chunk, (frame) => this.onFrame(frame));
    } catch (e) {
      if (!(e instanceof FrameError)) throw e;
      this.host.onProtocolError(this, e.message);
    }
  }

  private onFrame(frame: Buffer): void {
    if (this.state === 'closed' || this.closeAfterFlush) return;
    this.stats.packetsReceived++;
    if (this.state === 'connected') {
      this.host.onRequestFrame(this, frame);
    } else if (this.framesAwaitingSession === null) {
      // Until the session is set up (a new one must be committed first), requests that came
      // with the connect request wait, and nothing more is read: ZooKeeper disables receiving
      // in the meantime and then reads them as the session's requests.
      this.framesAwaitingSession = [];
      this.host.onConnectFrame(this, frame);
      if (this.state === 'handshake') this.updateReading();
    } else {
      this.framesAwaitingSession.push(frame);
    }
  }

  /** The handshake succeeded: the connect response is written; requests that came with it run now. */
  sessionEstablished(): void {
    this.state = 'connected';
    const waiting = this.framesAwaitingSession ?? [];
    this.framesAwaitingSession = null;
    for (const frame of waiting) {
      if (this.state !== 'connected' || this.closeAfterFlush) break;
      this.host.onRequestFrame(this, frame);
    }
    this.updateReading();
  }

  // ---- the response queue ----

  enqueue(entry: Outstanding): void {
    this.queue.push(entry);
  }

  /** The oldest request not yet answered, if any. */
  head(): Outstanding | undefined {
    return this.queue[this.queueHead];
  }

  popHead(): void {
    this.queue[this.queueHead++] = undefined as unknown as Outstanding;
    if (this.queueHead === this.queue.length) {
      this.queue.length = 0;
      this.queueHead = 0;
    } else if (this.queueHead > 1024 && this.queueHead * 2 > this.queue.length) {
      this.queue.splice(0, this.queueHead);
      this.queueHead = 0;
    }
  }

  /** The first write awaiting its commit with this xid (writes commit in order). */
  findPendingWrite(xid: number): Outstanding | undefined {
    for (let i = this.queueHead; i < this.queue.length; i++) {
      const entry = this.queue[i]!;
      if (entry.kind === 'write' && !entry.ready && entry.xid === xid) return entry;
    }
    return undefined;
  }

  // ---- output ----

  /** The writer responses are encoded into; flushed to the socket after this turn. */
  output(): JuteWriter {
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      queueMicrotask(() => this.flush());
    }
    return this.out;
  }

  /** Writes ReplyHeader and a body (encoded by `body`) as one frame. */
  reply(xid: number, zxid: number, err: number, body?: (w: JuteWriter) => void): void {
    const w = this.output();
    const frame = w.beginFrame();
    ReplyHeader.encode(w, { xid, zxid, err });
    if (body !== undefined) body(w);
    w.endFrame(frame);
    this.stats.packetsSent++;
  }

  private flush(): void {
    this.flushScheduled = false;
    if (this.state === 'closed') return;
    if (this.out.length > 0) this.socket.write(this.out.take());
    if (this.closeAfterFlush) {
      this.endAndDestroy();
      this.state = 'closed';
      this.host.onClosed(this);
      return;
    }
    this.updateReading();
  }

  /** Stops or resumes reading: when the client does not read our replies, or the server is saturated. */
  private updateReading(): void {
    const awaitingSession = this.state === 'handshake' && this.framesAwaitingSession !== null;
    const shouldPause = this.throttled || awaitingSession || this.socket.writableLength > WRITE_HIGH_WATER_BYTES;
    if (shouldPause === this.readingPaused || this.state === 'closed') return;
    this.readingPaused = shouldPause;
    if (shouldPause) this.socket.pause();
    else this.socket.resume();
  }

  setThrottled(throttled: boolean): void {
    this.throttled = throttled;
    this.updateReading();
  }

  /** Watcher: a fired watch becomes a notification (xid −1), unless the client may not read the node. */
  notify(type: number, path: string, zxid: number, acl: readonly ACL[]): void {
    if (this.state !== 'connected') return;
    if (!this.host.skipACL && !aclPermits(acl, Perms.READ, this.authIds, this.host.providerAclSchemes)) return;
    const w = this.output();
    const frame = w.beginFrame();
    ReplyHeader.encode(w, { xid: Xid.notification, zxid, err: 0 });
    WatcherEvent.encode(w, { type, state: KeeperState.SyncConnected, path });
    w.endFrame(frame);
    this.stats.packetsSent++;
  }

  /** Sends what is queued, then closes. */
  closeAfterReplies(): void {
    if (this.state === 'closed') return;
    this.closeAfterFlush = true;
    this.output();
  }

  /** Answers a four-letter word: writes its output, then closes the connection. */
  sendAndClose(text: string): void {
    this.endAndDestroy(text);
  }

  /**
   * Writes `text` (if any) and closes the socket outright once it is written, as ZooKeeper
   * closes its socket. Ending only our half would leave the socket open for as long as the
   * client keeps its own half open (kazoo keeps it after a session ends), each one holding a
   * file descriptor and keeping the listener, and so the server's shutdown, from finishing.
   */
  private endAndDestroy(text?: string): void {
    const socket = this.socket;
    const destroy = (): void => {
      socket.destroy();
    };
    if (text === undefined) socket.end(destroy);
    else socket.end(text, destroy);
  }

  /** Closes at once, dropping unsent output. */
  close(): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.socket.destroy();
    this.host.onClosed(this);
  }

  /** Reads a request frame's header; the reader is left at the body. */
  static readHeader(frame: Buffer): { xid: number; type: number; reader: JuteReader } {
    const reader = new JuteReader(frame);
    const xid = reader.readInt();
    const type = reader.readInt();
    return { xid, type, reader };
  }
}

/** "::ffff:127.0.0.1" (an IPv4 client on a dual-stack socket) → "127.0.0.1". */
function normalizeAddress(address: string): string {
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
}
