/**
 * ZkClient: the public API. Every operation returns a promise of a typed
 * result and rejects with a KeeperError (code and path); every one accepts
 * `{ signal, timeoutMs }`. Paths are validated before anything is sent, and
 * mapped through the chroot of the connection string in both directions.
 *
 * Calls made before start() or while the client is reconnecting are queued
 * and sent, in order, once a session is established.
 *
 * The session, its connections and its watches are managed by Session; this
 * class builds the requests, reads the replies and reports state changes as
 * events: 'state' for every change, and 'connected', 'connectedReadOnly',
 * 'disconnected', 'expired', 'authFailed' and 'closed'.
 */
import { EventEmitter } from 'node:events';
import type { JuteReader, JuteWriter } from '../jute/mod.js';
import { AddWatchMode, CreateMode, EventType, KeeperState, OpCode, WatcherType } from '../protocol/constants.js';
import { decodeMultiResponse, encodeMultiRequest } from '../protocol/multi.js';
import {
  AddWatchRequest,
  Create2Response,
  CreateRequest,
  CreateResponse,
  CreateTTLRequest,
  DeleteRequest,
  GetACLResponse,
  GetAllChildrenNumberResponse,
  GetChildren2Response,
  GetChildrenResponse,
  GetDataResponse,
  GetEphemeralsRequest,
  GetEphemeralsResponse,
  PathRequest,
  PathWatchRequest,
  SetACLRequest,
  SetDataRequest,
  StatResponse,
  WatchesRequest,
  WhoAmIResponse,
} from '../protocol/records.js';
import { Chroot, parseConnectString } from './connect-string.js';
import { ErrorCode, KeeperError, badArguments } from './errors.js';
import { ignore, Packet, withDeadline, type ReplyReader, type WatchRequest } from './packet.js';
import { PersistentWatch, type PersistentWatchMode } from './persistent-watch.js';
import { buildCreate, checkAcl, checkPath, checkVersion, toBytes, type CreateCall } from './requests.js';
import { Session, type ClientState, type StateChange } from './session.js';
import {
  ReadTransaction,
  Transaction,
  multiOpInput,
  multiResults,
  readOpInput,
  readResults,
} from './transaction.js';
import type {
  ACL,
  CallOptions,
  ClientInfo,
  CreateOptions,
  CreateResult,
  Data,
  EventTypeValue,
  GetDataResult,
  Op,
  OpResult,
  ReadOp,
  ReadResult,
  Stat,
  VersionOptions,
  WatchCallback,
  WatcherTypeValue,
  WatchOptions,
} from './types.js';
import type { WatchKind } from './watch-registry.js';

export type { ClientState };

export interface ZkClientOptions {
  /** The session timeout to ask for; the server clamps it (by default to [2, 20] ticks). Default 30000. */
  sessionTimeoutMs?: number;
  /** How long one attempt (TCP connect and handshake) may take. Default: the session timeout divided by the number of servers. */
  connectTimeoutMs?: number;
  /** Accept a read-only server (one cut off from its quorum): reads work, writes fail with NotReadOnly. Default false. */
  readOnly?: boolean;
  /** Shuffle the servers of the connection string (spreads clients over the ensemble). Default true. */
  shuffleServers?: boolean;
  /** Back-off after a full round of failed attempts starts here and doubles. Default 100. */
  reconnectDelayMs?: number;
  /** ...up to this (and at most a third of the session timeout). Default 1000. */
  maxReconnectDelayMs?: number;
  /** The largest reply accepted from a server (a server sends up to jute.maxbuffer of data plus headers). Default 4 MiB. */
  maxPacketBytes?: number;
  /** Resume an existing session (with its password) instead of creating one. */
  sessionId?: bigint;
  sessionPassword?: Uint8Array;
  /** Identities to authenticate as before any request (as addAuth, but in place from the first connection). */
  authInfo?: readonly { scheme: string; auth: Data }[];
}

/** `timeoutMs` bounds the wait for the first session (default: the session timeout). */
export interface ConnectOptions extends ZkClientOptions, CallOptions {}

