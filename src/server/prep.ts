/**
 * RequestPreparer: turns write requests into transactions (the leader's
 * PrepRequestProcessor). It validates paths, versions, ACLs and sessions
 * against the tree *plus* the changes of transactions proposed but not yet
 * applied, assigns the zxid, and records the change so the next request sees
 * it. A request that fails validation still becomes a transaction — an error
 * txn with its own zxid — exactly as in Apache ZooKeeper, so zxids and
 * responses match it.
 */
import { OpCode, Perms, CreateMode } from '../protocol/constants.js';
import { ErrorCode, KeeperError } from '../protocol/errors.js';
import type { MultiOp } from '../protocol/multi.js';
import { pathProblem } from '../protocol/paths.js';
import type { ACL, CreateRequest, CreateTTLRequest, Id, ReconfigRequest } from '../protocol/records.js';
import type { WriteRequest } from '../protocol/requests.js';
import type { Txn, TxnBody } from '../protocol/txn.js';
import { aclPermits, fixupAcl, type ProviderSchemes } from '../tree/acl.js';
import { CONFIG_PATH, DataTree, textOf } from '../tree/data-tree.js';
import type { ZkDatabase } from '../tree/database.js';
import { CONTAINER_OWNER, OwnerKind, PERSISTENT_OWNER, isValidTtl, ownerKind, ttlOwner } from '../tree/ephemeral-owner.js';
import { LIMIT_NODE, QUOTA_PATH, STATS_NODE, StatsTrack } from '../tree/quota.js';
import type { QuorumServerSpec } from './config.js';
import { proposedMembership } from './reconfig.js';

export interface PrepOptions {
  extendedTypesEnabled: boolean;
  skipACL: boolean;
  reconfigEnabled: boolean;
  /** enforceQuota: a hard quota limit refuses the write with QuotaExceeded. */
  enforceQuota?: boolean;
  /** ACL schemes of configured authentication providers (`sasl`); none by default. */
  providerAclSchemes?: ProviderSchemes;
  /** The ensemble's servers (from server.N); undefined for a standalone server. */
  quorumServers?: readonly QuorumServerSpec[];
  /** standaloneEnabled: a reconfig must then leave at least two voters. Default true. */
  standaloneEnabled?: boolean;
}

/** Who is asking: a client session, or the server itself (session 0). */
export interface RequestContext {
  sessionId: bigint;
  cxid: number;
  authIds: readonly Id[];
}

/** The server's own requests (session expiry, container reaper) skip ACL and session checks. */
export const SERVER_CONTEXT: RequestContext = { sessionId: 0n, cxid: 0, authIds: [{ scheme: 'super', id: '' }] };

/** What prep needs to know of a znode, from the tree or from a pending change. */
interface NodeState {
  version: number;
  /** Stored cversion: children created so far. */
  cversion: number;
  aversion: number;
  owner: bigint;
  childCount: number;
  acl: readonly ACL[];
}

interface ChangeRecord {
  zxid: number;
  /** null: the node is deleted by a pending transaction. */
  node: NodeState | null;
}

/** Undo entries that roll back a failed multi's pending changes. */
type UndoLog = { path: string; previous: ChangeRecord | undefined }[];

export class RequestPreparer {
  private lastProposedZxid: number;
  private readonly changes = new Map<string, ChangeRecord>();
  /** (zxid, path) in proposal order, to drop changes once applied. */
  private readonly changeOrder: { zxid: number; path: string }[] = [];
  private changeOrderHead = 0;
  private readonly closingSessions = new Set<bigint>();
  /** Set while preparing a multi, so its changes can be rolled back. */
  private undo: UndoLog | null = null;

  constructor(
    private readonly db: ZkDatabase,
    private readonly options: PrepOptions,
  ) {
    this.lastProposedZxid = db.lastZxid;
  }

  get lastZxid(): number {
    return this.lastProposedZxid;
  }

