/**
 * The client's side of watches (ZooKeeper's ZKWatchManager): which callbacks
 * wait on which path, keyed by the caller's paths. The server keeps one watch
 * per connection, path and kind and sends one notification; this registry
 * fans it out to every callback registered for it, once each.
 */
import { EventType } from '../protocol/constants.js';
import { parentOf } from '../protocol/paths.js';
import type { EventTypeValue, WatchCallback } from './types.js';

/**
 * data: getData, or exists on a node that exists. exist: exists on a node
 * that does not. child: getChildren. The persistent kinds: addWatch.
 */
export type WatchKind = 'data' | 'exist' | 'child' | 'persistent' | 'persistentRecursive';

export const WATCH_KINDS: readonly WatchKind[] = ['data', 'exist', 'child', 'persistent', 'persistentRecursive'];

export type WatchSnapshot = Record<WatchKind, string[]>;

export class WatchRegistry {
  private readonly tables: Record<WatchKind, Map<string, Set<WatchCallback>>> = {
    data: new Map(),
    exist: new Map(),
    child: new Map(),
    persistent: new Map(),
    persistentRecursive: new Map(),
  };

  get isEmpty(): boolean {
    return WATCH_KINDS.every((kind) => this.tables[kind].size === 0);
  }

  add(kind: WatchKind, path: string, callback: WatchCallback): void {
    const table = this.tables[kind];
    let callbacks = table.get(path);
    if (callbacks === undefined) table.set(path, (callbacks = new Set()));
    callbacks.add(callback);
  }

  remove(kind: WatchKind, path: string, callback: WatchCallback): boolean {
    const table = this.tables[kind];
    const callbacks = table.get(path);
    if (callbacks === undefined || !callbacks.delete(callback)) return false;
    if (callbacks.size === 0) table.delete(path);
    return true;
  }

  has(kind: WatchKind, path: string): boolean {
    return this.tables[kind].has(path);
  }

  /**
   * The callbacks a node event on `path` triggers, each once; one-shot
   * watches are consumed. Recursive watches see every event below their
   * path except NodeChildrenChanged (the server never sends them one, but it
   * may send one for another watch on the same path).
   */
  triggered(type: EventTypeValue, path: string): Set<WatchCallback> {
    const out = new Set<WatchCallback>();
    switch (type) {
      case EventType.NodeCreated:
      case EventType.NodeDataChanged:
        this.consume('data', path, out);
        this.consume('exist', path, out);
        break;
      case EventType.NodeChildrenChanged:
        this.consume('child', path, out);
        break;
      case EventType.NodeDeleted:
        this.consume('data', path, out);
        this.consume('exist', path, out);
        this.consume('child', path, out);
        break;
      default:
        return out;
    }
    addAll(out, this.tables.persistent.get(path));
    const recursive = this.tables.persistentRecursive;
    if (type !== EventType.NodeChildrenChanged && recursive.size > 0) {
      for (let p = path; ; p = parentOf(p)) {
        addAll(out, recursive.get(p));
        if (p === '/') break;
      }
    }
    return out;
  }

  private consume(kind: WatchKind, path: string, out: Set<WatchCallback>): void {
    const table = this.tables[kind];
    addAll(out, table.get(path));
    table.delete(path);
  }

  /** Removes every callback of the given kinds on `path`; returns them with their kind. */
  removeAll(kinds: readonly WatchKind[], path: string): [WatchKind, WatchCallback][] {
    const removed: [WatchKind, WatchCallback][] = [];
    for (const kind of kinds) {
      const callbacks = this.tables[kind].get(path);
      if (callbacks === undefined) continue;
      for (const callback of callbacks) removed.push([kind, callback]);
      this.tables[kind].delete(path);
    }
    return removed;
  }

  /** The watched paths of each kind (to re-arm them on a new connection). */
  snapshot(): WatchSnapshot {
    const paths = (kind: WatchKind): string[] => [...this.tables[kind].keys()];
    return {
      data: paths('data'),
      exist: paths('exist'),
      child: paths('child'),
      persistent: paths('persistent'),
      persistentRecursive: paths('persistentRecursive'),
    };
  }

  /** The snapshot restricted to one path. */
  snapshotOf(path: string): WatchSnapshot {
    const only = (kind: WatchKind): string[] => (this.tables[kind].has(path) ? [path] : []);
    return {
      data: only('data'),
      exist: only('exist'),
      child: only('child'),
      persistent: only('persistent'),
      persistentRecursive: only('persistentRecursive'),
    };
  }

  /** Every persistent callback (they also hear connection state changes). */
  persistentCallbacks(): Set<WatchCallback> {
    const out = new Set<WatchCallback>();
    for (const kind of ['persistent', 'persistentRecursive'] as const) {
      for (const callbacks of this.tables[kind].values()) addAll(out, callbacks);
    }
    return out;
  }

  /** Removes and returns every callback (the session ended). */
  clear(): Set<WatchCallback> {
    const out = new Set<WatchCallback>();
    for (const kind of WATCH_KINDS) {
      for (const callbacks of this.tables[kind].values()) addAll(out, callbacks);
      this.tables[kind].clear();
    }
    return out;
  }
}

function addAll(out: Set<WatchCallback>, callbacks: Set<WatchCallback> | undefined): void {
  if (callbacks !== undefined) for (const callback of callbacks) out.add(callback);
}
