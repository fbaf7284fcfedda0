/**
 * A raw ZooKeeper protocol client for differential tests, built on zkts's own
 * codec (src/jute, src/protocol). It does the handshake and sends any packet
 * — including ones no real client would send: unknown opcodes, malformed
 * bodies, wrong frame lengths — and returns the server's replies exactly as
 * they came, so that the bytes two servers answer with can be compared.
 *
 * Everything received is also appended to `received`, in arrival order
 * (replies, watch notifications, the close), which is how scenarios compare
 * the position of notifications relative to responses.
 */
import { connect, type Socket } from 'node:net';
import { JuteReader, JuteWriter, type RecordType } from '../../src/jute/mod.js';
import { OpCode } from '../../src/protocol/constants.js';
import { FrameDecoder } from '../../src/protocol/framing.js';
import { ConnectRequest, ConnectResponse, ReplyHeader, WatcherEvent } from '../../src/protocol/records.js';
import { withTimeout } from '../harness/process.js';

export interface RawReply {
  xid: number;
  zxid: number;
  err: number;
  /** The bytes after the ReplyHeader. */
  body: Buffer;
}

export interface RawNotification {
  type: number;
  state: number;
  path: string;
  zxid: number;
}

/** What came in, in order. */
export type Received =
  | { kind: 'reply'; reply: RawReply }
  | { kind: 'event'; event: RawNotification }
  | { kind: 'connected'; response: RawConnectResponse }
  | { kind: 'garbage'; bytes: Buffer }
  | { kind: 'closed' };

export interface RawConnectResponse {
  protocolVersion: number;
  timeOut: number;
  sessionId: bigint;
  passwd: Buffer | null;
  /** The trailing readOnly flag; undefined when the server left it out. */
  readOnly: boolean | undefined;
  /** Bytes after the readOnly flag (there should be none). */
  extra: number;
}

export interface ConnectOptions {
  sessionId?: bigint;
  passwd?: Buffer;
  /** Requested session timeout; default 30 s. */
  timeoutMs?: number;
  lastZxidSeen?: number;
  /** The trailing readOnly byte: true/false, or null to leave it out (a pre-3.4 client). */
  readOnly?: boolean | null;
  protocolVersion?: number;
  /** Bytes (request frames) written together with the ConnectRequest, before its response. */
  pipelined?: Buffer;
}

/** How long to wait for any one answer from the server. */
const ANSWER_TIMEOUT_MS = 20_000;
const MAX_FRAME_BYTES = 64 * 1024 * 1024;

export class RawClient {
  readonly received: Received[] = [];
  /** The session, once connected. */
  session: RawConnectResponse | undefined;
  private nextXid = 1;
  private readonly frames = new FrameDecoder(MAX_FRAME_BYTES);
  private readonly waiters: Array<() => void> = [];
  private closedFlag = false;
  /** Set between sending a ConnectRequest and receiving its response, which has no ReplyHeader. */
  private awaitingConnect = false;
  private readonly closedPromise: Promise<void>;