  /** Forgets pending changes (a new leadership) and continues after `zxid`. */
  reset(zxid: number): void {
    this.changes.clear();
    this.changeOrder.length = 0;
    this.changeOrderHead = 0;
    this.closingSessions.clear();
    this.lastProposedZxid = zxid;
  }

  isClosing(sessionId: bigint): boolean {
    return this.closingSessions.has(sessionId);
  }

  private nextTxn(ctx: RequestContext, time: number, body: TxnBody): Txn {
    return { clientId: ctx.sessionId, cxid: ctx.cxid, zxid: ++this.lastProposedZxid, time, body };
  }

  /** Prepares a client or server write request. */
  prepare(ctx: RequestContext, request: WriteRequest, time: number): Txn {
    const zxid = this.lastProposedZxid + 1;
    let body: TxnBody;
    try {
      body = this.prepareBody(ctx, request, zxid);
    } catch (e) {
      if (!(e instanceof KeeperError)) throw e;
      body = { type: OpCode.error, error: { err: e.code } };
    }
    return this.nextTxn(ctx, time, body);
  }

  /** A write whose body could not be decoded: an error txn answered with MarshallingError. */
  prepareMalformed(ctx: RequestContext, time: number): Txn {
    return this.nextTxn(ctx, time, { type: OpCode.error, error: { err: ErrorCode.MarshallingError } });
  }

  prepareCreateSession(sessionId: bigint, timeoutMs: number, password: Buffer, time: number): Txn {
    const ctx = { sessionId, cxid: 0, authIds: [] };
    return this.nextTxn(ctx, time, { type: OpCode.createSession, createSession: { timeOut: timeoutMs, passwd: password } });
  }

  /** Called after a transaction is applied: its changes are now in the tree. */
  applied(txn: Txn): void {
    if (txn.body.type === OpCode.closeSession) this.closingSessions.delete(txn.clientId);
    const order = this.changeOrder;
    while (this.changeOrderHead < order.length && order[this.changeOrderHead]!.zxid <= txn.zxid) {
      const { zxid, path } = order[this.changeOrderHead++]!;
      if (this.changes.get(path)?.zxid === zxid) this.changes.delete(path);
    }
    if (this.changeOrderHead > 1024 && this.changeOrderHead * 2 > order.length) {
      order.splice(0, this.changeOrderHead);
      this.changeOrderHead = 0;
    }
  }

  private prepareBody(ctx: RequestContext, request: WriteRequest, zxid: number): TxnBody {
    switch (request.type) {
      case OpCode.create:
      case OpCode.create2:
      case OpCode.createContainer:
        return this.prepareCreate(ctx, request.type, request.req, -1, zxid);
      case OpCode.createTTL:
        return this.prepareCreate(ctx, request.type, request.req, request.req.ttl, zxid);
      case OpCode.delete:
        this.checkSession(ctx);
        return this.prepareDelete(ctx, request.req.path, request.req.version, zxid);
      case OpCode.deleteContainer:
        return this.prepareDeleteContainer(request.req.path, zxid);
      case OpCode.setData:
        return this.prepareSetData(ctx, request.req.path, request.req.data, request.req.version, zxid);
      case OpCode.setACL:
        return this.prepareSetAcl(ctx, request.req.path, request.req.acl, request.req.version, zxid);
      case OpCode.reconfig:
        return this.prepareReconfig(ctx, request.req);
      case OpCode.multi:
        return this.prepareMulti(ctx, request.ops, zxid);
      case OpCode.closeSession:
        return this.prepareCloseSession(ctx.sessionId, zxid);
    }
  }

