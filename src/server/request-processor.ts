/**
 * RequestProcessor: what the server does with each client packet.
 *
 *   decode → writes: prepared by the leader (here, or forwarded to it) → replicated → committed → applied → answered
 *          → reads and session-local ops: run when they reach the head of
 *            their connection's queue, i.e. after the same client's earlier
 *            writes have been applied (ZooKeeper's FIFO client order)
 *
 * Every committed transaction is applied in zxid order; its watch
 * notifications are written before any later response, so a client always
 * sees the event before the result of a read that observes the change.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { JuteError, JuteReader } from '../jute/mod.js';
import {
  EventType,
  OpCode,
  Perms,
  PROTOCOL_VERSION,
  SESSION_PASSWORD_BYTES,
  WatcherType,
  Xid,
  opName,
} from '../protocol/constants.js';
import { ErrorCode, KeeperError } from '../protocol/errors.js';
import { encodeMultiResponse, type MultiOp } from '../protocol/multi.js';
import {
  AuthPacket,
  ConnectRequest,
  ConnectResponse,
  Create2Response,
  CreateResponse,
  ErrorResponse,
  GetACLResponse,
  GetAllChildrenNumberResponse,
  GetChildren2Response,
  GetChildrenResponse,
  GetDataResponse,
  GetEphemeralsResponse,
  SaslToken,
  StatResponse,
  SyncResponse,
  WhoAmIResponse,
  type ClientInfo,
  type Stat,
} from '../protocol/records.js';
import { decodeRequest, isKnownClientOpcode, isWriteRequest, type Request } from '../protocol/requests.js';
import type { Txn } from '../protocol/txn.js';
import {
  SUPER_ID,
  aclPermits,
  digestOf,
  maskDigests,
  orderLikeZooKeeperAuthSet,
  type ProviderSchemes,
} from '../tree/acl.js';
import { ROOT_NODE, type NodeData } from '../tree/data-tree.js';
import type { TxnResult, ZkDatabase } from '../tree/database.js';
import { WatchMode } from '../tree/watches.js';
import type { ServerConfig } from './config.js';
import { ClientConnection, type ConnectionHost, type Outstanding } from './connection.js';
import type { Logger } from './logger.js';
import type { RequestContext, RequestPreparer } from './prep.js';
import type { Replication } from './replication.js';
import { ReadOnlySessions } from './read-only-sessions.js';
import { DigestMd5Server, SaslError, loadSaslUsers, type SaslStep } from './sasl.js';
import type { SessionTracker } from './session-tracker.js';
import type { ServerStats } from './stats.js';

export interface ProcessorDeps {
  config: ServerConfig;
  db: ZkDatabase;
  /** Told of every applied transaction (the leader's pending changes end there). */
  prep: RequestPreparer;
  /** Forgets sessions as their close is applied. */
  tracker: SessionTracker;
  replication: Replication;
  /** Whether clients may connect now: serving, and not a leader told not to (leaderServes=no). */
  servesClients: () => boolean;
  stats: ServerStats;
  logger: Logger;
  /** Milliseconds on a monotonic clock (session deadlines, latencies). */
  monotonicNow: () => number;
  /** Handles a four-letter word if `word` is one; returns false otherwise. */
  fourLetterWord: (conn: ClientConnection, word: string, argument: Buffer) => boolean;
  serverId: number;
}

const ZERO_PASSWORD = Buffer.alloc(SESSION_PASSWORD_BYTES);

/**
 * Write opcodes whose txn header (and zxid) PrepRequestProcessor creates
 * before it decodes the body; reconfig decodes first, so a malformed one
 * takes no zxid.
 */
const TXN_EVEN_IF_MALFORMED = new Set<number>([
  OpCode.create,
  OpCode.create2,
  OpCode.createContainer,
  OpCode.createTTL,
  OpCode.delete,
  OpCode.setData,
  OpCode.setACL,
  OpCode.multi,
]);

/** What a read-only server answers NotReadOnly without looking further (ReadOnlyRequestProcessor). */
const REFUSED_WHEN_READ_ONLY = new Set<number>([
  OpCode.sync,
  OpCode.create,
  OpCode.create2,
  OpCode.createTTL,
  OpCode.createContainer,
  OpCode.delete,
  OpCode.deleteContainer,
  OpCode.setData,
  OpCode.reconfig,
  OpCode.setACL,
  OpCode.multi,
  OpCode.check,
]);

const CLOSED_SESSION: TxnResult = { type: OpCode.closeSession, err: ErrorCode.Ok, path: '', stat: null, multi: null };

export class RequestProcessor implements ConnectionHost {
  readonly connections = new Set<ClientConnection>();
  private readonly bySession = new Map<bigint, ClientConnection>();
  private outstandingTotal = 0;
  private throttled = false;
  private nextSessionId: bigint;
  /** Cut off from the quorum with readonlymode.enabled: read-only clients get local sessions and reads. */
  private readOnlyMode = false;
  private readonly readOnlySessions = new ReadOnlySessions();

  /** SASL DIGEST-MD5 users from the JAAS file; undefined when SASL is not configured. */
  private readonly saslUsers: ReadonlyMap<string, string> | undefined;
  /** Each connection's SASL exchange, from its first SASL packet on. */
  private readonly saslExchanges = new WeakMap<ClientConnection, DigestMd5Server>();

