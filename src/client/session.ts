/**
 * Session: the client's state machine (ZooKeeper's ClientCnxn). It owns the
 * session id and password, the last zxid seen, the authentication data and
 * the watches, and keeps them across connections:
 *
 *   idle → connecting ⇄ connected | connectedReadOnly
 *                ↘ expired | authFailed | closed   (terminal)
 *
 * Order: requests are written in the order they were submitted; the server
 * answers a session's requests in that order, so each reply must belong to
 * the oldest request in flight (a FIFO; a mismatch is a protocol error).
 * Requests submitted while no connection is up wait in the outgoing queue and
 * go out, in order, after the next handshake, behind the re-sent auth packets
 * and the setWatches2 batches that re-arm the watches. Requests in flight when
 * a connection is lost fail with ConnectionLoss: whether the server applied
 * them is unknown.
 *
 * Reconnects: a lost connection is followed by an attempt on the next server
 * (HostRotation decides the back-off), presenting the session id, password
 * and last zxid seen. A server that is behind that zxid refuses the
 * connection, so the client never goes back in time; one that no longer
 * knows the session answers with timeout 0, and the session is Expired.
 */
import { JuteError, JuteReader } from '../jute/mod.js';
import { EventType, KeeperState, OpCode, PROTOCOL_VERSION, SESSION_PASSWORD_BYTES, Xid } from '../protocol/constants.js';
import { ErrorCode, KeeperError } from '../protocol/errors.js';
import {
  AuthPacket,
  ConnectRequest,
  ConnectResponse,
  ReplyHeader,
  RequestHeader,
  SetWatches2,
  WatcherEvent,
} from '../protocol/records.js';
import { Chroot, type ServerAddress } from './connect-string.js';
import { Connection, type ConnectionHandler } from './connection.js';
import { connectionLoss } from './errors.js';
import { Fifo } from './fifo.js';
import { HostRotation, type BackoffPolicy } from './host-rotation.js';
import { ignore, Packet, type Request, type WatchRequest } from './packet.js';
import { setWatchesBatches } from './set-watches.js';
import type { EventTypeValue, KeeperStateValue, WatchCallback, WatchEvent } from './types.js';
import { WatchRegistry, type WatchKind, type WatchSnapshot } from './watch-registry.js';
import { isReadWriteServer } from './rw-probe.js';
import { nextXid } from './xid.js';

export type ClientState = 'idle' | 'connecting' | 'connected' | 'connectedReadOnly' | 'expired' | 'authFailed' | 'closed';

export interface SessionConfig {
  servers: readonly ServerAddress[];
  chroot: Chroot;
  sessionTimeoutMs: number;
  /** Per attempt, TCP connect plus handshake; undefined: the session timeout divided by the number of servers. */
  connectTimeoutMs: number | undefined;
  readOnly: boolean;
  shuffleServers: boolean;
  backoff: BackoffPolicy;
  maxPacketBytes: number;
  /** Resume this session instead of creating one. */
  resume: { sessionId: bigint; password: Uint8Array } | undefined;
}

export interface StateChange {
  state: ClientState;
  /** For the connected states. */
  sessionId?: bigint;
  /** For the connected states: the timeout the server granted. */
  sessionTimeoutMs?: number;
  /** host:port, for the connected states. */
  server?: string;
  /** For the connected states: the server created a new session (not a re-established one). */
  newSession?: boolean;
  /** Why the connection or session ended, for disconnected and the terminal states. */
  reason?: string;
}

export interface SessionObserver {
  onStateChange(change: StateChange): void;
}

interface AuthEntry {
  scheme: string;
  auth: Buffer;
  /** addAuth calls waiting for the server's answer to this identity. */
  waiters: { resolve: () => void; reject: (error: unknown) => void }[];
}

const ZERO_PASSWORD = Buffer.alloc(SESSION_PASSWORD_BYTES);
const MAX_CLOSE_WAIT_MS = 10_000;
/** While read-only, other servers are asked whether they serve writes, first after this long, then ever less often (ClientCnxn). */
const FIRST_RW_PROBE_MS = 100;
const MAX_RW_PROBE_INTERVAL_MS = 60_000;
const RW_PROBE_TIMEOUT_MS = 1_000;

