/**
 * DataTree: the znode hierarchy, its Stat bookkeeping, ACL references,
 * ephemeral/container/TTL indexes and watch tables.
 *
 * Mutations are driven only by committed transactions (see apply.ts) and use
 * only what the transaction carries (zxid, time), so every server holding the
 * same log holds the same tree. Reads take a node id from `lookup`.
 */
import { EventType } from '../protocol/constants.js';
import { ErrorCode, KeeperError } from '../protocol/errors.js';
import { nameOf, parentOf } from '../protocol/paths.js';
import type { ACL, Stat } from '../protocol/records.js';
import { AclCache, OPEN_ACL_UNSAFE, READ_ACL_UNSAFE } from './acl.js';
import { OwnerKind, PERSISTENT_OWNER, clientVisibleOwner, ownerKind } from './ephemeral-owner.js';
import { contentHashOf, nodeDigest } from './digest.js';
import { EMPTY_HASH, hashBytes, hashText, hashUtf8AsText, textOfUtf8, utf16Length } from './fnv.js';
import { NO_PARENT, NodeTable, childHash } from './node-table.js';
import { WatchMode, WatchTable, type Watcher } from './watches.js';
import { LIMIT_NODE, QUOTA_PATH, QuotaIndex, STATS_NODE, StatsTrack, quotaRootOf } from './quota.js';

export { QUOTA_PATH };

export const ROOT_NODE = 0;
export const ZOOKEEPER_PATH = '/zookeeper';
export const CONFIG_PATH = '/zookeeper/config';
/** Nodes that exist from the start and can never be deleted. */
const SPECIAL_PATHS = new Set(['/', ZOOKEEPER_PATH, QUOTA_PATH, CONFIG_PATH]);

export interface DataTreeOptions {
  /** zookeeper.extendedTypesEnabled: TTL nodes. */
  extendedTypesEnabled: boolean;
  /** zookeeper.digest.enabled (default true): keep the tree digest and its log current. */
  digestEnabled?: boolean;
}

/** A tree digest recorded at a zxid, as `hash` prints it. */
export interface ZxidDigest {
  zxid: number;
  digest: number;
}

/** ZooKeeper logs the digest at every 128th zxid (0x80, so logs line up) and keeps 1024 of them. */
/** Paths kept by DataTree.lookup's cache: more than a busy server's working set of parents and hot nodes. */
const LOOKUP_CACHE_ENTRIES = 8192;
const DIGEST_LOG_INTERVAL = 128;
const DIGEST_LOG_LIMIT = 1024;

/** Znode data as the tree gives it and takes it: bytes, null distinct from empty. */
export type NodeData = Uint8Array | null;

const NO_DATA = new Uint8Array(0);

/** What a snapshot stores of a znode besides its place, name and data. */
export interface RestoredStat {
  czxid: number;
  mzxid: number;
  pzxid: number;
  ctime: number;
  mtime: number;
  version: number;
  /** Stored cversion: children created. */
  cversion: number;
  aversion: number;
  owner: bigint;
  aclRef: number;
}


export class DataTree {
  readonly nodes = new NodeTable();
  readonly acls = new AclCache();
  readonly dataWatches = new WatchTable();
  readonly childWatches = new WatchTable();
  /** Session id → paths of its ephemeral nodes. */
  readonly ephemerals = new Map<bigint, Set<string>>();
  readonly containers = new Set<string>();
  readonly ttls = new Set<string>();
  /** The last zxid whose transaction was applied. */
  lastProcessedZxid = 0;
  /** Sum of path lengths and data lengths, as ZooKeeper's approximate data size. */
  approximateDataSize = 0;
  /** Paths with a quota; their zookeeper_stats nodes are kept current. */
  readonly quotas = new QuotaIndex();
  /**
   * The sum (mod 2^32) of every znode's digest, updated on each change so
   * replicas can be compared at any zxid without walking the tree.
   */
  digest = 0;
  /** Digests at every 128th zxid, oldest first (ZooKeeper's digest log, printed by `hash`). */
  readonly digestLog: ZxidDigest[] = [];
  private readonly digestEnabled: boolean;
  /**
   * Recently found paths → node. Requests name the same paths again and again (a write is
   * looked up when prepared and again when applied; creates share a parent), and one hash
   * lookup of the whole path costs less than slicing and looking up each segment. Only
   * found nodes are kept; a delete forgets its path, so an entry is never stale. Cleared
   * when full, which bounds it.
   */
  private readonly lookupCache = new Map<string, number>();