  constructor(private readonly deps: ProcessorDeps) {
    this.nextSessionId = initialSessionId(deps.serverId, Date.now());
    const { config, logger } = deps;
    this.saslUsers = loadSaslUsers(config.jaasConfigFile, config.saslServerSection, (message) => logger.warn(message));
  }

  get maxFrameBytes(): number {
    return this.deps.config.juteMaxBuffer;
  }

  get skipACL(): boolean {
    return this.deps.config.skipACL;
  }

  get providerAclSchemes(): ProviderSchemes {
    return this.deps.config.providerAclSchemes;
  }

  get readOnly(): boolean {
    return this.readOnlyMode;
  }

  /** Sessions local to this server: those of read-only mode. */
  get readOnlySessionCount(): number {
    return this.readOnlySessions.size;
  }

  get outstandingRequests(): number {
    return this.outstandingTotal;
  }

  connectionOf(sessionId: bigint): ClientConnection | undefined {
    return this.bySession.get(sessionId);
  }

  addConnection(conn: ClientConnection): void {
    this.connections.add(conn);
  }

  // ---- connection events ----

  onFirstBytes(conn: ClientConnection, firstBytes: Buffer): boolean {
    // stmk takes an 8-byte argument after the word.
    return this.deps.fourLetterWord(conn, firstBytes.subarray(0, 4).toString('latin1'), firstBytes.subarray(4));
  }

  onProtocolError(conn: ClientConnection, reason: string): void {
    this.deps.logger.warn(`closing connection from ${conn.remoteAddress}:${conn.remotePort}: ${reason}`);
    conn.close();
  }

  onClosed(conn: ClientConnection): void {
    if (!this.connections.delete(conn)) return;
    this.deps.db.tree.removeWatcher(conn);
    if (this.bySession.get(conn.sessionId) === conn) this.bySession.delete(conn.sessionId);
    this.outstandingTotal -= conn.outstandingCount;
    this.updateThrottle();
  }

  // ---- the handshake ----

  onConnectFrame(conn: ClientConnection, frame: Buffer): void {
    let request: ConnectRequest;
    let readOnly: boolean | undefined;
    try {
      const r = new JuteReader(frame);
      request = ConnectRequest.decode(r);
      if (r.remaining >= 1) readOnly = r.readBool();
    } catch (e) {
      if (!(e instanceof JuteError)) throw e;
      this.onProtocolError(conn, `malformed connect request: ${e.message}`);
      return;
    }
    conn.oldClient = readOnly === undefined;
    const { logger } = this.deps;
    if (this.readOnlyMode) {
      this.connectReadOnly(conn, request, readOnly === true);
      return;
    }
    if (!this.deps.servesClients()) {
      // No quorum, still syncing, or a leader that leaves clients to its followers:
      // ZooKeeper drops the connection and the client tries another server.
      logger.debug(`refusing client ${conn.remoteAddress}:${conn.remotePort}: not serving`);
      conn.close();
      return;
    }
    if (this.refusedForLastZxid(conn, request)) return;
    conn.sessionTimeoutMs = this.negotiatedTimeoutMs(request);
    if (request.sessionId === 0n) this.createSession(conn);
    else this.reopenSession(conn, request);
  }

  /** The session timeout a client asks for, held to [minSessionTimeout, maxSessionTimeout]. */
  private negotiatedTimeoutMs(request: ConnectRequest): number {
    const { minSessionTimeoutMs, maxSessionTimeoutMs } = this.deps.config;
    return Math.min(Math.max(request.timeOut, minSessionTimeoutMs), maxSessionTimeoutMs);
  }

  /** A client that has seen a later zxid than this server's must not go back in time here. */
  private refusedForLastZxid(conn: ClientConnection, request: ConnectRequest): boolean {
    const { db, logger } = this.deps;
    if (request.lastZxidSeen <= db.lastZxid) return false;
    logger.info(
      `refusing session request for client ${conn.remoteAddress}:${conn.remotePort} as it has seen zxid ` +
        `0x${hex(request.lastZxidSeen)} and our last zxid is 0x${hex(db.lastZxid)}; the client must try another server`,
    );
    conn.close();
    return true;
  }

  private newSessionId(): bigint {
    let sessionId = this.nextSessionId++;
    // Ids come from the clock; after a restart with the clock set back one could repeat.
    while (this.deps.db.sessions.has(sessionId) || this.readOnlySessions.has(sessionId)) sessionId = this.nextSessionId++;
    return sessionId;
  }

  private createSession(conn: ClientConnection): void {
    const sessionId = this.newSessionId();
    const password = randomBytes(SESSION_PASSWORD_BYTES);
    conn.sessionId = sessionId;
    this.bySession.set(sessionId, conn);
    this.deps.replication.createSession(sessionId, conn.sessionTimeoutMs, password);
  }

  private reopenSession(conn: ClientConnection, request: ConnectRequest): void {
    const session = this.deps.db.sessions.get(request.sessionId);
    if (session === undefined || !passwordMatches(request, session.password) || !this.deps.replication.sessionAlive(session.id)) {
      this.refuseExpiredSession(conn, request);
      return;
    }
    this.attachSession(conn, session.id, session.password);
  }