export class Session implements ConnectionHandler {
  state: ClientState = 'idle';
  sessionId = 0n;
  password: Buffer = ZERO_PASSWORD;
  negotiatedTimeoutMs = 0;
  /** The highest zxid in a reply so far: sent on reconnect, and the base for re-armed watches. */
  lastZxid = 0;
  readonly watches = new WatchRegistry();

  private conn: Connection | null = null;
  private readonly hosts: HostRotation;
  private readonly outgoing = new Fifo<Request>();
  private readonly inFlight = new Fifo<Request>();
  private readonly auths: AuthEntry[] = [];
  private readonly authInFlight = new Fifo<AuthEntry>();
  private xid = 0;
  /**
   * A session created by a read-only server is local to it; as in the Java
   * client, it is presented again only once a read-write server has been seen.
   */
  private seenReadWriteServer = false;
  private reconnectTimer: NodeJS.Timeout | null = null;
  private rwProbeTimer: NodeJS.Timeout | null = null;
  private closing: Promise<void> | null = null;

  constructor(
    private readonly config: SessionConfig,
    private readonly observer: SessionObserver,
  ) {
    this.hosts = new HostRotation(config.servers, config.shuffleServers, config.backoff);
    if (config.resume !== undefined) {
      this.sessionId = config.resume.sessionId;
      this.password = Buffer.from(config.resume.password);
      this.seenReadWriteServer = true;
    }
  }

  get isConnected(): boolean {
    return this.state === 'connected' || this.state === 'connectedReadOnly';
  }

  get isTerminal(): boolean {
    return this.state === 'expired' || this.state === 'authFailed' || this.state === 'closed';
  }

  /** host:port of the server the session is connected to, if any. */
  get server(): string | null {
    return this.conn !== null && this.conn.established ? this.conn.address : null;
  }

  start(): void {
    if (this.state !== 'idle') return;
    this.setState({ state: 'connecting' });
    this.connectNext();
  }

  /** Sends a request, or queues it until the session is connected. */
  submit(packet: Request): void {
    if (packet.settled) return;
    if (this.isTerminal || (this.closing !== null && !packet.allowedWhileClosing)) {
      packet.fail(this.endedError(packet.path));
    } else if (this.isConnected) {
      this.send(this.conn!, packet);
    } else {
      this.outgoing.push(packet);
    }
  }

  /**
   * Adds an identity for this session (sent again on every reconnect);
   * resolves when the server accepted it. A server that rejects it answers
   * AuthFailed and closes the connection: the session is then unusable.
   */
  addAuth(scheme: string, auth: Buffer): Promise<void> {
    if (this.isTerminal || this.closing !== null) return Promise.reject(this.endedError(undefined));
    let entry = this.auths.find((a) => a.scheme === scheme && a.auth.equals(auth));
    if (entry === undefined) {
      entry = { scheme, auth, waiters: [] };
      this.auths.push(entry);
    }
    const target = entry;
    return new Promise<void>((resolve, reject) => {
      target.waiters.push({ resolve, reject });
      if (this.isConnected) this.sendAuth(this.conn!, target);
    });
  }

  /**
   * Re-arms this client's watches on one path, except those of the given
   * kinds (after a removeWatches of type Any took them all off the server).
   */
  rearm(path: string, except: readonly WatchKind[]): void {
    const local = this.watches.snapshotOf(path);
    for (const kind of except) local[kind] = [];
    const snapshot = this.serverPaths(local);
    for (const batch of setWatchesBatches(this.lastZxid, snapshot)) this.submit(setWatchesPacket(batch));
  }

  /**
   * Ends the session: sends closeSession and waits (at most `timeoutMs`) for
   * the answer, after any request submitted before, then closes the
   * connection. Requests submitted from now on fail with SessionExpired.
   */
  close(timeoutMs?: number): Promise<void> {
    if (this.closing !== null) return this.closing;
    if (this.isTerminal) return Promise.resolve();
    const hasSession = this.sessionId !== 0n && this.state !== 'idle';
    const wait = timeoutMs ?? Math.min(((this.negotiatedTimeoutMs || this.config.sessionTimeoutMs) * 2) / 3, MAX_CLOSE_WAIT_MS);
    this.closing = (async () => {
      if (hasSession) {
        await new Promise<void>((settle) => {
          const packet = new Packet<void>(OpCode.closeSession, null, ignore, undefined, settle, () => settle());
          packet.allowedWhileClosing = true;
          packet.watchDeadline(undefined, wait);
          this.submit(packet);
        });
      }
      this.finish('closed', 'closed by the client');
    })();
    return this.closing;
  }

