/**
 * The tail of the replicated log a peer keeps in memory: every transaction
 * not yet committed, plus up to `keepCommitted` committed ones, so a leader
 * can bring a lagging learner up to date with a DIFF instead of a snapshot.
 */
import { zxidFollows } from '../protocol/zxid.js';

export interface LoggedTxn {
  zxid: number;
  txn: Uint8Array;
}

export class History {
  private entries: LoggedTxn[] = [];
  private head = 0;
  /** The zxid just before the first entry kept (what a learner at `base` needs no DIFF before). */
  private baseZxid: number;

  constructor(
    base: number,
    initial: readonly LoggedTxn[],
    private readonly keepCommitted: number,
  ) {
    this.baseZxid = base;
    for (const entry of initial) this.append(entry);
  }

  get base(): number {
    return this.baseZxid;
  }

  get last(): number {
    return this.entries.length > this.head ? this.entries[this.entries.length - 1]!.zxid : this.baseZxid;
  }

  get size(): number {
    return this.entries.length - this.head;
  }

  append(entry: LoggedTxn): void {
    if (!zxidFollows(this.last, entry.zxid)) {
      throw new Error(`history: 0x${entry.zxid.toString(16)} does not follow 0x${this.last.toString(16)}`);
    }
    this.entries.push(entry);
  }

  /** Whether `zxid` is the base or one of the kept entries. */
  contains(zxid: number): boolean {
    return zxid === this.baseZxid || this.indexOf(zxid) !== -1;
  }

  private indexOf(zxid: number): number {
    let lo = this.head;
    let hi = this.entries.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const at = this.entries[mid]!.zxid;
      if (at === zxid) return mid;
      if (at < zxid) lo = mid + 1;
      else hi = mid - 1;
    }
    return -1;
  }

  /** The largest kept zxid below `zxid` (the base if none), or null if `zxid` is at or below the base. */
  lastBefore(zxid: number): number | null {
    if (zxid <= this.baseZxid) return null;
    let found = this.baseZxid;
    for (let i = this.head; i < this.entries.length && this.entries[i]!.zxid < zxid; i++) found = this.entries[i]!.zxid;
    return found;
  }

  get(zxid: number): LoggedTxn | undefined {
    const i = this.indexOf(zxid);
    return i === -1 ? undefined : this.entries[i];
  }

  /** Entries with zxid in (after, upTo]. */
  range(after: number, upTo: number): LoggedTxn[] {
    const out: LoggedTxn[] = [];
    for (let i = this.head; i < this.entries.length; i++) {
      const entry = this.entries[i]!;
      if (entry.zxid > upTo) break;
      if (entry.zxid > after) out.push(entry);
    }
    return out;
  }

  /** Drops entries after `zxid` (a TRUNC). */
  truncateAfter(zxid: number): void {
    while (this.entries.length > this.head && this.entries[this.entries.length - 1]!.zxid > zxid) this.entries.pop();
    if (zxid < this.baseZxid) this.baseZxid = zxid;
  }

  /** Forgets everything: the log now starts after `zxid` (a snapshot was installed). */
  reset(zxid: number): void {
    this.entries = [];
    this.head = 0;
    this.baseZxid = zxid;
  }

  /** Forgets committed entries beyond the last `keepCommitted` ones. */
  trim(committed: number): void {
    let keepFrom = this.head;
    while (keepFrom < this.entries.length && this.entries[keepFrom]!.zxid <= committed) keepFrom++;
    const firstKept = Math.max(this.head, keepFrom - this.keepCommitted);
    if (firstKept === this.head) return;
    this.baseZxid = this.entries[firstKept - 1]!.zxid;
    this.head = firstKept;
    if (this.head > 4096 && this.head * 2 > this.entries.length) {
      this.entries = this.entries.slice(this.head);
      this.head = 0;
    }
  }
}
