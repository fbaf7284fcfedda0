/**
 * A local mirror of a subtree (Curator's CuratorCache / TreeCache), kept
 * current by one persistent-recursive watch (ZooKeeper 3.6+).
 *
 * The watch is added before the first load, so every change after it is
 * reported; each event is applied by reading the node again (an event says
 * what changed, not to what), so the mirror converges to the server's state
 * whatever the interleaving of events and reads. Events that happen while
 * the client is disconnected are not replayed after a reconnect, so then the
 * whole subtree is read again and compared with the mirror.
 */
import { EventEmitter } from 'node:events';
import { ErrorCode, EventType, KeeperState, type PersistentWatch, type ZkClient } from '../mod.js';
import type { Stat, WatchEvent } from '../types.js';
import { childPath, isKeeperError, isSessionEnded, retryOnConnectionLoss } from './internal.js';

export interface CachedNode {
  path: string;
  data: Buffer | null;
  stat: Stat;
}

export interface TreeCacheOptions {
  /** Mirror only this many levels below the root (0: the root alone). Default: all. */
  maxDepth?: number;
}

export interface TreeCacheEvents {
  add: [node: CachedNode];
  update: [node: CachedNode, previous: CachedNode];
  remove: [node: CachedNode];
  /** The first load is complete (start() resolves at the same time). */
  initialized: [];
  /** After a reconnect, the subtree was read again and the differences reported as add/update/remove. */
  resynced: [];
  /** A read failed unexpectedly; the cache goes on with the next event. */
  error: [error: unknown];
  /** The cache stopped: close() was called or the session ended. */
  closed: [];
}

/**
 * ```ts
 * const cache = new TreeCache(client, '/app/config');
 * cache.on('update', (node) => console.log(node.path, 'is now', node.data?.toString()));
 * await cache.start();
 * cache.get('/app/config/db')?.data;
 * cache.childrenOf('/app/config'); // ['db', ...]
 * await cache.close();
 * ```
 */
export class TreeCache extends EventEmitter<TreeCacheEvents> {
  private nodes = new Map<string, CachedNode>();
  private watch: PersistentWatch | null = null;
  private running: Promise<void> | null = null;
  private closed = false;
  private readonly maxDepth: number;
  private readonly rootDepth: number;

  constructor(
    readonly client: ZkClient,
    readonly root: string,
    options: TreeCacheOptions = {},
  ) {
    super();
    this.maxDepth = options.maxDepth ?? Infinity;
    this.rootDepth = depthOf(root);
  }

  /** Adds the watch and loads the subtree; resolves once the mirror is complete. */
  async start(): Promise<void> {
    if (this.watch !== null || this.closed) throw new Error(`the cache of ${this.root} was already started`);
    this.watch = await this.client.addWatch(this.root, 'persistentRecursive');
    try {
      this.nodes = await this.load();
    } catch (error) {
      await this.close();
      throw error;
    }
    for (const node of this.nodes.values()) this.emit('add', node);
    this.emit('initialized');
    this.running = this.follow(this.watch);
  }

  /** Stops following changes and removes the watch. Idempotent. */
  async close(): Promise<void> {
    if (!this.closed) {
      this.closed = true;
      await this.watch?.remove().catch(() => undefined);
    }
    await this.running;
  }

  /** The cached node at `path`, if it exists (as far as the cache knows). */
  get(path: string): CachedNode | undefined {
    return this.nodes.get(path);
  }

  /** The names of the cached children of `path`, sorted; undefined if `path` is not cached. */
  childrenOf(path: string): string[] | undefined {
    if (!this.nodes.has(path)) return undefined;
    const prefix = path === '/' ? '/' : `${path}/`;
    const names: string[] = [];
    for (const key of this.nodes.keys()) {
      if (key !== path && key.startsWith(prefix) && !key.includes('/', prefix.length)) names.push(key.slice(prefix.length));
    }
    return names.sort();
  }

  /** Every cached node. */
  entries(): IterableIterator<CachedNode> {
    return this.nodes.values();
  }

  get size(): number {
    return this.nodes.size;
  }