export interface ConnectedInfo {
  sessionId: bigint;
  /** The timeout the server granted. */
  sessionTimeoutMs: number;
  /** host:port */
  server: string;
  /** The server created a new session (false when an existing one was re-established). */
  newSession: boolean;
}

export interface ZkClientEvents {
  state: [state: ClientState];
  connected: [info: ConnectedInfo];
  connectedReadOnly: [info: ConnectedInfo];
  /** The connection was lost; the client is reconnecting and the session may still be alive. */
  disconnected: [info: { reason: string }];
  /** Terminal: the session is gone (its ephemerals and watches too); create a new client. */
  expired: [info: { reason: string }];
  /** Terminal: the server rejected an identity given to addAuth. */
  authFailed: [info: { reason: string }];
  /** Terminal: close() completed. */
  closed: [];
}

const DEFAULT_SESSION_TIMEOUT_MS = 30_000;
const DEFAULT_MAX_PACKET_BYTES = 4 * 1024 * 1024;

type MakePacket<T> = (
  opcode: number,
  encodeBody: ((w: JuteWriter) => void) | null,
  readReply: ReplyReader<T>,
  path: string | undefined,
) => Packet<T>;

export class ZkClient extends EventEmitter<ZkClientEvents> {
  /** Creates a client and waits for its first session; rejects (and closes it) if none is established in time. */
  static async connect(connectString: string, options: ConnectOptions = {}): Promise<ZkClient> {
    const client = new ZkClient(connectString, options);
    try {
      await client.start(options);
      return client;
    } catch (error) {
      await client.close();
      throw error;
    }
  }

  private readonly session: Session;
  private readonly chroot: Chroot;
  private readonly sessionTimeoutMs: number;

  /** Creates a client without connecting: register listeners, then call start(). */
  constructor(connectString: string, options: ZkClientOptions = {}) {
    super();
    const { servers, chroot } = parseConnectString(connectString);
    this.chroot = new Chroot(chroot);
    this.sessionTimeoutMs = positive(options.sessionTimeoutMs, 'sessionTimeoutMs') ?? DEFAULT_SESSION_TIMEOUT_MS;
    if ((options.sessionId === undefined) !== (options.sessionPassword === undefined)) {
      throw badArguments(undefined, 'sessionId and sessionPassword go together');
    }
    const initialDelayMs = positive(options.reconnectDelayMs, 'reconnectDelayMs') ?? 100;
    this.session = new Session(
      {
        servers,
        chroot: this.chroot,
        sessionTimeoutMs: this.sessionTimeoutMs,
        connectTimeoutMs: positive(options.connectTimeoutMs, 'connectTimeoutMs'),
        readOnly: options.readOnly ?? false,
        shuffleServers: options.shuffleServers ?? true,
        backoff: {
          initialDelayMs,
          maxDelayMs: Math.max(initialDelayMs, positive(options.maxReconnectDelayMs, 'maxReconnectDelayMs') ?? 1000),
        },
        maxPacketBytes: positive(options.maxPacketBytes, 'maxPacketBytes') ?? DEFAULT_MAX_PACKET_BYTES,
        resume:
          options.sessionId === undefined ? undefined : { sessionId: options.sessionId, password: options.sessionPassword! },
      },
      { onStateChange: (change) => this.onStateChange(change) },
    );
    for (const { scheme, auth } of options.authInfo ?? []) {
      // A rejected identity ends the session; that is reported as the authFailed event.
      this.session.addAuth(scheme, Buffer.from(toBytes(auth) ?? Buffer.alloc(0))).catch(ignore);
    }
  }

  // ---- the session ----

  get state(): ClientState {
    return this.session.state;
  }

  /** 0n until the first session is established. */
  get sessionId(): bigint {
    return this.session.sessionId;
  }

  /** With sessionId, lets another client resume this session. */
  get sessionPassword(): Buffer {
    return Buffer.from(this.session.password);
  }

  /** The timeout the server granted (0 before the first session). */
  get negotiatedSessionTimeoutMs(): number {
    return this.session.negotiatedTimeoutMs;
  }

  get lastZxidSeen(): number {
    return this.session.lastZxid;
  }

  /** host:port of the current server, or null while not connected. */
  get connectedServer(): string | null {
    return this.session.server;
  }