  private constructor(private readonly socket: Socket) {
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => {
      try {
        this.frames.push(chunk, (frame) => this.onFrame(Buffer.from(frame)));
      } catch {
        this.push({ kind: 'garbage', bytes: Buffer.from(chunk) });
      }
    });
    this.closedPromise = new Promise((resolve) => {
      socket.on('error', () => {});
      socket.on('close', () => {
        this.closedFlag = true;
        this.push({ kind: 'closed' });
        resolve();
      });
    });
  }

  /** Opens the TCP connection only; call connect() (or send anything) next. */
  static open(host: string, port: number): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const socket = connect({ host, port });
      socket.once('error', reject);
      socket.once('connect', () => {
        socket.off('error', reject);
        resolve(new RawClient(socket));
      });
    });
  }

  /** Opens a connection and establishes a session; throws if the server refuses. */
  static async session(connectString: string, opts: ConnectOptions = {}): Promise<RawClient> {
    const [host, port] = splitHostPort(connectString);
    const client = await RawClient.open(host, port);
    const response = await client.connect(opts);
    if (response === 'closed' || response.timeOut <= 0) {
      client.destroy();
      throw new Error(`raw client: no session from ${connectString}: ${JSON.stringify(response, jsonSafe)}`);
    }
    return client;
  }

  get closed(): boolean {
    return this.closedFlag;
  }

  get sessionId(): bigint {
    if (this.session === undefined) throw new Error('raw client: not connected');
    return this.session.sessionId;
  }

  /** Sends a ConnectRequest; resolves with the ConnectResponse, or 'closed'. */
  async connect(opts: ConnectOptions = {}): Promise<RawConnectResponse | 'closed'> {
    const from = this.received.length;
    this.awaitingConnect = true;
    this.socket.write(Buffer.concat([connectRequestFrame(opts), opts.pipelined ?? Buffer.alloc(0)]));
    const got = await this.waitFor((r) => r.kind === 'connected' || r.kind === 'closed', from);
    if (got.kind !== 'connected') return 'closed';
    this.session = got.response;
    return got.response;
  }

  /**
   * Sends a request (header + body) and resolves with its reply, or 'closed'
   * if the connection closes first. `body` is a record and its value, raw
   * bytes, or nothing.
   */
  request(type: number, body?: Buffer | EncodedBody, xid?: number): Promise<RawReply | 'closed'> {
    const requestXid = xid ?? this.nextXid++;
    const w = new JuteWriter(256);
    const frame = w.beginFrame();
    w.writeInt(requestXid);
    w.writeInt(type);
    if (Buffer.isBuffer(body)) w.writeBytes(body);
    else if (body !== undefined) body.type.encode(w, body.value);
    w.endFrame(frame);
    return this.sendAndAwait(w.take(), requestXid);
  }

  /** Sends bytes as they are (no length prefix added) and waits for the reply with `xid`, or the close. */
  async sendRawAndAwait(bytes: Buffer, xid: number): Promise<RawReply | 'closed'> {
    return this.sendAndAwait(bytes, xid);
  }

  /** Sends bytes as they are, without waiting for anything. */
  sendRaw(bytes: Buffer): void {
    if (!this.closedFlag) this.socket.write(bytes);
  }

  private async sendAndAwait(bytes: Buffer, xid: number): Promise<RawReply | 'closed'> {
    const from = this.received.length;
    this.sendRaw(bytes);
    const got = await this.waitFor((r) => (r.kind === 'reply' && r.reply.xid === xid) || r.kind === 'closed', from);
    return got.kind === 'reply' ? got.reply : 'closed';
  }

  /** Waits until the server closes the connection; false if it is still open after timeoutMs. */
  async waitClosed(timeoutMs = ANSWER_TIMEOUT_MS): Promise<boolean> {
    return (await withTimeout(this.closedPromise.then(() => true), timeoutMs)) === true;
  }

  /** The first received item at or after index `from` that matches, waiting for it. */
  async waitFor(match: (r: Received) => boolean, from = 0, timeoutMs = ANSWER_TIMEOUT_MS): Promise<Received> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.received.slice(from).find(match);
      if (found !== undefined) return found;
      if (this.closedFlag) return { kind: 'closed' };
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new Error(`raw client: nothing matching arrived in ${timeoutMs} ms; received ${JSON.stringify(this.received, jsonSafe)}`);
      }
      await withTimeout(new Promise<void>((resolve) => this.waiters.push(resolve)), left);
    }
  }

  /** Notifications received so far, in order. */
  events(): RawNotification[] {
    return this.received.flatMap((r) => (r.kind === 'event' ? [r.event] : []));
  }

  /** Ends the session with closeSession and waits for the server to close the connection. */
  async close(): Promise<void> {
    if (this.closedFlag) return;
    if (this.session !== undefined && this.session.timeOut > 0) {
      await this.request(OpCode.closeSession);
      await this.waitClosed(5_000);
    }
    this.destroy();
  }

  /**
   * Ends the session even if the server already closed this connection
   * (reconnecting with the session's password to send closeSession), so that
   * no abandoned session expires later, in the middle of another scenario.
   */
  async end(connectString: string): Promise<void> {
    const session = this.session;
    if (!this.closedFlag || session === undefined || session.timeOut <= 0) return this.close();
    const again = await RawClient.open(...splitHostPort(connectString));
    const response = await again.connect({ sessionId: session.sessionId, passwd: session.passwd ?? undefined });
    if (response === 'closed' || response.timeOut <= 0) again.destroy();
    else await again.close();
  }

  /** Drops the TCP connection without ending the session. */
  destroy(): void {
    this.socket.destroy();
  }

  private onFrame(frame: Buffer): void {
    if (this.awaitingConnect) {
      this.awaitingConnect = false;
      this.push({ kind: 'connected', response: decodeConnectResponse(frame) });
      return;
    }
    const r = new JuteReader(frame);
    const header = ReplyHeader.decode(r);
    const body = frame.subarray(r.offset);
    if (header.xid === -1) {
      const event = WatcherEvent.decode(new JuteReader(body));
      this.push({ kind: 'event', event: { type: event.type, state: event.state, path: event.path, zxid: header.zxid } });
    } else {
      this.push({ kind: 'reply', reply: { ...header, body } });
    }
  }

  private push(item: Received): void {
    this.received.push(item);
    for (const wake of this.waiters.splice(0)) wake();
  }
}

export interface EncodedBody {
  // Any record type with the value it encodes.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  type: RecordType<object, any>;
  value: object;
}

/** A request body from a record schema and a value: `body(PathRequest, { path: '/a' })`. */
export function body<In extends object>(type: RecordType<object, In>, value: In): EncodedBody {
  return { type, value };
}

function decodeConnectResponse(frame: Buffer): RawConnectResponse {
  const r = new JuteReader(frame);
  const response = ConnectResponse.decode(r);
  const readOnly = r.remaining >= 1 ? r.readBool() : undefined;
  return { ...response, passwd: response.passwd === null ? null : Buffer.from(response.passwd), readOnly, extra: r.remaining };
}