  /**
   * A reconfig is checked as ZooKeeper's leader checks it, so that a client gets the same error
   * for a request ZooKeeper would refuse; one it would carry out gets Unimplemented, as dynamic
   * reconfiguration is not implemented. zkts never changes its membership, so the configuration
   * last seen is the one from server.N. Not checked (they need the quorum's state): a curConfigId
   * other than the current version (BadVersion), addresses a joiner shares with another server
   * (BadArguments), and whether the new voters form a synced quorum (NewConfigNoQuorum).
   */
  private prepareReconfig(ctx: RequestContext, req: ReconfigRequest): never {
    if (!this.options.reconfigEnabled) throw new KeeperError(ErrorCode.ReconfigDisabled);
    this.checkSession(ctx);
    const current = this.options.quorumServers;
    // ZooKeeper's standalone server does not reconfigure.
    if (current === undefined) throw new KeeperError(ErrorCode.Unimplemented);
    const next = proposedMembership(current, req);
    const voters = [...next.values()].filter((server) => server.role === 'participant').length;
    if ((this.options.standaloneEnabled ?? true) && voters < 2) {
      throw new KeeperError(ErrorCode.BadArguments, undefined, 'the new configuration must include at least 2 followers');
    } else if (voters < 1) {
      throw new KeeperError(ErrorCode.BadArguments, undefined, 'the new configuration must include at least 1 follower');
    }
    this.checkAcl(ctx, this.existing(CONFIG_PATH).acl, Perms.WRITE, CONFIG_PATH);
    throw new KeeperError(ErrorCode.Unimplemented, undefined, 'dynamic reconfiguration is not implemented');
  }

  // ---- lookups through pending changes ----

  private nodeState(path: string): NodeState | null {
    const change = this.changes.get(path);
    if (change !== undefined) return change.node;
    const tree = this.db.tree;
    const id = tree.lookup(path);
    if (id === -1) return null;
    const n = tree.nodes;
    return {
      version: n.version[id]!,
      cversion: n.cversion[id]!,
      aversion: n.aversion[id]!,
      owner: n.owner[id]!,
      childCount: tree.numChildren(id),
      acl: tree.aclOf(id),
    };
  }

  private existing(path: string): NodeState {
    const node = this.nodeState(path);
    if (node === null) throw new KeeperError(ErrorCode.NoNode, path);
    return node;
  }

  private record(path: string, node: NodeState | null, zxid: number): void {
    this.undo?.push({ path, previous: this.changes.get(path) });
    this.changes.set(path, { zxid, node });
    this.changeOrder.push({ zxid, path });
  }

  // ---- checks ----

  private checkSession(ctx: RequestContext): void {
    if (ctx.sessionId === 0n) return;
    if (!this.db.sessions.has(ctx.sessionId) || this.closingSessions.has(ctx.sessionId)) {
      throw new KeeperError(ErrorCode.SessionExpired);
    }
  }

  private checkAcl(ctx: RequestContext, acl: readonly ACL[], perm: number, path: string): void {
    if (this.options.skipACL || aclPermits(acl, perm, ctx.authIds, this.options.providerAclSchemes)) return;
    throw new KeeperError(ErrorCode.NoAuth, path);
  }

  /**
   * With enforceQuota, a write that takes the deepest quota above `path`
   * past a hard limit fails (ZooKeeperServer.checkQuota); soft limits only
   * count. Usage is what the tree holds now. A write of `newBytes` that replaces the node's
   * data (`replacesData`, setData) counts only the difference, looked up here: only when a quota
   * applies.
   */
  private checkQuota(path: string, newBytes: number, countDiff: number, replacesData: boolean): void {
    if (!this.options.enforceQuota) return;
    const tree = this.db.tree;
    const root = tree.quotas.maxPrefix(path);
    if (root === null) return;
    const replaced = replacesData ? tree.lookup(path) : -1;
    const bytesDiff = newBytes - (replaced === -1 ? 0 : tree.nodes.dataLength(replaced));
    const limitsNode = tree.lookup(`${QUOTA_PATH}${root}/${LIMIT_NODE}`);
    const statsNode = tree.lookup(`${QUOTA_PATH}${root}/${STATS_NODE}`);
    if (limitsNode === -1 || statsNode === -1) return;
    const limits = new StatsTrack(textOf(tree.dataOf(limitsNode)));
    const usage = new StatsTrack(textOf(tree.dataOf(statsNode)));
    const countLimit = limits.get('countHardLimit');
    const byteLimit = limits.get('byteHardLimit');
    if (countDiff !== 0 && countLimit > -1 && usage.get('count') + countDiff > countLimit) {
      throw new KeeperError(ErrorCode.QuotaExceeded, root);
    }
    if (bytesDiff !== 0 && byteLimit > -1 && usage.get('bytes') + bytesDiff > byteLimit) {
      throw new KeeperError(ErrorCode.QuotaExceeded, root);
    }
  }