  /**
   * Starts connecting; resolves once a session is established. On timeout
   * (default: the session timeout) or abort it rejects but the client keeps
   * trying; close() stops it.
   */
  start(options: CallOptions = {}): Promise<void> {
    if (this.session.isConnected) return Promise.resolve();
    if (this.session.isTerminal) return Promise.reject(new KeeperError(ErrorCode.SessionExpired, undefined, `the client is ${this.state}`));
    const timeoutMs = options.timeoutMs ?? this.sessionTimeoutMs;
    const connected = new Promise<void>((resolve, reject) => {
      const onState = (state: ClientState): void => {
        if (state === 'connected' || state === 'connectedReadOnly') resolve();
        else if (state === 'expired') reject(new KeeperError(ErrorCode.SessionExpired));
        else if (state === 'authFailed') reject(new KeeperError(ErrorCode.AuthFailed));
        else if (state === 'closed') reject(new KeeperError(ErrorCode.ConnectionLoss, undefined, 'the client was closed'));
        else return;
        this.off('state', onState);
      };
      this.on('state', onState);
    });
    this.session.start();
    return withDeadline(connected, { signal: options.signal, timeoutMs }).catch((error: unknown) => {
      if (error instanceof KeeperError && error.code === ErrorCode.RequestTimeout) {
        throw new KeeperError(ErrorCode.ConnectionLoss, undefined, `no session established within ${timeoutMs} ms`);
      }
      throw error;
    });
  }

  /**
   * Closes the session (its ephemeral nodes are deleted) and the connection.
   * Waits for the server's answer at most `timeoutMs` (default: two thirds of
   * the session timeout, at most 10 s). Idempotent.
   */
  close(options: { timeoutMs?: number } = {}): Promise<void> {
    return this.session.close(options.timeoutMs);
  }

  private onStateChange(change: StateChange): void {
    this.emit('state', change.state);
    switch (change.state) {
      case 'connected':
      case 'connectedReadOnly':
        this.emit(change.state, {
          sessionId: change.sessionId!,
          sessionTimeoutMs: change.sessionTimeoutMs!,
          server: change.server!,
          newSession: change.newSession!,
        });
        break;
      case 'connecting':
        if (change.reason !== undefined) this.emit('disconnected', { reason: change.reason });
        break;
      case 'expired':
      case 'authFailed':
        this.emit(change.state, { reason: change.reason ?? change.state });
        break;
      case 'closed':
        this.emit('closed');
        break;
    }
  }

  // ---- creating and deleting ----

  /**
   * Creates a znode (data: bytes, a UTF-8 string, null; default empty);
   * resolves with its path (with the sequence suffix for sequential modes).
   */
  create(path: string, data?: Data, options: CreateOptions = {}): Promise<string> {
    return this.request<string>(options, (make) => {
      const call = buildCreate(path, data, options, false, this.toServer);
      return make(call.opcode, encodeCreate(call), call.opcode === OpCode.create ? this.readCreatePath : this.readCreate2Path, path);
    });
  }

  /** create, also returning the new node's Stat (opcode create2). */
  create2(path: string, data?: Data, options: CreateOptions = {}): Promise<CreateResult> {
    return this.request<CreateResult>(options, (make) => {
      const call = buildCreate(path, data, options, true, this.toServer);
      return make(call.opcode, encodeCreate(call), this.readCreate2, path);
    });
  }

  /** A node deleted by the server once it has had no children and no change for `ttlMs` (needs extended types on the server). */
  createTTL(
    path: string,
    data: Data | undefined,
    ttlMs: number,
    options: Omit<CreateOptions, 'ttlMs'> = {},
  ): Promise<CreateResult> {
    return this.create2(path, data, { ...options, mode: options.mode ?? CreateMode.PERSISTENT_WITH_TTL, ttlMs });
  }

  /** A container: deleted by the server once its last child is deleted. */
  createContainer(path: string, data?: Data, options: Omit<CreateOptions, 'mode' | 'ttlMs'> = {}): Promise<CreateResult> {
    return this.create2(path, data, { ...options, mode: CreateMode.CONTAINER });
  }

