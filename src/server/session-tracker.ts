/**
 * SessionTracker: when each live session expires. As in Apache ZooKeeper's
 * ExpiryQueue, deadlines are rounded up to the next tick boundary and
 * sessions are kept in one bucket per tick, so a touch is O(1) and each tick
 * expires a whole bucket. Time is passed in (milliseconds on a monotonic
 * clock), which keeps this testable without timers.
 */

export class SessionTracker {
  /** sessionId → the tick boundary at which it expires. */
  private readonly deadlines = new Map<bigint, number>();
  private readonly timeouts = new Map<bigint, number>();
  private readonly buckets = new Map<number, Set<bigint>>();
  private nextExpiry: number;

  constructor(
    private readonly tickMs: number,
    now: number,
  ) {
    this.nextExpiry = this.roundUp(now);
  }

  private roundUp(time: number): number {
    return (Math.floor(time / this.tickMs) + 1) * this.tickMs;
  }

  get size(): number {
    return this.deadlines.size;
  }

  has(sessionId: bigint): boolean {
    return this.deadlines.has(sessionId);
  }

  timeoutOf(sessionId: bigint): number | undefined {
    return this.timeouts.get(sessionId);
  }

  /** Starts tracking (or re-arms) a session with its timeout. */
  add(sessionId: bigint, timeoutMs: number, now: number): void {
    this.timeouts.set(sessionId, timeoutMs);
    this.touch(sessionId, now);
  }

  /** Pushes the session's deadline out by its timeout; false if it is not tracked. */
  touch(sessionId: bigint, now: number): boolean {
    const timeoutMs = this.timeouts.get(sessionId);
    if (timeoutMs === undefined) return false;
    const deadline = this.roundUp(now + timeoutMs);
    const previous = this.deadlines.get(sessionId);
    if (previous === deadline) return true;
    if (previous !== undefined) this.buckets.get(previous)?.delete(sessionId);
    this.deadlines.set(sessionId, deadline);
    let bucket = this.buckets.get(deadline);
    if (bucket === undefined) this.buckets.set(deadline, (bucket = new Set()));
    bucket.add(sessionId);
    return true;
  }

  /** Forgets every session (leadership lost: only the leader expires sessions). */
  clear(): void {
    this.deadlines.clear();
    this.timeouts.clear();
    this.buckets.clear();
  }

  remove(sessionId: bigint): void {
    const deadline = this.deadlines.get(sessionId);
    if (deadline !== undefined) this.buckets.get(deadline)?.delete(sessionId);
    this.deadlines.delete(sessionId);
    this.timeouts.delete(sessionId);
  }

  /**
   * Sessions whose deadline has passed, in deadline order. They stay tracked
   * (with a deadline in the past) until removed, so a late touch cannot
   * revive a session already being closed.
   */
  expire(now: number): bigint[] {
    const expired: bigint[] = [];
    while (this.nextExpiry <= now) {
      const bucket = this.buckets.get(this.nextExpiry);
      this.buckets.delete(this.nextExpiry);
      if (bucket !== undefined) {
        for (const id of bucket) {
          expired.push(id);
          this.timeouts.delete(id);
        }
      }
      this.nextExpiry += this.tickMs;
    }
    return expired;
  }

  /** The tick boundary at which a session expires, if it is tracked. */
  deadlineOf(sessionId: bigint): number | undefined {
    return this.deadlines.get(sessionId);
  }

  /**
   * The expiry buckets, as the `dump` four-letter word lists them. As in
   * ZooKeeper's ExpiryQueue, a bucket emptied by touches stays until it is due.
   */
  expiryBuckets(): { deadline: number; sessionIds: bigint[] }[] {
    return [...this.buckets].map(([deadline, ids]) => ({ deadline, sessionIds: [...ids] }));
  }

  /** Milliseconds from `now` until the next bucket is due. */
  msUntilNextExpiry(now: number): number {
    return Math.max(0, this.nextExpiry - now);
  }
}