  /**
   * While a snapshot is being restored, by node id: path lengths (for
   * approximateDataSize) and path hashes (for the digest), each built from
   * the parent's without building the path.
   */
  private restoring: { pathLengths: number[]; pathHashes: number[] } | null = null;

  constructor(
    readonly options: DataTreeOptions,
    empty = false,
  ) {
    this.digestEnabled = options.digestEnabled ?? true;
    if (empty) return;
    const root = this.nodes.allocate(NO_PARENT, NO_DATA, NO_DATA);
    this.nodes.aclRef[root] = this.acls.acquire(OPEN_ACL_UNSAFE);
    this.approximateDataSize = '/'.length;
    this.nodes.contentHash[root] = contentHashOf('/', NO_DATA);
    this.addDigest(root);
    this.addSystemNode(ZOOKEEPER_PATH, OPEN_ACL_UNSAFE);
    this.addSystemNode(QUOTA_PATH, OPEN_ACL_UNSAFE);
    // ZooKeeper restricts /zookeeper/config with setACL(path, READ_ACL_UNSAFE, -1),
    // which stores the -1 as its aversion; clients see aversion -1 there.
    this.addSystemNode(CONFIG_PATH, READ_ACL_UNSAFE, -1);
  }

  /** A tree without even a root, to be filled by `restoreNode` from a snapshot. */
  static blank(options: DataTreeOptions): DataTree {
    const tree = new DataTree(options, true);
    tree.restoring = { pathLengths: [], pathHashes: [] };
    return tree;
  }

  /** System nodes have an all-zero Stat, as in Apache ZooKeeper. */
  private addSystemNode(path: string, acl: readonly ACL[], aversion = 0): void {
    const parent = this.lookup(parentOf(path));
    const node = this.nodes.allocate(parent, Buffer.from(nameOf(path), 'utf8'), NO_DATA);
    this.nodes.aclRef[node] = this.acls.acquire(acl);
    this.nodes.aversion[node] = aversion;
    this.approximateDataSize += path.length;
    this.nodes.contentHash[node] = contentHashOf(path, NO_DATA);
    this.addDigest(node);
  }

  get nodeCount(): number {
    return this.nodes.size;
  }

  static isSpecialPath(path: string): boolean {
    return SPECIAL_PATHS.has(path);
  }

  /** The node at `path`, or −1. Malformed paths simply do not match. */
  lookup(path: string): number {
    // ZooKeeper keeps the root under "" too, so reads of "" see the root (writes validate paths first).
    if (path === '/' || path === '') return ROOT_NODE;
    const cached = this.lookupCache.get(path);
    if (cached !== undefined) return cached;
    const node = this.walk(path);
    if (node !== -1) {
      if (this.lookupCache.size >= LOOKUP_CACHE_ENTRIES) this.lookupCache.clear();
      this.lookupCache.set(path, node);
    }
    return node;
  }

  /** Finds `path` segment by segment from the root (without slicing it). */
  private walk(path: string): number {
    if (path.charCodeAt(0) !== 0x2f) return -1;
    let node = ROOT_NODE;
    let start = 1;
    for (;;) {
      const slash = path.indexOf('/', start);
      const end = slash === -1 ? path.length : slash;
      node = this.nodes.childOf(node, path, start, end);
      if (node === -1 || slash === -1) return node;
      start = slash + 1;
    }
  }

  numChildren(node: number): number {
    return this.nodes.numChildren(node);
  }