  private static validatePath(path: string): void {
    if (pathProblem(path) !== null) throw new KeeperError(ErrorCode.BadArguments, path);
  }

  /** The parent path of a path to create or delete; "" (root's alias in ZooKeeper) becomes "/". */
  private static parentPath(path: string, forDelete: boolean): string {
    const slash = path.lastIndexOf('/');
    if (slash === -1 || path.includes('\u0000') || (forDelete && DataTree.isSpecialPath(path))) {
      throw new KeeperError(ErrorCode.BadArguments, path);
    }
    return slash === 0 ? '/' : path.slice(0, slash);
  }

  private static checkVersion(current: number, expected: number, path: string): number {
    if (expected !== -1 && expected !== current) throw new KeeperError(ErrorCode.BadVersion, path);
    return current + 1;
  }

  // ---- operations ----

  private prepareCreate(
    ctx: RequestContext,
    type: typeof OpCode.create | typeof OpCode.create2 | typeof OpCode.createContainer | typeof OpCode.createTTL,
    req: CreateRequest | CreateTTLRequest,
    ttl: number,
    zxid: number,
  ): TxnBody {
    const mode = createModeOf(req.flags);
    if (mode.ttl && !this.options.extendedTypesEnabled) throw new KeeperError(ErrorCode.Unimplemented);
    if (mode.ttl ? !isValidTtl(ttl) : ttl >= 0) throw new KeeperError(ErrorCode.BadArguments, req.path);
    this.checkSession(ctx);
    const parentPath = RequestPreparer.parentPath(req.path, false);
    const acl = fixupAcl(req.acl, ctx.authIds, this.options.providerAclSchemes);
    if (acl === null) throw new KeeperError(ErrorCode.InvalidACL, req.path);
    const parent = this.existing(parentPath);
    this.checkAcl(ctx, parent.acl, Perms.CREATE, req.path);
    const path = mode.sequential ? req.path + sequenceSuffix(parent.cversion) : req.path;
    RequestPreparer.validatePath(path);
    if (this.nodeState(path) !== null) throw new KeeperError(ErrorCode.NodeExists, path);
    if (ownerKind(parent.owner, this.options.extendedTypesEnabled) === OwnerKind.Session) {
      throw new KeeperError(ErrorCode.NoChildrenForEphemerals, path);
    }
    this.checkQuota(path, req.data?.length ?? 0, 1, false);
    const parentCVersion = parent.cversion + 1;
    const owner = mode.container
      ? CONTAINER_OWNER
      : mode.ttl
        ? ttlOwner(ttl)
        : mode.ephemeral
          ? ctx.sessionId
          : PERSISTENT_OWNER;
    const { version, aversion, childCount } = parent;
    this.record(parentPath, { version, cversion: parentCVersion, aversion, owner: parent.owner, childCount: childCount + 1, acl: parent.acl }, zxid);
    this.record(path, { version: 0, cversion: 0, aversion: 0, owner, childCount: 0, acl }, zxid);
    const data = req.data;
    switch (type) {
      case OpCode.createContainer:
        return { type, createContainer: { path, data, acl, parentCVersion } };
      case OpCode.createTTL:
        return { type, createTTL: { path, data, acl, parentCVersion, ttl } };
      default:
        // A plain create with the container flag makes a persistent node, as in ZooKeeper.
        return { type, create: { path, data, acl, ephemeral: mode.ephemeral, parentCVersion } };
    }
  }