  private refuseExpiredSession(conn: ClientConnection, request: ConnectRequest): void {
    this.deps.logger.info(`invalid session 0x${request.sessionId.toString(16)} for client ${conn.remoteAddress}, probably expired`);
    this.sendConnectResponse(conn, 0, 0n, ZERO_PASSWORD);
    conn.closeAfterReplies();
  }

  /** The session moves to this connection; one it had before is closed. */
  private attachSession(conn: ClientConnection, sessionId: bigint, password: Buffer): void {
    const previous = this.bySession.get(sessionId);
    if (previous !== undefined && previous !== conn) previous.close();
    conn.sessionId = sessionId;
    this.bySession.set(sessionId, conn);
    this.sendConnectResponse(conn, conn.sessionTimeoutMs, sessionId, password);
  }

  /**
   * The handshake of a read-only server (ReadOnlyZooKeeperServer): only clients that accept
   * one are served; a new session is local to this server, and a session of the quorum cannot
   * be resumed here (its changes could not be made durable).
   */
  private connectReadOnly(conn: ClientConnection, request: ConnectRequest, clientAcceptsReadOnly: boolean): void {
    const { logger, monotonicNow } = this.deps;
    const client = `${conn.remoteAddress}:${conn.remotePort}`;
    if (!clientAcceptsReadOnly) {
      logger.info(`refusing session request for not-read-only client ${client}: this server is read-only`);
      conn.close();
      return;
    }
    if (this.refusedForLastZxid(conn, request)) return;
    conn.sessionTimeoutMs = this.negotiatedTimeoutMs(request);
    if (request.sessionId === 0n) {
      const sessionId = this.newSessionId();
      const password = randomBytes(SESSION_PASSWORD_BYTES);
      this.readOnlySessions.add(sessionId, password, conn.sessionTimeoutMs, monotonicNow());
      logger.info(`read-only session 0x${sessionId.toString(16)} for client ${client}`);
      this.attachSession(conn, sessionId, password);
      return;
    }
    if (this.deps.db.sessions.has(request.sessionId)) {
      logger.info(`refusing global session reconnection in read-only mode from ${client}`);
      conn.close();
      return;
    }
    const session = this.readOnlySessions.get(request.sessionId);
    if (session === undefined || !passwordMatches(request, session.password)) {
      this.refuseExpiredSession(conn, request);
      return;
    }
    this.readOnlySessions.touch(session.id, monotonicNow());
    this.attachSession(conn, session.id, session.password);
  }

  private sendConnectResponse(conn: ClientConnection, timeOut: number, sessionId: bigint, passwd: Buffer): void {
    const w = conn.output();
    const frame = w.beginFrame();
    ConnectResponse.encode(w, { protocolVersion: PROTOCOL_VERSION, timeOut, sessionId, passwd });
    if (!conn.oldClient) w.writeBool(this.readOnlyMode);
    w.endFrame(frame);
    conn.stats.packetsSent++;
    if (timeOut > 0) conn.sessionEstablished();
  }

  // ---- requests ----

  onRequestFrame(conn: ClientConnection, frame: Buffer): void {
    const { stats, replication, monotonicNow } = this.deps;
    stats.packetsReceived++;
    if (frame.length < 8) {
      this.onProtocolError(conn, `request of ${frame.length} bytes is shorter than its header`);
      return;
    }
    const { xid, type, reader } = ClientConnection.readHeader(frame);
    const now = monotonicNow();
    if (this.readOnlyMode) this.readOnlySessions.touch(conn.sessionId, now);
    else replication.touchSession(conn.sessionId);
    if (type === OpCode.auth) return this.authenticate(conn, xid, reader);
    if (type === OpCode.sasl) return this.saslStep(conn, xid, reader);
    const entry = this.makeEntry(conn, xid, type, reader, frame.subarray(8), now);
    conn.enqueue(entry);
    this.outstandingTotal++;
    this.updateThrottle();
    this.drain(conn);
  }