  delete(path: string, options: VersionOptions = {}): Promise<void> {
    return this.request<void>(options, (make) => {
      const version = options.version ?? -1;
      checkPath(path);
      checkVersion(path, version);
      // As in the Java client, "/" stays "/" under a chroot: the server refuses it instead of deleting the chroot.
      const req = { path: path === '/' ? '/' : this.toServer(path), version };
      return make(OpCode.delete, (w) => DeleteRequest.encode(w, req), ignore, path);
    });
  }

  // ---- reading and writing ----

  /** The node's Stat, or null if it does not exist. A watch is left either way (NodeCreated fires for a missing node). */
  exists(path: string, options: WatchOptions = {}): Promise<Stat | null> {
    return this.request<Stat | null>(options, (make) => {
      checkPath(path);
      const req = { path: this.toServer(path), watch: options.watch !== undefined };
      const packet = make(OpCode.exists, (w) => PathWatchRequest.encode(w, req), readExists, path);
      packet.toleratedError = ErrorCode.NoNode;
      packet.watch = watchRequest('exists', path, options.watch);
      return packet;
    });
  }

  /** The node's data (a view of the received bytes; null if created with null data) and Stat. */
  getData(path: string, options: WatchOptions = {}): Promise<GetDataResult> {
    return this.request<GetDataResult>(options, (make) => {
      checkPath(path);
      const req = { path: this.toServer(path), watch: options.watch !== undefined };
      const packet = make(OpCode.getData, (w) => PathWatchRequest.encode(w, req), readGetData, path);
      packet.watch = watchRequest('data', path, options.watch);
      return packet;
    });
  }

  setData(path: string, data: Data, options: VersionOptions = {}): Promise<Stat> {
    return this.request<Stat>(options, (make) => {
      const version = options.version ?? -1;
      checkPath(path);
      checkVersion(path, version);
      const req = { path: this.toServer(path), data: toBytes(data), version };
      return make(OpCode.setData, (w) => SetDataRequest.encode(w, req), readStat, path);
    });
  }

  getChildren(path: string, options: WatchOptions = {}): Promise<string[]> {
    return this.request<string[]>(options, (make) => {
      checkPath(path);
      const req = { path: this.toServer(path), watch: options.watch !== undefined };
      const packet = make(OpCode.getChildren, (w) => PathWatchRequest.encode(w, req), readChildren, path);
      packet.watch = watchRequest('child', path, options.watch);
      return packet;
    });
  }

  /** getChildren with the parent's Stat. */
  getChildren2(path: string, options: WatchOptions = {}): Promise<{ children: string[]; stat: Stat }> {
    return this.request<{ children: string[]; stat: Stat }>(options, (make) => {
      checkPath(path);
      const req = { path: this.toServer(path), watch: options.watch !== undefined };
      const packet = make(OpCode.getChildren2, (w) => PathWatchRequest.encode(w, req), readChildren2, path);
      packet.watch = watchRequest('child', path, options.watch);
      return packet;
    });
  }

  /** The number of nodes below `path` (all descendants, not counting `path`). */
  getAllChildrenNumber(path: string, options: CallOptions = {}): Promise<number> {
    return this.request<number>(options, (make) => {
      checkPath(path);
      const req = { path: this.toServer(path) };
      return make(OpCode.getAllChildrenNumber, (w) => PathRequest.encode(w, req), readCount, path);
    });
  }

  /** This session's ephemeral nodes whose path starts with `prefixPath` ("/" for all). */
  getEphemerals(prefixPath = '/', options: CallOptions = {}): Promise<string[]> {
    return this.request<string[]>(options, (make) => {
      checkPath(prefixPath);
      const req = { prefixPath: this.toServer(prefixPath) };
      return make(OpCode.getEphemerals, (w) => GetEphemeralsRequest.encode(w, req), this.readEphemerals, prefixPath);
    });
  }

  /** Waits until the server this client is connected to has caught up with the leader (as of this call). */
  sync(path: string, options: CallOptions = {}): Promise<void> {
    return this.request<void>(options, (make) => {
      checkPath(path);
      const req = { path: this.toServer(path) };
      return make(OpCode.sync, (w) => PathRequest.encode(w, req), ignore, path);
    });
  }