  private prepareDelete(ctx: RequestContext, path: string, version: number, zxid: number): TxnBody {
    const parentPath = RequestPreparer.parentPath(path, true);
    const parent = this.existing(parentPath);
    this.checkAcl(ctx, parent.acl, Perms.DELETE, path);
    const node = this.existing(path);
    RequestPreparer.checkVersion(node.version, version, path);
    if (node.childCount > 0) throw new KeeperError(ErrorCode.NotEmpty, path);
    this.record(parentPath, { ...parent, childCount: parent.childCount - 1 }, zxid);
    this.record(path, null, zxid);
    return { type: OpCode.delete, delete: { path } };
  }

  private prepareDeleteContainer(path: string, zxid: number): TxnBody {
    const parentPath = RequestPreparer.parentPath(path, true);
    const node = this.existing(path);
    if (node.childCount > 0) throw new KeeperError(ErrorCode.NotEmpty, path);
    if (ownerKind(node.owner, this.options.extendedTypesEnabled) === OwnerKind.Session) {
      throw new KeeperError(ErrorCode.BadVersion, path);
    }
    const parent = this.existing(parentPath);
    this.record(parentPath, { ...parent, childCount: parent.childCount - 1 }, zxid);
    this.record(path, null, zxid);
    return { type: OpCode.deleteContainer, delete: { path } };
  }

  private prepareSetData(
    ctx: RequestContext,
    path: string,
    data: Buffer | null,
    version: number,
    zxid: number,
  ): TxnBody {
    this.checkSession(ctx);
    RequestPreparer.validatePath(path);
    const node = this.existing(path);
    this.checkAcl(ctx, node.acl, Perms.WRITE, path);
    this.checkQuota(path, data?.length ?? 0, 0, true);
    const newVersion = RequestPreparer.checkVersion(node.version, version, path);
    this.record(path, { ...node, version: newVersion }, zxid);
    return { type: OpCode.setData, setData: { path, data, version: newVersion } };
  }

  private prepareSetAcl(ctx: RequestContext, path: string, requested: ACL[], version: number, zxid: number): TxnBody {
    this.checkSession(ctx);
    RequestPreparer.validatePath(path);
    const acl = fixupAcl(requested, ctx.authIds, this.options.providerAclSchemes);
    if (acl === null) throw new KeeperError(ErrorCode.InvalidACL, path);
    const node = this.existing(path);
    this.checkAcl(ctx, node.acl, Perms.ADMIN, path);
    const aversion = RequestPreparer.checkVersion(node.aversion, version, path);
    this.record(path, { ...node, aversion, acl }, zxid);
    return { type: OpCode.setACL, setACL: { path, acl, version: aversion } };
  }

  private prepareCheck(ctx: RequestContext, path: string, version: number): TxnBody {
    this.checkSession(ctx);
    RequestPreparer.validatePath(path);
    const node = this.existing(path);
    this.checkAcl(ctx, node.acl, Perms.READ, path);
    return { type: OpCode.check, check: { path, version: RequestPreparer.checkVersion(node.version, version, path) } };
  }

  /**
   * All ops of a multi share one zxid. At the first failing op the changes of
   * the earlier ops are rolled back; it and every later op become error txns.
   */
  private prepareMulti(ctx: RequestContext, ops: readonly MultiOp[], zxid: number): TxnBody {
    const bodies: TxnBody[] = [];
    const undo: UndoLog = [];
    let failed = false;
    this.undo = undo;
    try {
      for (const op of ops) {
        if (failed) {
          bodies.push({ type: OpCode.error, error: { err: ErrorCode.RuntimeInconsistency } });
          continue;
        }
        if (op.type === OpCode.getData || op.type === OpCode.getChildren) {
          // ZooKeeper's prep cannot make a txn of a read op and fails the whole multi.
          this.rollBack(undo);
          return { type: OpCode.error, error: { err: ErrorCode.MarshallingError } };
        }
        try {
          bodies.push(this.prepareMultiOp(ctx, op, zxid));
        } catch (e) {
          if (!(e instanceof KeeperError)) throw e;
          failed = true;
          bodies.push({ type: OpCode.error, error: { err: e.code } });
          this.rollBack(undo);
        }
      }
    } finally {
      this.undo = null;
    }
    return { type: OpCode.multi, ops: bodies };
  }