  private makeEntry(conn: ClientConnection, xid: number, type: number, reader: JuteReader, body: Buffer, now: number): Outstanding {
    if (!isKnownClientOpcode(type)) {
      this.deps.logger.debug(`unknown opcode ${type} from session 0x${conn.sessionId.toString(16)}`);
      return outstanding(xid, type, now, 'local', null, ErrorCode.Unimplemented);
    }
    if (this.readOnlyMode && REFUSED_WHEN_READ_ONLY.has(type)) return outstanding(xid, type, now, 'local', null, ErrorCode.NotReadOnly);
    if (this.readOnlyMode && type === OpCode.closeSession) {
      // Every session of a read-only server is its own: closing one takes no transaction.
      this.readOnlySessions.remove(conn.sessionId);
      return outstanding(xid, type, now, 'write', null, ErrorCode.Ok, CLOSED_SESSION);
    }
    let request: Request;
    try {
      request = decodeRequest(type, reader);
    } catch (e) {
      if (!(e instanceof JuteError)) throw e;
      this.deps.logger.info(`malformed ${opName(type)} request from session 0x${conn.sessionId.toString(16)}: ${e.message}`);
      if (!TXN_EVEN_IF_MALFORMED.has(type)) return outstanding(xid, type, now, 'local', null, ErrorCode.MarshallingError);
      // ZooKeeper assigns these a zxid before decoding the body, so a malformed one is still
      // logged, as an error txn; zxids stay in step with it.
      const ctx: RequestContext = { sessionId: conn.sessionId, cxid: xid, authIds: conn.authIds };
      this.deps.replication.write(ctx, type, null, body);
      return outstanding(xid, type, now, 'write', null);
    }
    if (isWriteRequest(request)) {
      const write = outstanding(xid, type, now, 'write', request);
      const ctx: RequestContext = { sessionId: conn.sessionId, cxid: xid, authIds: conn.authIds };
      this.deps.replication.write(ctx, type, request, body);
      return write;
    }
    if (request.type === OpCode.sync) {
      const sync = outstanding(xid, type, now, 'sync', request);
      this.deps.replication.sync((ok) => {
        // The leader is gone; this server stops serving and closes the connection anyway.
        if (!ok) sync.errorCode = ErrorCode.ConnectionLoss;
        sync.ready = true;
        this.drain(conn);
      });
      return sync;
    }
    return outstanding(xid, type, now, 'local', request);
  }

  /** Answers every request at the head of the queue that is ready, in order. */
  drain(conn: ClientConnection): void {
    const { stats, monotonicNow } = this.deps;
    for (let entry = conn.head(); entry !== undefined && entry.ready; entry = conn.head()) {
      conn.popHead();
      this.outstandingTotal--;
      if (conn.state !== 'connected' || conn.closing) continue;
      this.respond(conn, entry);
      // Whole milliseconds, as ZooKeeper measures latency (srvr, mntr and cons print them as integers).
      const latency = Math.floor(monotonicNow()) - Math.floor(entry.receivedAt);
      stats.recordLatency(latency);
      recordConnectionStats(conn, entry, latency, this.deps.db.lastZxid);
      // Nothing is answered after closeSession: requests pipelined behind it die with the connection.
      if (entry.type === OpCode.closeSession) {
        conn.closeAfterReplies();
        break;
      }
    }
    this.updateThrottle();
  }

  private respond(conn: ClientConnection, entry: Outstanding): void {
    const zxid = this.deps.db.lastZxid;
    if (entry.errorCode !== ErrorCode.Ok) {
      // ZooKeeper answers an unknown opcode outside its pipeline, with zxid −1.
      conn.reply(entry.xid, entry.errorCode === ErrorCode.Unimplemented ? -1 : zxid, entry.errorCode);
    } else if (entry.kind === 'write') {
      this.respondToWrite(conn, entry, zxid);
    } else {
      try {
        this.runLocal(conn, entry.xid, entry.request!, zxid);
      } catch (e) {
        if (!(e instanceof KeeperError)) throw e;
        conn.reply(entry.xid, zxid, e.code);
      }
    }
    this.deps.stats.packetsSent++;
  }

  private respondToWrite(conn: ClientConnection, entry: Outstanding, zxid: number): void {
    const result = entry.result!;
    if (result.type === OpCode.multi) {
      const results = result.multi!.map(multiResultOf);
      conn.reply(entry.xid, zxid, ErrorCode.Ok, (w) => encodeMultiResponse(w, results));
      return;
    }
    if (result.err !== ErrorCode.Ok) {
      conn.reply(entry.xid, zxid, result.err);
      return;
    }
    switch (entry.type) {
      case OpCode.create:
        conn.reply(entry.xid, zxid, 0, (w) => CreateResponse.encode(w, { path: result.path }));
        return;
      case OpCode.create2:
      case OpCode.createTTL:
      case OpCode.createContainer:
        conn.reply(entry.xid, zxid, 0, (w) => Create2Response.encode(w, { path: result.path, stat: result.stat! }));
        return;
      case OpCode.setData:
      case OpCode.setACL:
        conn.reply(entry.xid, zxid, 0, (w) => StatResponse.encode(w, { stat: result.stat! }));
        return;
      default:
        conn.reply(entry.xid, zxid, 0);
    }
  }

  // ---- reads and session-local operations ----

  private checkAcl(conn: ClientConnection, node: number, perm: number, path: string): void {
    if (this.deps.config.skipACL) return;
    if (!aclPermits(this.deps.db.tree.aclOf(node), perm, conn.authIds, this.providerAclSchemes)) {
      throw new KeeperError(ErrorCode.NoAuth, path);
    }
  }

  private existingNode(path: string): number {
    const node = this.deps.db.tree.lookup(path);
    if (node === -1) throw new KeeperError(ErrorCode.NoNode, path);
    return node;
  }