  statOf(node: number): Stat {
    const n = this.nodes;
    const numChildren = this.numChildren(node);
    return {
      czxid: n.czxid[node]!,
      mzxid: n.mzxid[node]!,
      ctime: n.ctime[node]!,
      mtime: n.mtime[node]!,
      version: n.version[node]!,
      // Stored cversion counts creates; clients see creates plus deletes.
      cversion: n.cversion[node]! * 2 - numChildren,
      aversion: n.aversion[node]!,
      ephemeralOwner: clientVisibleOwner(n.owner[node]!, this.options.extendedTypesEnabled),
      dataLength: n.dataLength(node),
      numChildren,
      pzxid: n.pzxid[node]!,
    };
  }

  /** The node's data: a view that stays valid however the tree changes later. */
  dataOf(node: number): NodeData {
    return this.nodes.dataOf(node);
  }

  aclOf(node: number): readonly ACL[] {
    return this.acls.get(this.nodes.aclRef[node]!);
  }

  ownerOf(node: number): bigint {
    return this.nodes.owner[node]!;
  }

  ownerKindOf(node: number): OwnerKind {
    return ownerKind(this.nodes.owner[node]!, this.options.extendedTypesEnabled);
  }

  /** The full path of a node, rebuilt from the parent and name columns. */
  pathOf(node: number): string {
    if (node === ROOT_NODE) return '/';
    let path = '';
    for (let id = node; id !== ROOT_NODE; id = this.nodes.parent[id]!) path = `/${this.nodes.nameOf(id)}${path}`;
    return path;
  }

  /** The names of a node's children, oldest first. */
  childrenOf(node: number): string[] {
    return this.nodes.childIds(node).map((child) => this.nodes.nameOf(child));
  }

  /** Number of descendants of `path` (getAllChildrenNumber). */
  descendantCount(node: number): number {
    let count = 0;
    const stack = [node];
    while (stack.length > 0) {
      const id = stack.pop()!;
      count += this.nodes.numChildren(id);
      // Not push(...ids): a node may have more children than a call can take arguments.
      for (const child of this.nodes.childIds(id)) stack.push(child);
    }
    return count;
  }

  // ---- mutations, called only while applying committed transactions ----

  /**
   * Creates a znode. `parentCVersion` is the parent's new create count as
   * decided by the leader (−1: increment).
   */
  createNode(
    path: string,
    data: NodeData,
    acl: readonly ACL[],
    owner: bigint,
    parentCVersion: number,
    zxid: number,
    time: number,
  ): number {
    const parentPath = parentOf(path);
    const parent = this.lookup(parentPath);
    if (parent === -1) throw new KeeperError(ErrorCode.NoNode, parentPath);
    const nameStart = path.lastIndexOf('/') + 1;
    const n = this.nodes;
    // Hashed once: for the check, and for the child table when the node is added.
    const hash = childHash(parent, path, nameStart, path.length);
    if (n.childOf(parent, path, nameStart, path.length, hash) !== -1) throw new KeeperError(ErrorCode.NodeExists, path);
    const newCVersion = parentCVersion === -1 ? n.cversion[parent]! + 1 : parentCVersion;
    // Replaying a txn log over a fuzzy snapshot can meet a parent that is
    // already ahead; never move its cversion and pzxid backwards.
    if (newCVersion > n.cversion[parent]!) {
      this.removeDigest(parent);
      n.willChange(parent);
      n.cversion[parent] = newCVersion;
      n.pzxid[parent] = zxid;
      this.addDigest(parent);
    }
    const node = n.allocate(parent, nameBytes(path, nameStart), data, hash);
    n.czxid[node] = zxid;
    n.mzxid[node] = zxid;
    n.pzxid[node] = zxid;
    n.ctime[node] = time;
    n.mtime[node] = time;
    n.owner[node] = owner;
    n.aclRef[node] = this.acls.acquire(acl);
    n.contentHash[node] = contentHashOf(path, data);
    this.addDigest(node);
    this.approximateDataSize += path.length + (data?.length ?? 0);
    this.indexOwner(path, owner, true);
    if (parentPath.startsWith(QUOTA_PATH)) this.quotaNodeCreated(parentPath, path.slice(nameStart));
    this.updateQuotaUsage(path, data?.length ?? 0, 1);
    this.dataWatches.trigger(path, EventType.NodeCreated, zxid, this.aclOf(node));
    this.childWatches.trigger(parentPath, EventType.NodeChildrenChanged, zxid, this.aclOf(parent));
    return node;
  }