  // ---- connections ----

  private connectNext(): void {
    const timeoutMs = this.negotiatedTimeoutMs || this.config.sessionTimeoutMs;
    const { server, delayMs } = this.hosts.next(timeoutMs / 3);
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      if (this.isTerminal) return;
      const connectTimeoutMs = this.config.connectTimeoutMs ?? timeoutMs / this.config.servers.length;
      this.conn = new Connection(server, this.config.maxPacketBytes, connectTimeoutMs, this);
    }, delayMs);
  }

  onOpen(conn: Connection): void {
    if (conn !== this.conn) return;
    const resume = this.seenReadWriteServer;
    const start = conn.beginFrame();
    ConnectRequest.encode(conn.writer, {
      protocolVersion: PROTOCOL_VERSION,
      lastZxidSeen: this.lastZxid,
      timeOut: this.config.sessionTimeoutMs,
      sessionId: resume ? this.sessionId : 0n,
      passwd: resume ? this.password : ZERO_PASSWORD,
    });
    conn.writer.writeBool(this.config.readOnly);
    conn.endFrame(start);
  }

  onFrame(conn: Connection, frame: Buffer): void {
    if (conn !== this.conn) return;
    try {
      if (conn.established) this.onReply(conn, frame);
      else this.onConnectResponse(conn, frame);
    } catch (error) {
      if (!(error instanceof JuteError)) throw error;
      conn.close(`malformed packet from the server: ${error.message}`);
    }
  }

  onClose(conn: Connection, reason: string): void {
    if (conn !== this.conn) return;
    this.conn = null;
    const wasConnected = this.isConnected;
    for (const packet of this.inFlight.takeAll()) packet.fail(connectionLoss(packet.path, reason));
    // Identities still unanswered are sent again on the next connection; their callers keep waiting.
    this.authInFlight.takeAll();
    if (this.isTerminal) return;
    if (wasConnected) {
      this.setState({ state: 'connecting', reason });
      this.deliver(this.watches.persistentCallbacks(), stateEvent(KeeperState.Disconnected));
    }
    this.connectNext();
  }

  private onConnectResponse(conn: Connection, frame: Buffer): void {
    const reader = new JuteReader(frame);
    const response = ConnectResponse.decode(reader);
    // Servers answer an old client (no readOnly byte in its request) without one too.
    const readOnly = reader.remaining >= 1 ? reader.readBool() : false;
    if (response.timeOut <= 0) {
      this.finish('expired', `session 0x${this.sessionId.toString(16)} has expired`);
      return;
    }
    const newSession = response.sessionId !== this.sessionId;
    this.sessionId = response.sessionId;
    // A copy: the reply is a view of a socket chunk.
    this.password = Buffer.from(response.passwd ?? ZERO_PASSWORD);
    this.negotiatedTimeoutMs = response.timeOut;
    if (!readOnly) this.seenReadWriteServer = true;
    conn.established = true;
    conn.startHeartbeat(response.timeOut);
    this.hosts.connected();
    // Identities first, so that the re-armed watches and the queued requests run as the right user.
    for (const entry of this.auths) this.sendAuth(conn, entry);
    const snapshot = this.serverPaths(this.watches.snapshot());
    for (const batch of setWatchesBatches(this.lastZxid, snapshot)) this.send(conn, setWatchesPacket(batch));
    this.setState({
      state: readOnly ? 'connectedReadOnly' : 'connected',
      sessionId: response.sessionId,
      sessionTimeoutMs: response.timeOut,
      server: conn.address,
      newSession,
    });
    this.deliver(this.watches.persistentCallbacks(), stateEvent(readOnly ? KeeperState.ConnectedReadOnly : KeeperState.SyncConnected));
    for (let packet = this.outgoing.shift(); packet !== undefined; packet = this.outgoing.shift()) {
      if (!packet.settled) this.send(conn, packet);
    }
    if (readOnly) this.scheduleReadWriteProbe(conn, FIRST_RW_PROBE_MS);
  }

  /**
   * While connected to a read-only server, asks the other servers in turn
   * whether they serve writes; on finding one, moves the session there (a
   * read-only server's session is local to it, so that is a new session).
   */
  private scheduleReadWriteProbe(conn: Connection, delayMs: number): void {
    this.rwProbeTimer = setTimeout(() => void this.probeForReadWrite(conn, delayMs), delayMs);
    this.rwProbeTimer.unref();
  }

  private async probeForReadWrite(conn: Connection, delayMs: number): Promise<void> {
    this.rwProbeTimer = null;
    const candidate = conn === this.conn && this.state === 'connectedReadOnly' ? this.hosts.other(conn.server) : null;
    if (candidate === null) return;
    const readWrite = await isReadWriteServer(candidate, RW_PROBE_TIMEOUT_MS);
    if (conn !== this.conn || this.state !== 'connectedReadOnly') return;
    if (readWrite) {
      this.hosts.prefer(candidate);
      conn.close(`${candidate.host}:${candidate.port} serves writes`);
    } else {
      this.scheduleReadWriteProbe(conn, Math.min(delayMs * 2, MAX_RW_PROBE_INTERVAL_MS));
    }
  }

  // ---- sending ----

  private send(conn: Connection, packet: Request): void {
    const xid = packet.fixedXid !== 0 ? packet.fixedXid : (this.xid = nextXid(this.xid));
    const w = conn.writer;
    const start = conn.beginFrame();
    try {
      RequestHeader.encode(w, { xid, type: packet.opcode });
      if (packet.encodeBody !== null) packet.encodeBody(w);
    } catch (error) {
      conn.abandonFrame(start);
      packet.fail(new KeeperError(ErrorCode.MarshallingError, packet.path, `cannot encode the request: ${(error as Error).message}`));
      return;
    }
    conn.endFrame(start);
    packet.xid = xid;
    this.inFlight.push(packet);
  }

  private sendAuth(conn: Connection, entry: AuthEntry): void {
    const start = conn.beginFrame();
    RequestHeader.encode(conn.writer, { xid: Xid.auth, type: OpCode.auth });
    AuthPacket.encode(conn.writer, { type: 0, scheme: entry.scheme, auth: entry.auth });
    conn.endFrame(start);
    this.authInFlight.push(entry);
  }

  // ---- receiving ----

  private onReply(conn: Connection, frame: Buffer): void {
    const reader = new JuteReader(frame);
    const header = ReplyHeader.decode(reader);
    switch (header.xid) {
      case Xid.ping:
        return;
      case Xid.notification:
        this.onNotification(reader);
        return;
      case Xid.auth:
        // The server answers auth packets as they arrive, not in request order.
        this.onAuthReply(header.err);
        return;
    }
    const packet = this.inFlight.shift();
    if (packet === undefined || packet.xid !== header.xid) {
      packet?.fail(connectionLoss(packet.path, 'reply out of order'));
      conn.close(`reply with xid ${header.xid} while expecting ${packet === undefined ? 'none' : packet.xid}`);
      return;
    }
    if (header.zxid > this.lastZxid) this.lastZxid = header.zxid;
    this.complete(conn, packet, header.err, reader);
  }

  private complete(conn: Connection, packet: Request, err: number, reader: JuteReader): void {
    if (packet.settled) return;
    if (err !== ErrorCode.Ok && err !== packet.toleratedError) {
      packet.fail(new KeeperError(err, packet.path));
      return;
    }
    try {
      packet.read(reader, err);
    } catch (error) {
      if (!(error instanceof JuteError)) {
        packet.fail(error);
        return;
      }
      packet.fail(new KeeperError(ErrorCode.MarshallingError, packet.path, `malformed reply: ${error.message}`));
      conn.close(`malformed reply: ${error.message}`);
      return;
    }
    if (packet.watch !== null) this.registerWatch(packet.watch, err);
    packet.resolve();
  }

  private registerWatch(watch: WatchRequest, err: number): void {
    const kind = watch.kind === 'exists' ? (err === ErrorCode.Ok ? 'data' : 'exist') : watch.kind;
    this.watches.add(kind, watch.path, watch.callback);
  }

  private onNotification(reader: JuteReader): void {
    const event = WatcherEvent.decode(reader);
    const path = this.config.chroot.fromServer(event.path);
    if (path === null) return;
    const type = event.type as EventTypeValue;
    const callbacks = this.watches.triggered(type, path);
    if (callbacks.size > 0) this.deliver(callbacks, { type, state: event.state as KeeperStateValue, path });
  }

  private onAuthReply(err: number): void {
    const entry = this.authInFlight.shift();
    if (err === ErrorCode.AuthFailed) {
      this.finish('authFailed', `authentication failed${entry === undefined ? '' : ` for scheme ${entry.scheme}`}`);
      return;
    }
    if (entry === undefined) return;
    const waiters = entry.waiters.splice(0);
    for (const waiter of waiters) {
      if (err === ErrorCode.Ok) waiter.resolve();
      else waiter.reject(new KeeperError(err, undefined, `auth with scheme ${entry.scheme}`));
    }
  }

  // ---- the end ----

  /** Enters a terminal state: everything pending fails, every watcher hears the final state. */
  private finish(state: 'expired' | 'authFailed' | 'closed', reason: string): void {
    if (this.isTerminal) return;
    this.state = state;
    if (this.reconnectTimer !== null) clearTimeout(this.reconnectTimer);
    if (this.rwProbeTimer !== null) clearTimeout(this.rwProbeTimer);
    const conn = this.conn;
    this.conn = null;
    conn?.close(reason);
    for (const packet of this.inFlight.takeAll()) packet.fail(this.endedError(packet.path));
    for (const packet of this.outgoing.takeAll()) packet.fail(this.endedError(packet.path));
    this.authInFlight.takeAll();
    for (const entry of this.auths) {
      for (const waiter of entry.waiters.splice(0)) waiter.reject(this.endedError(undefined));
    }
    const keeperState =
      state === 'expired' ? KeeperState.Expired : state === 'authFailed' ? KeeperState.AuthFailed : KeeperState.Closed;
    this.deliver(this.watches.clear(), stateEvent(keeperState));
    this.setState({ state, reason });
  }

  /** Why a request cannot be served any more (as the Java client: SessionExpired once closed). */
  private endedError(path: string | undefined): KeeperError {
    switch (this.state) {
      case 'authFailed':
        return new KeeperError(ErrorCode.AuthFailed, path);
      case 'expired':
        return new KeeperError(ErrorCode.SessionExpired, path);
      default:
        return new KeeperError(ErrorCode.SessionExpired, path, 'the client is closed');
    }
  }

  // ---- delivery ----

  private setState(change: StateChange): void {
    this.state = change.state;
    queueMicrotask(() => this.observer.onStateChange(change));
  }

  /**
   * Calls watch callbacks in a microtask, so that they run in stream order
   * with the continuations of the replies resolved before them. A callback
   * that throws does not stop the others; its error is rethrown on its own.
   */
  deliver(callbacks: Iterable<WatchCallback>, event: WatchEvent): void {
    const targets = [...callbacks];
    if (targets.length === 0) return;
    queueMicrotask(() => {
      for (const callback of targets) {
        try {
          callback(event);
        } catch (error) {
          queueMicrotask(() => {
            throw error;
          });
        }
      }
    });
  }

  private serverPaths(snapshot: WatchSnapshot): WatchSnapshot {
    const chroot = this.config.chroot;
    const map = (paths: string[]): string[] => paths.map((path) => chroot.toServer(path));
    return {
      data: map(snapshot.data),
      exist: map(snapshot.exist),
      child: map(snapshot.child),
      persistent: map(snapshot.persistent),
      persistentRecursive: map(snapshot.persistentRecursive),
    };
  }
}

function setWatchesPacket(batch: SetWatches2): Request {
  return new Packet<void>(OpCode.setWatches2, (w) => SetWatches2.encode(w, batch), ignore, undefined, ignore, ignore, Xid.setWatches);
}

function stateEvent(state: KeeperStateValue): WatchEvent {
  return { type: EventType.None, state, path: '' };
}