  private runLocal(conn: ClientConnection, xid: number, request: Request, zxid: number): void {
    const tree = this.deps.db.tree;
    switch (request.type) {
      case OpCode.ping:
        conn.reply(Xid.ping, zxid, 0);
        return;
      case OpCode.exists: {
        const { path, watch } = request.req;
        if (path.includes('\u0000')) throw new KeeperError(ErrorCode.BadArguments, path);
        const node = tree.lookup(path);
        // Since ZooKeeper 3.8.4/3.9.2 exists needs READ on an existing node (3.8.0 did not check).
        if (node !== -1) this.checkAcl(conn, node, Perms.READ, path);
        if (watch) tree.addDataWatch(path, conn);
        if (node === -1) throw new KeeperError(ErrorCode.NoNode, path);
        conn.reply(xid, zxid, 0, (w) => StatResponse.encode(w, { stat: tree.statOf(node) }));
        return;
      }
      case OpCode.getData: {
        const { path, watch } = request.req;
        const node = this.existingNode(path);
        this.checkAcl(conn, node, Perms.READ, path);
        if (watch) tree.addDataWatch(path, conn);
        const data = tree.dataOf(node);
        const stat = tree.statOf(node);
        conn.reply(xid, zxid, 0, (w) => GetDataResponse.encode(w, { data, stat }));
        return;
      }
      case OpCode.getChildren:
      case OpCode.getChildren2: {
        const { path, watch } = request.req;
        const node = this.existingNode(path);
        this.checkAcl(conn, node, Perms.READ, path);
        if (watch) tree.addChildWatch(path, conn);
        const children = tree.childrenOf(node);
        if (request.type === OpCode.getChildren) {
          conn.reply(xid, zxid, 0, (w) => GetChildrenResponse.encode(w, { children }));
        } else {
          const stat = tree.statOf(node);
          conn.reply(xid, zxid, 0, (w) => GetChildren2Response.encode(w, { children, stat }));
        }
        return;
      }
      case OpCode.getACL: {
        const path = request.req.path;
        const node = this.existingNode(path);
        this.checkAcl(conn, node, Perms.READ | Perms.ADMIN, path);
        const acl = tree.aclOf(node);
        const isAdmin = this.deps.config.skipACL || aclPermits(acl, Perms.ADMIN, conn.authIds, this.providerAclSchemes);
        const stat = tree.statOf(node);
        conn.reply(xid, zxid, 0, (w) => GetACLResponse.encode(w, { acl: isAdmin ? acl : maskDigests(acl), stat }));
        return;
      }
      case OpCode.getAllChildrenNumber: {
        const path = request.req.path;
        const node = this.existingNode(path);
        this.checkAcl(conn, node, Perms.READ, path);
        // ZooKeeper counts map keys: "/" excludes the root, its alias "" matches every other path including "/".
        const totalNumber = path === '' ? tree.nodeCount : node === ROOT_NODE ? tree.nodeCount - 1 : tree.descendantCount(node);
        conn.reply(xid, zxid, 0, (w) => GetAllChildrenNumberResponse.encode(w, { totalNumber }));
        return;
      }
      case OpCode.sync:
        conn.reply(xid, zxid, 0, (w) => SyncResponse.encode(w, { path: request.req.path }));
        return;
      case OpCode.multiRead: {
        const results: MultiReadResult[] = [];
        for (const op of request.ops) {
          if (op.type !== OpCode.getData && op.type !== OpCode.getChildren) {
            // ZooKeeper fails the whole request here but still sends the results gathered so far.
            conn.reply(xid, zxid, ErrorCode.MarshallingError, (w) => encodeMultiResponse(w, results));
            return;
          }
          results.push(this.readOp(conn, op));
        }
        conn.reply(xid, zxid, 0, (w) => encodeMultiResponse(w, results));
        return;
      }
      case OpCode.checkWatches:
      case OpCode.removeWatches: {
        const { path, type } = request.req;
        const found =
          request.type === OpCode.checkWatches ? this.hasWatch(conn, path, type) : this.removeWatch(conn, path, type);
        if (!found) throw new KeeperError(ErrorCode.NoWatcher, path);
        conn.reply(xid, zxid, 0);
        return;
      }
      case OpCode.setWatches:
      case OpCode.setWatches2:
        this.setWatches(conn, request.req);
        conn.reply(xid, zxid, 0);
        return;
      case OpCode.addWatch: {
        const { path, mode } = request.req;
        if (mode !== 0 && mode !== 1) throw new KeeperError(ErrorCode.MarshallingError, path);
        tree.addPersistentWatch(path, conn, mode === 1);
        conn.reply(xid, zxid, 0, (w) => ErrorResponse.encode(w, { err: 0 }));
        return;
      }
      case OpCode.getEphemerals: {
        const prefix = request.req.prefixPath.trim();
        const all = [...(tree.ephemerals.get(conn.sessionId) ?? [])];
        const ephemerals = prefix === '' || prefix === '/' ? all : all.filter((p) => p.startsWith(request.req.prefixPath));
        conn.reply(xid, zxid, 0, (w) => GetEphemeralsResponse.encode(w, { ephemerals }));
        return;
      }
      case OpCode.whoAmI: {
        const clientInfo = conn.authIds.map((id) => clientInfoOf(id, this.providerAclSchemes));
        conn.reply(xid, zxid, 0, (w) => WhoAmIResponse.encode(w, { clientInfo }));
        return;
      }
      default:
        throw new KeeperError(ErrorCode.Unimplemented);
    }
  }