  private rollBack(undo: UndoLog): void {
    for (let i = undo.length - 1; i >= 0; i--) {
      const { path, previous } = undo[i]!;
      if (previous === undefined) this.changes.delete(path);
      else this.changes.set(path, previous);
    }
    undo.length = 0;
  }

  private prepareMultiOp(ctx: RequestContext, op: MultiOp, zxid: number): TxnBody {
    switch (op.type) {
      case OpCode.create:
      case OpCode.create2:
      case OpCode.createContainer:
      case OpCode.createTTL: {
        // ZooKeeper rebuilds each create op from its flags: the header type only selects the record.
        const mode = createModeOf(op.req.flags);
        const ttl = op.type === OpCode.createTTL ? op.req.ttl : -1;
        const type = mode.container ? OpCode.createContainer : mode.ttl ? OpCode.createTTL : OpCode.create;
        return this.prepareCreate(ctx, type, op.req, ttl, zxid);
      }
      case OpCode.delete:
        this.checkSession(ctx);
        return this.prepareDelete(ctx, op.req.path, op.req.version, zxid);
      case OpCode.setData:
        return this.prepareSetData(ctx, op.req.path, op.req.data, op.req.version, zxid);
      case OpCode.check:
        return this.prepareCheck(ctx, op.req.path, op.req.version);
      case OpCode.getChildren:
      case OpCode.getData:
        throw new KeeperError(ErrorCode.BadArguments, op.req.path);
    }
  }

  /** Lists the session's ephemerals, including those created or deleted by pending txns. */
  private prepareCloseSession(sessionId: bigint, zxid: number): TxnBody {
    const paths = new Set(this.db.tree.ephemerals.get(sessionId) ?? []);
    for (const [path, change] of this.changes) {
      if (change.node === null) paths.delete(path);
      else if (change.node.owner === sessionId) paths.add(path);
    }
    for (const path of paths) {
      const parentPath = RequestPreparer.parentPath(path, true);
      const parent = this.nodeState(parentPath);
      if (parent !== null) this.record(parentPath, { ...parent, childCount: parent.childCount - 1 }, zxid);
      this.record(path, null, zxid);
    }
    this.closingSessions.add(sessionId);
    return { type: OpCode.closeSession, closeSession: { paths2Delete: [...paths] } };
  }
}

interface ModeFlags {
  readonly ephemeral: boolean;
  readonly sequential: boolean;
  readonly container: boolean;
  readonly ttl: boolean;
}

const mode = (ephemeral: boolean, sequential: boolean, container: boolean, ttl: boolean): ModeFlags => ({ ephemeral, sequential, container, ttl });

/** What each valid create flags value means (built once: prep asks for every create). */
const CREATE_MODES = new Map<number, ModeFlags>([
  [CreateMode.PERSISTENT, mode(false, false, false, false)],
  [CreateMode.EPHEMERAL, mode(true, false, false, false)],
  [CreateMode.PERSISTENT_SEQUENTIAL, mode(false, true, false, false)],
  [CreateMode.EPHEMERAL_SEQUENTIAL, mode(true, true, false, false)],
  [CreateMode.CONTAINER, mode(false, false, true, false)],
  [CreateMode.PERSISTENT_WITH_TTL, mode(false, false, false, true)],
  [CreateMode.PERSISTENT_SEQUENTIAL_WITH_TTL, mode(false, true, false, true)],
]);

function createModeOf(flags: number): ModeFlags {
  const flagsMode = CREATE_MODES.get(flags);
  if (flagsMode === undefined) throw new KeeperError(ErrorCode.BadArguments, undefined, `invalid create flags ${flags}`);
  return flagsMode;
}

/** The sequential suffix: the parent's create count as Java's %010d formats a signed int. */
export function sequenceSuffix(cversion: number): string {
  return cversion < 0 ? `-${String(-cversion).padStart(9, '0')}` : String(cversion).padStart(10, '0');
}