  private async follow(watch: PersistentWatch): Promise<void> {
    let stale = false;
    try {
      for await (const event of watch) {
        if (this.closed) break;
        try {
          if (event.type === EventType.None) {
            if (event.state === KeeperState.Disconnected) stale = true;
            else if (stale && (event.state === KeeperState.SyncConnected || event.state === KeeperState.ConnectedReadOnly)) {
              stale = false;
              await this.resync();
            }
          } else {
            await this.apply(event);
          }
        } catch (error) {
          if (isSessionEnded(error)) break;
          // ConnectionLoss: the reconnect that follows triggers a resync.
          if (isKeeperError(error, ErrorCode.ConnectionLoss)) stale = true;
          else if (this.listenerCount('error') > 0) this.emit('error', error);
        }
      }
    } finally {
      this.closed = true;
      this.emit('closed');
    }
  }

  /** Brings one node up to date after an event about it. */
  private async apply(event: WatchEvent): Promise<void> {
    const path = event.path;
    if (!this.inScope(path)) return;
    if (event.type === EventType.NodeDeleted) {
      this.removeSubtree(path);
      return;
    }
    const node = await this.read(path);
    if (node === null) this.removeSubtree(path);
    else this.put(node);
  }

  private async resync(): Promise<void> {
    const fresh = await this.load();
    for (const [path, node] of this.nodes) {
      if (!fresh.has(path)) {
        this.nodes.delete(path);
        this.emit('remove', node);
      }
    }
    for (const node of fresh.values()) this.put(node);
    this.emit('resynced');
  }

  /** Reads the whole subtree (each level's reads are sent together). */
  private async load(): Promise<Map<string, CachedNode>> {
    const loaded = new Map<string, CachedNode>();
    let level = [this.root];
    while (level.length > 0) {
      const results = await Promise.all(level.map((path) => this.readWithChildren(path)));
      const next: string[] = [];
      for (const result of results) {
        if (result === null) continue;
        loaded.set(result.node.path, result.node);
        for (const name of result.children) next.push(childPath(result.node.path, name));
      }
      level = next;
    }
    return loaded;
  }

  private async readWithChildren(path: string): Promise<{ node: CachedNode; children: string[] } | null> {
    const node = await this.read(path);
    if (node === null) return null;
    if (depthOf(path) - this.rootDepth >= this.maxDepth) return { node, children: [] };
    try {
      return { node, children: await retryOnConnectionLoss(() => this.client.getChildren(path)) };
    } catch (error) {
      if (isKeeperError(error, ErrorCode.NoNode)) return null;
      throw error;
    }
  }

  private async read(path: string): Promise<CachedNode | null> {
    try {
      const { data, stat } = await retryOnConnectionLoss(() => this.client.getData(path));
      return { path, data, stat };
    } catch (error) {
      if (isKeeperError(error, ErrorCode.NoNode)) return null;
      throw error;
    }
  }

  private put(node: CachedNode): void {
    const previous = this.nodes.get(node.path);
    if (previous !== undefined && previous.stat.mzxid === node.stat.mzxid && previous.stat.czxid === node.stat.czxid) return;
    this.nodes.set(node.path, node);
    if (previous === undefined) this.emit('add', node);
    else this.emit('update', node, previous);
  }

  /** Removes a node and everything cached below it (their own deletion events may come later or, after a reconnect, never). */
  private removeSubtree(path: string): void {
    const prefix = path === '/' ? '/' : `${path}/`;
    const removed: CachedNode[] = [];
    for (const [key, node] of this.nodes) {
      if (key === path || key.startsWith(prefix)) removed.push(node);
    }
    // Deepest first, as the server deletes them.
    removed.sort((a, b) => depthOf(b.path) - depthOf(a.path));
    for (const node of removed) {
      this.nodes.delete(node.path);
      this.emit('remove', node);
    }
  }

  private inScope(path: string): boolean {
    if (path !== this.root && !path.startsWith(this.root === '/' ? '/' : `${this.root}/`)) return false;
    return depthOf(path) - this.rootDepth <= this.maxDepth;
  }
}

function depthOf(path: string): number {
  return path === '/' ? 0 : path.split('/').length - 1;
}