  deleteNode(path: string, zxid: number): void {
    const parentPath = parentOf(path);
    const parent = this.lookup(parentPath);
    if (parent === -1) throw new KeeperError(ErrorCode.NoNode, parentPath);
    const nameStart = path.lastIndexOf('/') + 1;
    const node = this.nodes.childOf(parent, path, nameStart, path.length);
    // A replayed delete may find the child already gone; pzxid still moves.
    if (zxid > this.nodes.pzxid[parent]!) {
      this.removeDigest(parent);
      this.nodes.willChange(parent);
      this.nodes.pzxid[parent] = zxid;
      this.addDigest(parent);
    }
    if (node === -1) throw new KeeperError(ErrorCode.NoNode, path);
    if (this.nodes.numChildren(node) > 0) throw new KeeperError(ErrorCode.NotEmpty, path);
    this.lookupCache.delete(path);
    const owner = this.nodes.owner[node]!;
    const acl = this.aclOf(node);
    const dataLength = this.nodes.dataLength(node);
    this.approximateDataSize -= path.length + dataLength;
    this.removeDigest(node);
    this.acls.release(this.nodes.aclRef[node]!);
    this.nodes.release(node);
    this.indexOwner(path, owner, false);
    if (parentPath.startsWith(QUOTA_PATH) && nameOf(path) === LIMIT_NODE) this.quotas.delete(quotaRootOf(parentPath));
    this.updateQuotaUsage(path, -dataLength, -1);
    const fired = this.dataWatches.trigger(path, EventType.NodeDeleted, zxid, acl);
    this.childWatches.trigger(path, EventType.NodeDeleted, zxid, acl, fired);
    this.childWatches.trigger(parentPath, EventType.NodeChildrenChanged, zxid, this.aclOf(parent));
  }

  private indexOwner(path: string, owner: bigint, add: boolean): void {
    switch (ownerKind(owner, this.options.extendedTypesEnabled)) {
      case OwnerKind.Persistent:
        return;
      case OwnerKind.Container:
        if (add) this.containers.add(path);
        else this.containers.delete(path);
        return;
      case OwnerKind.Ttl:
        if (add) this.ttls.add(path);
        else this.ttls.delete(path);
        return;
      case OwnerKind.Session: {
        let paths = this.ephemerals.get(owner);
        if (add) {
          if (paths === undefined) this.ephemerals.set(owner, (paths = new Set()));
          paths.add(path);
        } else if (paths !== undefined) {
          paths.delete(path);
          if (paths.size === 0) this.ephemerals.delete(owner);
        }
      }
    }
  }

  setData(path: string, data: NodeData, version: number, zxid: number, time: number): number {
    const node = this.lookup(path);
    if (node === -1) throw new KeeperError(ErrorCode.NoNode, path);
    const n = this.nodes;
    const bytesDiff = (data?.length ?? 0) - n.dataLength(node);
    this.approximateDataSize += bytesDiff;
    this.removeDigest(node);
    n.willChange(node);
    n.setData(node, data);
    n.contentHash[node] = contentHashOf(path, data);
    n.mtime[node] = time;
    n.mzxid[node] = zxid;
    n.version[node] = version;
    this.addDigest(node);
    this.updateQuotaUsage(path, bytesDiff, 0);
    this.dataWatches.trigger(path, EventType.NodeDataChanged, zxid, this.aclOf(node));
    return node;
  }

  setAcl(path: string, acl: readonly ACL[], aversion: number): number {
    const node = this.lookup(path);
    if (node === -1) throw new KeeperError(ErrorCode.NoNode, path);
    const n = this.nodes;
    const ref = this.acls.acquire(acl);
    this.acls.release(n.aclRef[node]!);
    this.removeDigest(node);
    n.willChange(node);
    n.aclRef[node] = ref;
    n.aversion[node] = aversion;
    this.addDigest(node);
    return node;
  }

  // ---- quotas ----

  /** A limits node makes a quota root; a stats node starts with the subtree's current usage. */
  private quotaNodeCreated(parentPath: string, name: string): void {
    const root = quotaRootOf(parentPath);
    if (name === LIMIT_NODE) this.quotas.add(root);
    if (name === STATS_NODE) this.recountQuota(root);
  }