  /** One op of a multiRead: errors are reported per op. */
  private readOp(conn: ClientConnection, op: Extract<MultiOp, { type: typeof OpCode.getData | typeof OpCode.getChildren }>): MultiReadResult {
    const tree = this.deps.db.tree;
    try {
      const path = op.req.path;
      const node = this.existingNode(path);
      this.checkAcl(conn, node, Perms.READ, path);
      if (op.type === OpCode.getData) return { type: OpCode.getData, data: tree.dataOf(node), stat: tree.statOf(node) };
      return { type: OpCode.getChildren, children: tree.childrenOf(node) };
    } catch (e) {
      if (!(e instanceof KeeperError)) throw e;
      return { type: OpCode.error, err: e.code };
    }
  }

  private hasWatch(conn: ClientConnection, path: string, type: number): boolean {
    const tree = this.deps.db.tree;
    switch (type) {
      case WatcherType.Children:
        return tree.childWatches.contains(path, conn, WatchMode.Standard);
      case WatcherType.Data:
        return tree.dataWatches.contains(path, conn, WatchMode.Standard);
      case WatcherType.Persistent:
        return tree.dataWatches.contains(path, conn, WatchMode.Persistent);
      case WatcherType.PersistentRecursive:
        return tree.dataWatches.contains(path, conn, WatchMode.PersistentRecursive);
      case WatcherType.Any:
        return tree.childWatches.contains(path, conn) || tree.dataWatches.contains(path, conn);
      default:
        throw new KeeperError(ErrorCode.MarshallingError, path);
    }
  }

  private removeWatch(conn: ClientConnection, path: string, type: number): boolean {
    const tree = this.deps.db.tree;
    switch (type) {
      case WatcherType.Children:
        return tree.childWatches.remove(path, conn, WatchMode.Standard);
      case WatcherType.Data:
        return tree.dataWatches.remove(path, conn, WatchMode.Standard);
      case WatcherType.Persistent: {
        const fromChildren = tree.childWatches.remove(path, conn, WatchMode.Persistent);
        return tree.dataWatches.remove(path, conn, WatchMode.Persistent) || fromChildren;
      }
      case WatcherType.PersistentRecursive:
        return tree.dataWatches.remove(path, conn, WatchMode.PersistentRecursive);
      case WatcherType.Any: {
        const fromChildren = tree.childWatches.remove(path, conn);
        return tree.dataWatches.remove(path, conn) || fromChildren;
      }
      default:
        throw new KeeperError(ErrorCode.MarshallingError, path);
    }
  }

  /**
   * Re-arms a reconnecting client's watches (DataTree.setWatches): a watch
   * whose condition already changed since relativeZxid fires at once instead.
   */
  private setWatches(
    conn: ClientConnection,
    req: {
      relativeZxid: number;
      dataWatches: string[];
      existWatches: string[];
      childWatches: string[];
      persistentWatches: string[];
      persistentRecursiveWatches: string[];
    },
  ): void {
    const tree = this.deps.db.tree;
    const fire = (type: number, path: string, node: number): void =>
      conn.notify(type, path, -1, node === -1 ? [] : tree.aclOf(node));
    for (const path of req.dataWatches) {
      const node = tree.lookup(path);
      if (node === -1) fire(EventType.NodeDeleted, path, node);
      else if (tree.nodes.mzxid[node]! > req.relativeZxid) fire(EventType.NodeDataChanged, path, node);
      else tree.addDataWatch(path, conn);
    }
    for (const path of req.existWatches) {
      const node = tree.lookup(path);
      if (node !== -1) fire(EventType.NodeCreated, path, node);
      else tree.addDataWatch(path, conn);
    }
    for (const path of req.childWatches) {
      const node = tree.lookup(path);
      if (node === -1) fire(EventType.NodeDeleted, path, node);
      else if (tree.nodes.pzxid[node]! > req.relativeZxid) fire(EventType.NodeChildrenChanged, path, node);
      else tree.addChildWatch(path, conn);
    }
    for (const path of req.persistentWatches) tree.addPersistentWatch(path, conn, false);
    for (const path of req.persistentRecursiveWatches) tree.addPersistentWatch(path, conn, true);
  }

  /**
   * One step of a client's SASL exchange, answered at once (zxid 0), outside the request queue, as
   * ZooKeeper does. A failed exchange is answered AuthFailed and the connection closed (the session
   * stays). Without SASL users there is no SASL server, and ZooKeeper answers Ok with no token.
   */
  private saslStep(conn: ClientConnection, xid: number, reader: JuteReader): void {
    const users = this.saslUsers;
    if (users === undefined) {
      conn.reply(xid, 0, ErrorCode.Ok, (w) => SaslToken.encode(w, { token: null }));
      return;
    }
    let token: Buffer;
    try {
      token = SaslToken.decode(reader).token ?? Buffer.alloc(0);
    } catch (e) {
      if (!(e instanceof JuteError)) throw e;
      this.onProtocolError(conn, `malformed SASL packet: ${e.message}`);
      return;
    }
    let exchange = this.saslExchanges.get(conn);
    if (exchange === undefined) this.saslExchanges.set(conn, (exchange = new DigestMd5Server(users)));
    let step: SaslStep;
    try {
      step = exchange.evaluate(token);
    } catch (e) {
      if (!(e instanceof SaslError)) throw e;
      this.deps.logger.warn(`client ${conn.remoteAddress}:${conn.remotePort} failed to SASL authenticate: ${e.message}`);
      conn.reply(xid, 0, ErrorCode.AuthFailed, (w) => SaslToken.encode(w, { token: null }));
      conn.closeAfterReplies();
      return;
    }
    if (step.authorizationId !== undefined) {
      const id = step.authorizationId;
      this.deps.logger.info(`session 0x${conn.sessionId.toString(16)}: adding SASL authorization for ${id}`);
      conn.authIds.push({ scheme: 'sasl', id });
      if (this.isSaslSuperUser(id)) conn.authIds.push(SUPER_ID);
      orderLikeZooKeeperAuthSet(conn.authIds);
    }
    conn.reply(xid, 0, ErrorCode.Ok, (w) => SaslToken.encode(w, { token: step.token }));
  }

