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
import { NodeTable } from './node-table.js';
import { WatchMode, WatchTable, type Watcher } from './watches.js';

export const ROOT_NODE = 0;
export const ZOOKEEPER_PATH = '/zookeeper';
export const QUOTA_PATH = '/zookeeper/quota';
export const CONFIG_PATH = '/zookeeper/config';
/** Nodes that exist from the start and can never be deleted. */
const SPECIAL_PATHS = new Set(['/', ZOOKEEPER_PATH, QUOTA_PATH, CONFIG_PATH]);

export interface DataTreeOptions {
  /** zookeeper.extendedTypesEnabled: TTL nodes. */
  extendedTypesEnabled: boolean;
}

/** Znode data as the tree keeps it: latin1 strings, null distinct from empty. */
export type NodeData = string | null;

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

/** Converts txn data (a byte view or a latin1 string) into the tree's own copy. */
export function toNodeData(data: Uint8Array | string | null): NodeData {
  if (data === null || typeof data === 'string') return data;
  return Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('latin1');
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

  /** Path lengths by node id while a snapshot is being restored (for approximateDataSize). */
  private restorePathLengths: number[] | null = null;

  constructor(
    readonly options: DataTreeOptions,
    empty = false,
  ) {
    if (empty) return;
    const root = this.nodes.allocate();
    this.nodes.aclRef[root] = this.acls.acquire(OPEN_ACL_UNSAFE);
    this.nodes.data[root] = '';
    this.approximateDataSize = '/'.length;
    this.addSystemNode(ZOOKEEPER_PATH, OPEN_ACL_UNSAFE);
    this.addSystemNode(QUOTA_PATH, OPEN_ACL_UNSAFE);
    this.addSystemNode(CONFIG_PATH, READ_ACL_UNSAFE);
    // ZooKeeper restricts /zookeeper/config with setACL(path, READ_ACL_UNSAFE, -1),
    // which stores the -1 as its aversion; clients see aversion -1 there.
    this.nodes.aversion[this.lookup(CONFIG_PATH)] = -1;
  }

  /** A tree without even a root, to be filled by `restoreNode` from a snapshot. */
  static blank(options: DataTreeOptions): DataTree {
    const tree = new DataTree(options, true);
    tree.restorePathLengths = [];
    return tree;
  }

  /** System nodes have an all-zero Stat, as in Apache ZooKeeper. */
  private addSystemNode(path: string, acl: readonly ACL[]): void {
    const parent = this.lookup(parentOf(path));
    const node = this.nodes.allocate();
    this.nodes.aclRef[node] = this.acls.acquire(acl);
    this.nodes.data[node] = '';
    this.nodes.parent[node] = parent;
    this.nodes.name[node] = nameOf(path);
    this.childMap(parent).set(nameOf(path), node);
    this.approximateDataSize += path.length;
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
    if (path.charCodeAt(0) !== 0x2f) return -1;
    const children = this.nodes.children;
    let node = ROOT_NODE;
    let start = 1;
    for (;;) {
      const slash = path.indexOf('/', start);
      const kids = children[node];
      if (kids === undefined) return -1;
      const next = kids.get(slash === -1 ? path.slice(start) : path.slice(start, slash));
      if (next === undefined) return -1;
      if (slash === -1) return next;
      node = next;
      start = slash + 1;
    }
  }

  private childMap(node: number): Map<string, number> {
    let kids = this.nodes.children[node];
    if (kids === undefined) {
      kids = new Map();
      this.nodes.children[node] = kids;
    }
    return kids;
  }

  numChildren(node: number): number {
    return this.nodes.children[node]?.size ?? 0;
  }

  statOf(node: number): Stat {
    const n = this.nodes;
    const numChildren = this.numChildren(node);
    const data = n.data[node];
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
      dataLength: data === null || data === undefined ? 0 : data.length,
      numChildren,
      pzxid: n.pzxid[node]!,
    };
  }

  dataOf(node: number): NodeData {
    return this.nodes.data[node] ?? null;
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
    for (let id = node; id !== ROOT_NODE; id = this.nodes.parent[id]!) path = `/${this.nodes.name[id]}${path}`;
    return path;
  }

  childrenOf(node: number): string[] {
    const kids = this.nodes.children[node];
    return kids === undefined ? [] : [...kids.keys()];
  }

  /** Number of descendants of `path` (getAllChildrenNumber). */
  descendantCount(node: number): number {
    let count = 0;
    const stack = [node];
    while (stack.length > 0) {
      const kids = this.nodes.children[stack.pop()!];
      if (kids === undefined) continue;
      count += kids.size;
      for (const child of kids.values()) stack.push(child);
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
    const name = nameOf(path);
    const siblings = this.childMap(parent);
    if (siblings.has(name)) throw new KeeperError(ErrorCode.NodeExists, path);
    const n = this.nodes;
    const newCVersion = parentCVersion === -1 ? n.cversion[parent]! + 1 : parentCVersion;
    // Replaying a txn log over a fuzzy snapshot can meet a parent that is
    // already ahead; never move its cversion and pzxid backwards.
    if (newCVersion > n.cversion[parent]!) {
      n.willChange(parent);
      n.cversion[parent] = newCVersion;
      n.pzxid[parent] = zxid;
    }
    const node = n.allocate();
    n.czxid[node] = zxid;
    n.mzxid[node] = zxid;
    n.pzxid[node] = zxid;
    n.ctime[node] = time;
    n.mtime[node] = time;
    n.owner[node] = owner;
    n.aclRef[node] = this.acls.acquire(acl);
    n.data[node] = data;
    n.parent[node] = parent;
    n.name[node] = name;
    siblings.set(name, node);
    this.approximateDataSize += path.length + (data?.length ?? 0);
    this.indexOwner(path, owner, true);
    this.dataWatches.trigger(path, EventType.NodeCreated, zxid, this.aclOf(node));
    this.childWatches.trigger(parentPath, EventType.NodeChildrenChanged, zxid, this.aclOf(parent));
    return node;
  }

  deleteNode(path: string, zxid: number): void {
    const parentPath = parentOf(path);
    const parent = this.lookup(parentPath);
    if (parent === -1) throw new KeeperError(ErrorCode.NoNode, parentPath);
    const siblings = this.nodes.children[parent];
    const name = nameOf(path);
    const node = siblings?.get(name);
    // A replayed delete may find the child already gone; pzxid still moves.
    if (zxid > this.nodes.pzxid[parent]!) {
      this.nodes.willChange(parent);
      this.nodes.pzxid[parent] = zxid;
    }
    if (node === undefined) throw new KeeperError(ErrorCode.NoNode, path);
    if (this.nodes.children[node]?.size) throw new KeeperError(ErrorCode.NotEmpty, path);
    siblings!.delete(name);
    if (siblings!.size === 0) this.nodes.children[parent] = undefined;
    const owner = this.nodes.owner[node]!;
    const acl = this.aclOf(node);
    this.approximateDataSize -= path.length + (this.nodes.data[node]?.length ?? 0);
    this.acls.release(this.nodes.aclRef[node]!);
    this.nodes.release(node);
    this.indexOwner(path, owner, false);
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
    this.approximateDataSize += (data?.length ?? 0) - (n.data[node]?.length ?? 0);
    n.willChange(node);
    n.data[node] = data;
    n.mtime[node] = time;
    n.mzxid[node] = zxid;
    n.version[node] = version;
    this.dataWatches.trigger(path, EventType.NodeDataChanged, zxid, this.aclOf(node));
    return node;
  }

  setAcl(path: string, acl: readonly ACL[], aversion: number): number {
    const node = this.lookup(path);
    if (node === -1) throw new KeeperError(ErrorCode.NoNode, path);
    const n = this.nodes;
    const ref = this.acls.acquire(acl);
    this.acls.release(n.aclRef[node]!);
    n.willChange(node);
    n.aclRef[node] = ref;
    n.aversion[node] = aversion;
    return node;
  }

  /** Moves a parent's cversion and pzxid forward (replay of a create that found its node). */
  advanceCVersion(path: string, cversion: number, zxid: number): void {
    const node = this.lookup(path);
    if (node === -1) throw new KeeperError(ErrorCode.NoNode, path);
    if (cversion > this.nodes.cversion[node]!) {
      this.nodes.willChange(node);
      this.nodes.cversion[node] = cversion;
      this.nodes.pzxid[node] = zxid;
    }
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
  restoreNode(id: number, parent: number, name: string, data: NodeData, stat: RestoredStat): void {
    const pathLengths = this.restorePathLengths;
    if (pathLengths === null) throw new Error('restoreNode outside a restore');
    const n = this.nodes;
    const node = n.allocate();
    if (node !== id || (id === ROOT_NODE) !== (parent === -1) || parent >= id) {
      throw new KeeperError(ErrorCode.DataInconsistency, name, `snapshot node ${id} has parent ${parent}`);
    }
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
    n.data[node] = data;
    if (parent === -1) {
      pathLengths[node] = 1;
    } else {
      n.parent[node] = parent;
      n.name[node] = name;
      this.childMap(parent).set(name, node);
      pathLengths[node] = (parent === ROOT_NODE ? 0 : pathLengths[parent]!) + 1 + name.length;
    }
    this.approximateDataSize += pathLengths[node]! + (data?.length ?? 0);
    if (stat.owner !== PERSISTENT_OWNER) this.indexOwner(this.pathOf(node), stat.owner, true);
  }

  finishRestore(zxid: number): void {
    this.restorePathLengths = null;
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