  private recountQuota(root: string): void {
    const start = this.lookup(root);
    const statsPath = `${QUOTA_PATH}${root}/${STATS_NODE}`;
    const stats = this.lookup(statsPath);
    if (stats === -1) return;
    let count = 0;
    let bytes = 0;
    const stack = start === -1 ? [] : [start];
    while (stack.length > 0) {
      const node = stack.pop()!;
      count++;
      bytes += this.nodes.dataLength(node);
      for (const child of this.nodes.childIds(node)) stack.push(child);
    }
    const track = new StatsTrack();
    track.set('count', count);
    track.set('bytes', bytes);
    this.setDataQuietly(stats, statsPath, track.toString());
  }

  /** Adds a change's count and bytes to the stats of the deepest quota above `path` (updateQuotaStat). */
  private updateQuotaUsage(path: string, bytesDiff: number, countDiff: number): void {
    const root = this.quotas.maxPrefix(path);
    if (root === null) return;
    const statsPath = `${QUOTA_PATH}${root}/${STATS_NODE}`;
    const stats = this.lookup(statsPath);
    if (stats === -1) return;
    const track = new StatsTrack(textOf(this.nodes.dataOf(stats)));
    track.set('count', track.get('count') + countDiff);
    track.set('bytes', track.get('bytes') + bytesDiff);
    this.setDataQuietly(stats, statsPath, track.toString());
  }

  /** ZooKeeper rewrites stats nodes in place: no new version or mzxid, no watch event. */
  private setDataQuietly(node: number, path: string, text: string): void {
    const data = Buffer.from(text, 'utf8');
    this.approximateDataSize += data.length - this.nodes.dataLength(node);
    this.removeDigest(node);
    this.nodes.willChange(node);
    this.nodes.setData(node, data);
    this.nodes.contentHash[node] = contentHashOf(path, data);
    this.addDigest(node);
  }

  /** Moves a parent's cversion and pzxid forward (replay of a create that found its node). */
  advanceCVersion(path: string, cversion: number, zxid: number): void {
    const node = this.lookup(path);
    if (node === -1) throw new KeeperError(ErrorCode.NoNode, path);
    if (cversion > this.nodes.cversion[node]!) {
      this.removeDigest(node);
      this.nodes.willChange(node);
      this.nodes.cversion[node] = cversion;
      this.nodes.pzxid[node] = zxid;
      this.addDigest(node);
    }
  }

  // ---- the tree digest ----

  /** Adds a node's share; its contentHash must be current. */
  private addDigest(node: number): void {
    if (this.digestEnabled) this.digest = (this.digest + nodeDigest(this.nodes, node, this.nodes.contentHash[node]!)) >>> 0;
  }

  /** Removes a node's share; called before any of its Stat, path or data changes. */
  private removeDigest(node: number): void {
    if (this.digestEnabled) this.digest = (this.digest - nodeDigest(this.nodes, node, this.nodes.contentHash[node]!)) >>> 0;
  }

  /** Called once a transaction is applied: every 128th zxid enters the digest log. */
  recordDigest(zxid: number): void {
    if (!this.digestEnabled || zxid % DIGEST_LOG_INTERVAL !== 0) return;
    this.digestLog.push({ zxid, digest: this.digest });
    if (this.digestLog.length > DIGEST_LOG_LIMIT) this.digestLog.shift();
  }

  /** Deletes a closed session's ephemerals: those the txn names, then any left. */
  killSession(sessionId: bigint, zxid: number, paths: readonly string[]): void {
    const remaining = this.ephemerals.get(sessionId);
    for (const path of [...paths, ...(remaining ?? [])]) {
      const node = this.lookup(path);
      if (node === -1 || this.nodes.owner[node] !== sessionId) continue;
      this.deleteNode(path, zxid);
    }
  }

  // ---- restoring from a snapshot ----