  // ---- ACLs and identity ----

  getACL(path: string, options: CallOptions = {}): Promise<{ acl: ACL[]; stat: Stat }> {
    return this.request<{ acl: ACL[]; stat: Stat }>(options, (make) => {
      checkPath(path);
      const req = { path: this.toServer(path) };
      return make(OpCode.getACL, (w) => PathRequest.encode(w, req), readACL, path);
    });
  }

  /** Replaces the node's ACL; `version` is matched against the ACL version (aversion). */
  setACL(path: string, acl: readonly ACL[], options: VersionOptions = {}): Promise<Stat> {
    return this.request<Stat>(options, (make) => {
      const version = options.version ?? -1;
      checkPath(path);
      checkAcl(path, acl);
      checkVersion(path, version);
      const req = { path: this.toServer(path), acl, version };
      return make(OpCode.setACL, (w) => SetACLRequest.encode(w, req), readStat, path);
    });
  }

  /**
   * Authenticates this session, e.g. `addAuth('digest', 'user:password')`;
   * the identity is presented again after every reconnect. An identity the
   * server rejects ends the session (state authFailed).
   */
  addAuth(scheme: string, auth: Data, options: CallOptions = {}): Promise<void> {
    return withDeadline(this.session.addAuth(scheme, Buffer.from(toBytes(auth) ?? Buffer.alloc(0))), options);
  }

  /** The identities this session is authenticated as (ZooKeeper 3.7+). */
  whoAmI(options: CallOptions = {}): Promise<ClientInfo[]> {
    return this.request<ClientInfo[]>(options, (make) => make(OpCode.whoAmI, null, readWhoAmI, undefined));
  }

  // ---- transactions ----

  /** Builds a multi: `client.transaction().create(...).setData(...).check(...).delete(...).commit()`. */
  transaction(): Transaction {
    return new Transaction((ops, options) => this.multi(ops, options));
  }

  /** Builds a multiRead: `client.readTransaction().getData(...).getChildren(...).commit()`. */
  readTransaction(): ReadTransaction {
    return new ReadTransaction((ops, options) => this.multiRead(ops, options));
  }

  /** Applies the ops atomically; rejects with MultiError (carrying every op's result) if one fails. */
  multi(ops: readonly Op[], options: CallOptions = {}): Promise<OpResult[]> {
    return this.request<OpResult[]>(options, (make) => {
      const inputs = ops.map((op) => multiOpInput(op, this.chroot));
      const read = (r: JuteReader): OpResult[] => multiResults(decodeMultiResponse(r), ops, this.chroot);
      return make(OpCode.multi, (w) => encodeMultiRequest(w, inputs), read, undefined);
    });
  }

  /** Reads several nodes in one request; a failed read yields `{ type: 'error', code }` without failing the others. */
  multiRead(ops: readonly ReadOp[], options: CallOptions = {}): Promise<ReadResult[]> {
    return this.request<ReadResult[]>(options, (make) => {
      const inputs = ops.map((op) => readOpInput(op, this.chroot));
      return make(OpCode.multiRead, (w) => encodeMultiRequest(w, inputs), (r) => readResults(decodeMultiResponse(r)), undefined);
    });
  }

  // ---- watches ----

  /**
   * Adds a persistent watch (events for the node: created, deleted, data and
   * children changed) or a persistent-recursive one (created, deleted and
   * data changed, for the node and every node below it). Resolves once the
   * server set it; iterate the result for events, and `remove()` it (or break
   * out of the loop) to stop. ZooKeeper 3.6+.
   */
  addWatch(path: string, mode: PersistentWatchMode | 0 | 1 = 'persistent', options: CallOptions = {}): Promise<PersistentWatch> {
    return this.request<PersistentWatch>(options, (make) => {
      checkPath(path);
      const kind = persistentModeOf(mode);
      const watch = new PersistentWatch(path, kind, (w, stopOptions) => this.stopPersistentWatch(w, stopOptions));
      const req = { path: this.toServer(path), mode: kind === 'persistent' ? AddWatchMode.PERSISTENT : AddWatchMode.PERSISTENT_RECURSIVE };
      const packet = make(OpCode.addWatch, (w) => AddWatchRequest.encode(w, req), () => watch, path);
      packet.watch = { kind, path, callback: watch.callback };
      return packet;
    });
  }