  /** zookeeper.superUser (or superUser.N) names SASL identities that are the super user. */
  private isSaslSuperUser(id: string): boolean {
    for (const [key, value] of this.deps.config.extraProperties) {
      if ((key === 'superUser' || key.startsWith('superUser.')) && value === id) return true;
    }
    return false;
  }

  private authenticate(conn: ClientConnection, xid: number, reader: JuteReader): void {
    let packet: AuthPacket;
    try {
      packet = AuthPacket.decode(reader);
    } catch (e) {
      if (!(e instanceof JuteError)) throw e;
      this.onProtocolError(conn, `malformed auth packet: ${e.message}`);
      return;
    }
    const ids = this.authIdsFor(conn, packet);
    if (ids === null) {
      this.deps.logger.warn(`authentication failed for scheme ${packet.scheme} from ${conn.remoteAddress}`);
      conn.reply(xid, 0, ErrorCode.AuthFailed);
      conn.closeAfterReplies();
      return;
    }
    for (const id of ids) {
      if (!conn.authIds.some((a) => a.scheme === id.scheme && a.id === id.id)) conn.authIds.push(id);
    }
    orderLikeZooKeeperAuthSet(conn.authIds);
    conn.reply(xid, 0, ErrorCode.Ok);
  }

  /** The identities an auth packet grants, or null if the scheme is unknown. */
  private authIdsFor(conn: ClientConnection, packet: AuthPacket): { scheme: string; id: string }[] | null {
    switch (packet.scheme) {
      case 'digest': {
        const id = digestOf((packet.auth ?? Buffer.alloc(0)).toString('utf8'));
        const isSuper = this.deps.config.superDigest !== undefined && id === this.deps.config.superDigest;
        return isSuper ? [SUPER_ID, { scheme: 'digest', id }] : [{ scheme: 'digest', id }];
      }
      case 'ip':
        return [{ scheme: 'ip', id: conn.remoteAddress }];
      default:
        return null;
    }
  }

  // ---- commits ----

  /** Applies a committed transaction and answers the client that asked for it. */
  onCommit(txn: Txn): void {
    const { db, prep, tracker } = this.deps;
    const result = db.apply(txn);
    prep.applied(txn);
    const conn = this.bySession.get(txn.clientId);
    switch (txn.body.type) {
      case OpCode.createSession:
        if (conn !== undefined && conn.state === 'handshake') {
          this.sendConnectResponse(conn, conn.sessionTimeoutMs, txn.clientId, txn.body.createSession.passwd!);
        }
        return;
      case OpCode.closeSession:
        tracker.remove(txn.clientId);
        if (conn !== undefined) {
          this.deliver(conn, txn, result);
          this.bySession.delete(txn.clientId);
          conn.closeAfterReplies();
        }
        return;
      default:
        if (conn !== undefined) this.deliver(conn, txn, result);
    }
  }

  private deliver(conn: ClientConnection, txn: Txn, result: TxnResult): void {
    const entry = conn.findPendingWrite(txn.cxid);
    if (entry === undefined) return;
    entry.result = result;
    entry.ready = true;
    this.drain(conn);
  }

  // ---- serving ----

  /** Not serving (no quorum, syncing): every client is disconnected and will try again, possibly elsewhere. */
  setServing(serving: boolean): void {
    if (serving) return;
    this.closeClientConnections();
  }

  /**
   * Enters or leaves read-only mode. Leaving it ends every read-only session and closes its
   * connection: the clients find a read-write server and start new sessions there.
   */
  setReadOnly(readOnly: boolean): void {
    if (readOnly === this.readOnlyMode) return;
    this.readOnlyMode = readOnly;
    if (readOnly) return;
    this.closeClientConnections();
    this.readOnlySessions.clear();
  }

  /** On the tick while read-only: sessions whose clients fell silent for their timeout end. */
  expireReadOnlySessions(): void {
    for (const sessionId of this.readOnlySessions.expire(this.deps.monotonicNow())) {
      this.deps.logger.info(`expiring read-only session 0x${sessionId.toString(16)}`);
      this.bySession.get(sessionId)?.close();
    }
  }

  private closeClientConnections(): void {
    for (const conn of [...this.connections]) if (!conn.isFourLetterWord) conn.close();
  }