export function splitHostPort(connectString: string): [string, number] {
  const [host, port] = connectString.split(',')[0]!.split(':');
  return [host!, Number(port)];
}

/** JSON.stringify replacer for bigints and buffers. */
export function jsonSafe(_key: string, value: unknown): unknown {
  if (typeof value === 'bigint') return `${value}n`;
  if (typeof value === 'object' && value !== null && (value as { type?: unknown }).type === 'Buffer') {
    return `<${((value as { data: number[] }).data ?? []).length} bytes>`;
  }
  return value;
}

/** A ConnectRequest as one frame (defaults as in RawClient.connect). */
export function connectRequestFrame(opts: ConnectOptions = {}): Buffer {
  const w = new JuteWriter(64);
  const frame = w.beginFrame();
  ConnectRequest.encode(w, {
    protocolVersion: opts.protocolVersion ?? 0,
    lastZxidSeen: opts.lastZxidSeen ?? 0,
    timeOut: opts.timeoutMs ?? 30_000,
    sessionId: opts.sessionId ?? 0n,
    passwd: opts.passwd ?? Buffer.alloc(16),
  });
  if (opts.readOnly !== null) w.writeBool(opts.readOnly ?? false);
  w.endFrame(frame);
  return w.take();
}

/** A frame: 4-byte big-endian length, then the payload. */
export function frameOf(payload: Buffer): Buffer {
  const out = Buffer.alloc(4 + payload.length);
  out.writeInt32BE(payload.length, 0);
  payload.copy(out, 4);
  return out;
}

/** A request header (xid, type) followed by `rest`. */
export function requestBytes(xid: number, type: number, rest: Buffer = Buffer.alloc(0)): Buffer {
  const head = Buffer.alloc(8);
  head.writeInt32BE(xid, 0);
  head.writeInt32BE(type, 4);
  return Buffer.concat([head, rest]);
}

/** How often probeUntilClosed writes its probe while waiting for the reset. */
const PROBE_INTERVAL_MS = 100;

/**
 * A probe for HalfOpenSocket.probeUntilClosed: the length of an 8 KB frame, and then, written
 * again and again, more of that frame's body. A server that reads the probes waits for the rest
 * of the frame (the probes never complete it) and has no reason to close the connection.
 */
export const HALF_OPEN_PROBE = Buffer.from([0, 0, 0x20, 0]);

/**
 * A connection that keeps its own half open after the server ends its half, as kazoo's sockets
 * do, for telling a server that closes its socket outright from one that only ends its half.
 */
export class HalfOpenSocket {
  private readonly chunks: Buffer[] = [];
  private readonly ended: Promise<true>;
  private readonly closed: Promise<true>;
  private readonly waiters: Array<() => void> = [];

  private constructor(private readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.chunks.push(chunk);
      for (const wake of this.waiters.splice(0)) wake();
    });
    socket.on('error', () => {}); // the reset that answers a probe
    this.ended = new Promise((resolve) => socket.once('end', () => resolve(true)));
    this.closed = new Promise((resolve) => socket.once('close', () => resolve(true)));
  }

  static open(host: string, port: number): Promise<HalfOpenSocket> {
    return new Promise((resolve, reject) => {
      const socket = connect({ host, port, allowHalfOpen: true });
      socket.once('error', reject);
      socket.once('connect', () => {
        socket.off('error', reject);
        resolve(new HalfOpenSocket(socket));
      });
    });
  }

  write(bytes: Buffer): void {
    this.socket.write(bytes);
  }

  /** Everything received so far. */
  get received(): Buffer {
    return Buffer.concat(this.chunks);
  }

  /** Waits until at least `count` bytes have arrived; false if they did not within timeoutMs. */
  async waitForBytes(count: number, timeoutMs = ANSWER_TIMEOUT_MS): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (this.received.length < count) {
      const left = deadline - Date.now();
      if (left <= 0) return false;
      await withTimeout(new Promise<void>((resolve) => this.waiters.push(resolve)), left);
    }
    return true;
  }

  /** Waits until the server ends its half; false if it did not within timeoutMs. */
  async waitEnded(timeoutMs = ANSWER_TIMEOUT_MS): Promise<boolean> {
    return (await withTimeout(this.ended, timeoutMs)) === true;
  }

  /**
   * Writes `probe` until the connection closes; false if it is still open after timeoutMs. A
   * server that closed its socket outright answers the first probe with a reset, and the next
   * write fails and closes the connection; a server that only ended its own half reads the probes
   * and leaves the connection (and a socket of its own) open. The probe must be one the server
   * would not close the connection over by itself, such as HALF_OPEN_PROBE.
   */
  async probeUntilClosed(probe: Buffer, timeoutMs = ANSWER_TIMEOUT_MS): Promise<boolean> {
    for (const deadline = Date.now() + timeoutMs; Date.now() < deadline; ) {
      this.socket.write(probe);
      if ((await withTimeout(this.closed, PROBE_INTERVAL_MS)) === true) return true;
    }
    return false;
  }

  destroy(): void {
    this.socket.destroy();
  }
}