  /**
   * Removes every watch of this client of the given type on `path`, on the
   * server and here; each removed one-shot callback hears DataWatchRemoved or
   * ChildWatchRemoved, each removed persistent watch PersistentWatchRemoved.
   * Rejects with NoWatcher if this client has no such watch.
   */
  async removeWatches(path: string, type: WatcherTypeValue, options: CallOptions = {}): Promise<void> {
    checkPath(path);
    const kinds = watchKindsOf(type, path);
    const registry = this.session.watches;
    if (!kinds.some((kind) => registry.has(kind, path))) throw new KeeperError(ErrorCode.NoWatcher, path);
    await this.removeServerWatches(path, type, kinds, options);
    const byEventType = new Map<EventTypeValue, WatchCallback[]>();
    for (const [kind, callback] of registry.removeAll(kinds, path)) {
      const eventType = removedEventOf(kind);
      const callbacks = byEventType.get(eventType) ?? [];
      if (!callbacks.includes(callback)) callbacks.push(callback);
      byEventType.set(eventType, callbacks);
    }
    for (const [eventType, callbacks] of byEventType) {
      this.session.deliver(callbacks, { type: eventType, state: KeeperState.SyncConnected, path });
    }
  }

  /** Resolves if the server holds a watch of this client of the given type on `path`; rejects with NoWatcher otherwise. */
  checkWatches(path: string, type: WatcherTypeValue, options: CallOptions = {}): Promise<void> {
    return this.watchesRequest(OpCode.checkWatches, path, type, options);
  }

  private watchesRequest(opcode: number, path: string, type: WatcherTypeValue, options: CallOptions): Promise<void> {
    return this.request<void>(options, (make) => {
      checkPath(path);
      watchKindsOf(type, path);
      const req = { path: this.toServer(path), type };
      return make(opcode, (w) => WatchesRequest.encode(w, req), ignore, path);
    });
  }

  /**
   * Sends removeWatches. Servers before ZooKeeper 3.9 know only the types
   * Children, Data and Any, and answer the persistent types with
   * MarshallingError; then every watch on the path is removed with Any and
   * this client's other watches there are re-armed right behind it.
   */
  private async removeServerWatches(path: string, type: WatcherTypeValue, kinds: readonly WatchKind[], options: CallOptions): Promise<void> {
    try {
      await this.watchesRequest(OpCode.removeWatches, path, type, options);
    } catch (error) {
      const persistentType = type === WatcherType.Persistent || type === WatcherType.PersistentRecursive;
      if (!persistentType || !(error instanceof KeeperError) || error.code !== ErrorCode.MarshallingError) throw error;
      const removal = this.watchesRequest(OpCode.removeWatches, path, WatcherType.Any, options);
      this.session.rearm(path, kinds);
      await removal;
    }
  }

  private async stopPersistentWatch(watch: PersistentWatch, options: CallOptions): Promise<void> {
    const registry = this.session.watches;
    if (!registry.remove(watch.mode, watch.path, watch.callback) || registry.has(watch.mode, watch.path)) return;
    const type = watch.mode === 'persistent' ? WatcherType.Persistent : WatcherType.PersistentRecursive;
    try {
      await this.removeServerWatches(watch.path, type, [watch.mode], options);
    } catch (error) {
      // Gone with the connection or the session, or never re-armed after a reconnect: nothing is left to remove.
      if (error instanceof KeeperError && WATCH_ALREADY_GONE.has(error.code)) return;
      throw error;
    }
  }

  // ---- plumbing ----