  /** Stops reading from every client while too many requests are in flight (globalOutstandingLimit). */
  private updateThrottle(): void {
    const limit = this.deps.config.globalOutstandingLimit;
    const shouldThrottle = limit > 0 && this.outstandingTotal > limit;
    if (shouldThrottle === this.throttled) return;
    this.throttled = shouldThrottle;
    for (const conn of this.connections) conn.setThrottled(shouldThrottle);
  }
}

type MultiReadResult =
  | { type: typeof OpCode.getData; data: NodeData; stat: Stat }
  | { type: typeof OpCode.getChildren; children: string[] }
  | { type: typeof OpCode.error; err: number };

/** Maps a multi sub-result to its response record (FinalRequestProcessor, case multi). */
function multiResultOf(result: TxnResult): Parameters<typeof encodeMultiResponse>[1][number] {
  switch (result.type) {
    case OpCode.create:
      return { type: OpCode.create, path: result.path };
    case OpCode.create2:
    case OpCode.createTTL:
    case OpCode.createContainer:
      return { type: OpCode.create2, path: result.path, stat: result.stat! };
    case OpCode.delete:
    case OpCode.deleteContainer:
      return { type: OpCode.delete };
    case OpCode.setData:
      return { type: OpCode.setData, stat: result.stat! };
    case OpCode.check:
      return { type: OpCode.check };
    default:
      return { type: OpCode.error, err: result.err };
  }
}

function passwordMatches(request: ConnectRequest, password: Buffer): boolean {
  return request.passwd !== null && request.passwd.length === password.length && timingSafeEqual(request.passwd, password);
}

function clientInfoOf(id: { scheme: string; id: string }, providerSchemes: ProviderSchemes): ClientInfo {
  switch (id.scheme) {
    case 'digest':
      return { authScheme: 'digest', user: id.id.split(':')[0]! };
    case 'ip':
      return { authScheme: 'ip', user: id.id };
    case 'sasl':
      // The user name comes from the scheme's provider; without it ZooKeeper has none to give.
      return { authScheme: 'sasl', user: providerSchemes.has('sasl') ? id.id : '' };
    default:
      return { authScheme: id.scheme, user: '' };
  }
}

/** The short operation names `cons` shows as lop (FinalRequestProcessor's lastOp). */
const LAST_OP_NAMES = new Map<number, string>([
  [OpCode.ping, 'PING'],
  [OpCode.createSession, 'SESS'],
  [OpCode.multi, 'MULT'],
  [OpCode.multiRead, 'MLTR'],
  [OpCode.create, 'CREA'],
  [OpCode.create2, 'CREA'],
  [OpCode.createTTL, 'CREA'],
  [OpCode.createContainer, 'CREA'],
  [OpCode.delete, 'DELE'],
  [OpCode.deleteContainer, 'DELE'],
  [OpCode.setData, 'SETD'],
  [OpCode.reconfig, 'RECO'],
  [OpCode.setACL, 'SETA'],
  [OpCode.closeSession, 'CLOS'],
  [OpCode.sync, 'SYNC'],
  [OpCode.check, 'CHEC'],
  [OpCode.exists, 'EXIS'],
  [OpCode.getData, 'GETD'],
  [OpCode.setWatches, 'SETW'],
  [OpCode.setWatches2, 'STW2'],
  [OpCode.addWatch, 'ADDW'],
  [OpCode.getACL, 'GETA'],
  [OpCode.getChildren, 'GETC'],
  [OpCode.getChildren2, 'GETC'],
  [OpCode.getAllChildrenNumber, 'GETACN'],
  [OpCode.checkWatches, 'CHKW'],
  [OpCode.removeWatches, 'REMW'],
  [OpCode.whoAmI, 'HOMI'],
  [OpCode.getEphemerals, 'GETE'],
]);

function recordConnectionStats(conn: ClientConnection, entry: Outstanding, latencyMs: number, zxid: number): void {
  const s = conn.stats;
  s.lastCxid = entry.xid;
  s.lastZxid = zxid;
  s.lastOp = LAST_OP_NAMES.get(entry.type) ?? 'NA';
  s.lastLatencyMs = latencyMs;
  s.minLatencyMs = Math.min(s.minLatencyMs, latencyMs);
  s.maxLatencyMs = Math.max(s.maxLatencyMs, latencyMs);
  s.totalLatencyMs += latencyMs;
  s.responses++;
  s.lastResponseAt = Date.now();
}

/**
 * The first session id of a server (SessionTrackerImpl.initializeNextSessionId):
 * the server id in the top byte and a millisecond timestamp below it.
 */
function initialSessionId(serverId: number, nowMs: number): bigint {
  const time = ((BigInt(nowMs) << 24n) & 0xffffffffffffffffn) >> 8n;
  return BigInt.asIntN(64, time | (BigInt(serverId) << 56n));
}

function hex(n: number): string {
  return n.toString(16);
}

/**
 * A request's queue entry, built once with its final fields (one object, one shape). It is
 * ready to answer at once if it is answered here, or already has its result; writes and syncs
 * wait.
 */
function outstanding(
  xid: number,
  type: number,
  receivedAt: number,
  kind: Outstanding['kind'],
  request: Request | null,
  errorCode: number = ErrorCode.Ok,
  result: TxnResult | null = null,
): Outstanding {
  return { xid, type, kind, request, receivedAt, ready: kind === 'local' || result !== null, result, errorCode };
}