  /**
   * Adds the snapshot's node number `id` (nodes arrive parents first, so ids
   * are allocated in order). `parent` is −1 for the root.
   */
  restoreNode(id: number, parent: number, name: Uint8Array, data: NodeData, stat: RestoredStat): void {
    if (this.restoring === null) throw new Error('restoreNode outside a restore');
    const { pathLengths, pathHashes } = this.restoring;
    const n = this.nodes;
    if (id !== n.highWater || (id === ROOT_NODE) !== (parent === -1) || parent >= id) {
      throw new KeeperError(ErrorCode.DataInconsistency, textOfUtf8(name), `snapshot node ${id} has parent ${parent}`);
    }
    const node = n.allocate(parent === -1 ? NO_PARENT : parent, name, data);
    n.czxid[node] = stat.czxid;
    n.mzxid[node] = stat.mzxid;
    n.pzxid[node] = stat.pzxid;
    n.ctime[node] = stat.ctime;
    n.mtime[node] = stat.mtime;
    n.version[node] = stat.version;
    n.cversion[node] = stat.cversion;
    n.aversion[node] = stat.aversion;
    n.owner[node] = stat.owner;
    n.aclRef[node] = stat.aclRef;
    this.acls.addUse(stat.aclRef);
    if (parent === -1) {
      pathLengths[node] = 1;
      // The root's children extend the empty prefix: "/" + name.
      pathHashes[node] = EMPTY_HASH;
      n.contentHash[node] = contentHashOf('/', data);
    } else {
      // Paths are hashed and measured as strings.
      pathLengths[node] = (parent === ROOT_NODE ? 0 : pathLengths[parent]!) + 1 + utf16Length(name);
      pathHashes[node] = hashUtf8AsText(hashText(pathHashes[parent]!, '/'), name);
      n.contentHash[node] = data === null ? pathHashes[node]! : hashBytes(pathHashes[node]!, data);
    }
    this.addDigest(node);
    this.approximateDataSize += pathLengths[node]! + (data?.length ?? 0);
    if (stat.owner !== PERSISTENT_OWNER) this.indexOwner(this.pathOf(node), stat.owner, true);
    if (name.length === LIMIT_NODE.length && textOfUtf8(name) === LIMIT_NODE) {
      const parentPath = this.pathOf(parent);
      if (parentPath.startsWith(QUOTA_PATH)) this.quotas.add(quotaRootOf(parentPath));
    }
  }

  finishRestore(zxid: number): void {
    this.restoring = null;
    this.lastProcessedZxid = zxid;
  }

  // ---- watches ----

  addDataWatch(path: string, watcher: Watcher): void {
    this.dataWatches.add(path, watcher, WatchMode.Standard);
  }

  addChildWatch(path: string, watcher: Watcher): void {
    this.childWatches.add(path, watcher, WatchMode.Standard);
  }

  /** addWatch: a persistent watch covers data and children; a recursive one covers data events below. */
  addPersistentWatch(path: string, watcher: Watcher, recursive: boolean): void {
    if (recursive) {
      this.dataWatches.add(path, watcher, WatchMode.PersistentRecursive);
    } else {
      this.dataWatches.add(path, watcher, WatchMode.Persistent);
      this.childWatches.add(path, watcher, WatchMode.Persistent);
    }
  }

  removeWatcher(watcher: Watcher): void {
    this.dataWatches.removeWatcher(watcher);
    this.childWatches.removeWatcher(watcher);
  }
}

/** Znode data as UTF-8 text (quota nodes hold text). */
export function textOf(data: NodeData): string | null {
  return data === null ? null : textOfUtf8(data);
}

/** Names up to this long are encoded in a buffer kept for the purpose. */
const NAME_SCRATCH = Buffer.allocUnsafe(256);

/** The UTF-8 bytes of `path` from `start` on (a name), to be copied before the next call. */
function nameBytes(path: string, start: number): Uint8Array {
  const length = path.length - start;
  if (length <= NAME_SCRATCH.length) {
    let i = 0;
    for (; i < length; i++) {
      const c = path.charCodeAt(start + i);
      if (c >= 0x80) break;
      NAME_SCRATCH[i] = c;
    }
    if (i === length) return NAME_SCRATCH.subarray(0, length);
  }
  return Buffer.from(path.slice(start), 'utf8');
}
