/**
 * Quotas, as ZooKeeper keeps them: a quota on path P is a node
 * `/zookeeper/quota/P/zookeeper_limits` whose data is a StatsTrack string
 * (`count=10,bytes=-1` plus `=;countHardLimit=...` for hard limits), and the
 * server maintains `/zookeeper/quota/P/zookeeper_stats`, the subtree's current
 * count and bytes. The shell's setquota/listquota/delquota work on these nodes.
 */
export const QUOTA_PATH = '/zookeeper/quota';
export const LIMIT_NODE = 'zookeeper_limits';
export const STATS_NODE = 'zookeeper_stats';

/** A StatsTrack: key → value, −1 when absent (StatsTrack.getValue). */
export class StatsTrack {
  private readonly values = new Map<string, number>();

  constructor(text: string | null = null) {
    if (text === null || text.length === 0) return;
    for (const pair of text.split(/[,;]+/)) {
      if (pair.length === 0) continue;
      // Java's split drops trailing empty strings: "bytes=5=" is ["bytes", "5"].
      const [key, value] = pair.split('=');
      this.values.set(key!, value === undefined || value === '' ? -1 : Number.parseInt(value, 10));
    }
  }

  get(key: string): number {
    return this.values.get(key) ?? -1;
  }

  set(key: string, value: number): void {
    this.values.set(key, value);
  }

  /** count and bytes first; other keys after an extra "=" that old parsers ignore, sorted. */
  toString(): string {
    const extra = [...this.values.keys()].filter((k) => k !== 'count' && k !== 'bytes').sort();
    let out = `count=${this.get('count')},bytes=${this.get('bytes')}`;
    if (extra.length > 0) out += '=' + extra.map((k) => `;${k}=${this.values.get(k)}`).join('');
    return out;
  }
}

/** The quota root a quota-node path belongs to: "/zookeeper/quota/a/b" → "/a/b". */
export function quotaRootOf(quotaNodeParent: string): string {
  return quotaNodeParent.slice(QUOTA_PATH.length);
}

/** The paths that have a quota (a limits node), and lookups of the deepest one above a path. */
export class QuotaIndex {
  private readonly roots = new Set<string>();

  add(root: string): void {
    this.roots.add(root);
  }

  delete(root: string): void {
    this.roots.delete(root);
  }

  get size(): number {
    return this.roots.size;
  }

  /** The deepest quota root at or above `path` (never "/" itself), or null (DataTree.getMaxPrefixWithQuota). */
  maxPrefix(path: string): string | null {
    if (this.roots.size === 0) return null;
    for (let end = path.length; end > 0; end = path.lastIndexOf('/', end - 1)) {
      const prefix = path.slice(0, end);
      if (this.roots.has(prefix)) return prefix;
    }
    return null;
  }
}
