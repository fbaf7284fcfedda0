/**
 * Watch tables. A data tree has two: data watches (set by exists/getData,
 * fired by create, delete and setData) and child watches (set by
 * getChildren, fired by create and delete of a child, and delete of the node).
 *
 * Each (watcher, path) pair holds a set of modes: a one-shot (standard)
 * watch, a persistent one, a persistent-recursive one, or several at once.
 * That is Apache ZooKeeper 3.9's model (ZOOKEEPER-4466); 3.8 kept one mode
 * per pair, so a one-shot watch replaced a persistent one on the same path.
 */
import { parentOf } from '../protocol/paths.js';
import type { ACL } from '../protocol/records.js';

/** Whoever set a watch: a client connection. */
export interface Watcher {
  /**
   * Delivers a fired watch. `zxid` is the change's zxid, or −1 when unknown;
   * `acl` is the ACL of the node the event is about, so that the watcher can
   * drop events on nodes it may not read (as ZooKeeper 3.9 does).
   */
  notify(type: number, path: string, zxid: number, acl: readonly ACL[]): void;
}

export const WatchMode = {
  Standard: 1,
  Persistent: 2,
  PersistentRecursive: 4,
} as const;
export type WatchMode = (typeof WatchMode)[keyof typeof WatchMode];

const ANY_MODE = WatchMode.Standard | WatchMode.Persistent | WatchMode.PersistentRecursive;

export class WatchTable {
  /** path → watcher → mode bits. */
  private readonly byPath = new Map<string, Map<Watcher, number>>();
  /** watcher → the paths it watches here, for cleanup when it goes away. */
  private readonly byWatcher = new Map<Watcher, Set<string>>();
  private recursiveCount = 0;

  /** Adds `mode` for (path, watcher); returns false if it was already there. */
  add(path: string, watcher: Watcher, mode: WatchMode): boolean {
    let watchers = this.byPath.get(path);
    if (watchers === undefined) {
      watchers = new Map();
      this.byPath.set(path, watchers);
    }
    const modes = watchers.get(watcher) ?? 0;
    if ((modes & mode) !== 0) return false;
    watchers.set(watcher, modes | mode);
    let paths = this.byWatcher.get(watcher);
    if (paths === undefined) {
      paths = new Set();
      this.byWatcher.set(watcher, paths);
    }
    paths.add(path);
    if (mode === WatchMode.PersistentRecursive) this.recursiveCount++;
    return true;
  }

  /** Whether (path, watcher) has `mode`, or any mode when `mode` is undefined. */
  contains(path: string, watcher: Watcher, mode?: WatchMode): boolean {
    const modes = this.byPath.get(path)?.get(watcher) ?? 0;
    return (modes & (mode ?? ANY_MODE)) !== 0;
  }

  /** Removes `mode` (or every mode) of (path, watcher); returns whether anything was removed. */
  remove(path: string, watcher: Watcher, mode?: WatchMode): boolean {
    const watchers = this.byPath.get(path);
    const modes = watchers?.get(watcher) ?? 0;
    const removed = modes & (mode ?? ANY_MODE);
    if (watchers === undefined || removed === 0) return false;
    this.setModes(path, watchers, watcher, modes & ~removed);
    if ((removed & WatchMode.PersistentRecursive) !== 0) this.recursiveCount--;
    return true;
  }

  /** Drops every watch of `watcher` (its connection closed). */
  removeWatcher(watcher: Watcher): void {
    const paths = this.byWatcher.get(watcher);
    if (paths === undefined) return;
    for (const path of [...paths]) this.remove(path, watcher);
    this.byWatcher.delete(watcher);
  }

  private setModes(path: string, watchers: Map<Watcher, number>, watcher: Watcher, modes: number): void {
    if (modes !== 0) {
      watchers.set(watcher, modes);
      return;
    }
    watchers.delete(watcher);
    if (watchers.size === 0) this.byPath.delete(path);
    const paths = this.byWatcher.get(watcher);
    paths?.delete(path);
    if (paths?.size === 0) this.byWatcher.delete(watcher);
  }

  /**
   * Fires the watches an event on `path` triggers: every watch on the path
   * itself (one-shot ones are consumed) and, unless the event is a child
   * change, persistent-recursive watches on its ancestors. Each watcher is
   * notified once; those in `suppress` are skipped. Returns who fired.
   */
  trigger(
    path: string,
    type: number,
    zxid: number,
    acl: readonly ACL[],
    suppress?: ReadonlySet<Watcher>,
  ): Set<Watcher> | undefined {
    let fired: Set<Watcher> | undefined;
    const watchers = this.byPath.get(path);
    if (watchers !== undefined) {
      fired = new Set();
      for (const [watcher, modes] of watchers) {
        fired.add(watcher);
        if ((modes & WatchMode.Standard) !== 0) this.setModes(path, watchers, watcher, modes & ~WatchMode.Standard);
      }
    }
    if (this.recursiveCount > 0 && path !== '/') {
      for (let ancestor = parentOf(path); ; ancestor = parentOf(ancestor)) {
        const above = this.byPath.get(ancestor);
        if (above !== undefined) {
          for (const [watcher, modes] of above) {
            if ((modes & WatchMode.PersistentRecursive) !== 0) (fired ??= new Set()).add(watcher);
          }
        }
        if (ancestor === '/') break;
      }
    }
    if (fired === undefined) return undefined;
    for (const watcher of fired) if (suppress === undefined || !suppress.has(watcher)) watcher.notify(type, path, zxid, acl);
    return fired;
  }

  /** Number of (path, watcher) pairs. */
  get watchCount(): number {
    let n = 0;
    for (const watchers of this.byPath.values()) n += watchers.size;
    return n;
  }

  get pathCount(): number {
    return this.byPath.size;
  }

  watchersOf(path: string): Watcher[] {
    return [...(this.byPath.get(path)?.keys() ?? [])];
  }

  pathsOf(watcher: Watcher): string[] {
    return [...(this.byWatcher.get(watcher) ?? [])];
  }

  watchedPaths(): IterableIterator<string> {
    return this.byPath.keys();
  }

  watchers(): IterableIterator<Watcher> {
    return this.byWatcher.keys();
  }
}