  private request<T>(options: CallOptions, build: (make: MakePacket<T>) => Packet<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const packet = build((opcode, encodeBody, readReply, path) => new Packet<T>(opcode, encodeBody, readReply, path, resolve, reject));
      if (options.signal !== undefined || options.timeoutMs !== undefined) packet.watchDeadline(options.signal, options.timeoutMs);
      this.session.submit(packet);
    });
  }

  private readonly toServer = (path: string): string => this.chroot.toServer(path);

  private toClient(serverPath: string): string {
    return this.chroot.fromServer(serverPath) ?? serverPath;
  }

  private readonly readCreatePath = (r: JuteReader): string => this.toClient(CreateResponse.decode(r).path);
  private readonly readCreate2Path = (r: JuteReader): string => this.toClient(Create2Response.decode(r).path);
  private readonly readCreate2 = (r: JuteReader): CreateResult => {
    const { path, stat } = Create2Response.decode(r);
    return { path: this.toClient(path), stat };
  };
  private readonly readEphemerals = (r: JuteReader): string[] => {
    const paths: string[] = [];
    for (const serverPath of GetEphemeralsResponse.decode(r).ephemerals) {
      const path = this.chroot.fromServer(serverPath);
      if (path !== null) paths.push(path);
    }
    return paths;
  };
}

const WATCH_ALREADY_GONE = new Set<number>([
  ErrorCode.NoWatcher,
  ErrorCode.ConnectionLoss,
  ErrorCode.SessionExpired,
  ErrorCode.AuthFailed,
]);

const readExists = (r: JuteReader, err: number): Stat | null => (err === ErrorCode.Ok ? StatResponse.decode(r).stat : null);
const readStat = (r: JuteReader): Stat => StatResponse.decode(r).stat;
const readGetData = (r: JuteReader): GetDataResult => GetDataResponse.decode(r);
const readChildren = (r: JuteReader): string[] => GetChildrenResponse.decode(r).children;
const readChildren2 = (r: JuteReader): { children: string[]; stat: Stat } => GetChildren2Response.decode(r);
const readACL = (r: JuteReader): { acl: ACL[]; stat: Stat } => GetACLResponse.decode(r);
const readCount = (r: JuteReader): number => GetAllChildrenNumberResponse.decode(r).totalNumber;
const readWhoAmI = (r: JuteReader): ClientInfo[] => WhoAmIResponse.decode(r).clientInfo;

function encodeCreate(call: CreateCall): (w: JuteWriter) => void {
  if (call.opcode === OpCode.createTTL) return (w) => CreateTTLRequest.encode(w, call.body);
  return (w) => CreateRequest.encode(w, call.body);
}

function watchRequest(kind: WatchRequest['kind'], path: string, callback: WatchCallback | undefined): WatchRequest | null {
  if (callback === undefined) return null;
  if (typeof callback !== 'function') throw badArguments(path, 'watch must be a function');
  return { kind, path, callback };
}

function persistentModeOf(mode: PersistentWatchMode | 0 | 1): PersistentWatchMode {
  switch (mode) {
    case 'persistent':
    case AddWatchMode.PERSISTENT:
      return 'persistent';
    case 'persistentRecursive':
    case AddWatchMode.PERSISTENT_RECURSIVE:
      return 'persistentRecursive';
    default:
      throw badArguments(undefined, `unknown watch mode ${String(mode)}`);
  }
}

/** The client-side watch kinds a WatcherType covers (ZKWatchManager.removeWatcher). */
function watchKindsOf(type: WatcherTypeValue, path: string): readonly WatchKind[] {
  switch (type) {
    case WatcherType.Children:
      return ['child'];
    case WatcherType.Data:
      return ['data', 'exist'];
    case WatcherType.Any:
      return ['data', 'exist', 'child', 'persistent', 'persistentRecursive'];
    case WatcherType.Persistent:
      return ['persistent'];
    case WatcherType.PersistentRecursive:
      return ['persistentRecursive'];
    default:
      throw badArguments(path, `unknown watcher type ${String(type)}`);
  }
}

function removedEventOf(kind: WatchKind): EventTypeValue {
  switch (kind) {
    case 'data':
    case 'exist':
      return EventType.DataWatchRemoved;
    case 'child':
      return EventType.ChildWatchRemoved;
    case 'persistent':
    case 'persistentRecursive':
      return EventType.PersistentWatchRemoved;
  }
}

function positive(value: number | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  if (!Number.isFinite(value) || value <= 0) throw badArguments(undefined, `${name} must be a positive number, not ${value}`);
  return value;
}
