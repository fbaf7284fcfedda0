/**
 * Sessions of a server in read-only mode (`readonlymode.enabled`, cut off from its quorum).
 * They are local to this server, as in Apache ZooKeeper: no transaction records them, the
 * quorum never hears of them, and they all end when the server leaves read-only mode (its
 * clients then look for a read-write server and start new sessions there).
 *
 * A session expires when its client has been silent for its timeout, whether its connection
 * is still open or not; it is checked on the server's tick.
 */

export interface ReadOnlySession {
  readonly id: bigint;
  readonly password: Buffer;
  readonly timeoutMs: number;
  /** Monotonic milliseconds of the client's last sign of life. */
  lastSeenMs: number;
}

export class ReadOnlySessions {
  private readonly sessions = new Map<bigint, ReadOnlySession>();

  get size(): number {
    return this.sessions.size;
  }

  add(id: bigint, password: Buffer, timeoutMs: number, nowMs: number): void {
    this.sessions.set(id, { id, password, timeoutMs, lastSeenMs: nowMs });
  }

  get(id: bigint): ReadOnlySession | undefined {
    return this.sessions.get(id);
  }

  has(id: bigint): boolean {
    return this.sessions.has(id);
  }

  touch(id: bigint, nowMs: number): void {
    const session = this.sessions.get(id);
    if (session !== undefined) session.lastSeenMs = nowMs;
  }

  remove(id: bigint): void {
    this.sessions.delete(id);
  }

  /** Removes and returns the ids of sessions silent for longer than their timeout. */
  expire(nowMs: number): bigint[] {
    const expired: bigint[] = [];
    for (const session of this.sessions.values()) {
      if (nowMs - session.lastSeenMs > session.timeoutMs) expired.push(session.id);
    }
    for (const id of expired) this.sessions.delete(id);
    return expired;
  }

  clear(): void {
    this.sessions.clear();
  }
}
