/**
 * Which server to try next, and how long to wait first.
 *
 * The list is shuffled once (so clients spread over the ensemble) and tried
 * in turn; every attempt moves to the next server, so a client that lost
 * its server tries another one first. Within a round the next server is tried
 * at once; after each full round of failures the wait doubles from
 * `initialDelayMs` up to the cap, with jitter so that many clients cut off
 * together do not return in lockstep. The first attempt after a connection
 * loss also waits a random fraction of `initialDelayMs`, for the same reason.
 *
 * While connected to a read-only server the session probes the others in
 * turn (`other`) and moves to the first that serves writes (`prefer`).
 */
import type { ServerAddress } from './connect-string.js';

export interface BackoffPolicy {
  initialDelayMs: number;
  maxDelayMs: number;
}

export class HostRotation {
  private readonly servers: ServerAddress[];
  private index = 0;
  /** Attempts since the last successful connection. */
  private attempts = 0;
  private hasConnected = false;
  private probeIndex = -1;

  constructor(
    servers: readonly ServerAddress[],
    shuffle: boolean,
    private readonly backoff: BackoffPolicy,
    private readonly random: () => number = Math.random,
  ) {
    this.servers = [...servers];
    if (shuffle) {
      for (let i = this.servers.length - 1; i > 0; i--) {
        const j = Math.floor(this.random() * (i + 1));
        [this.servers[i], this.servers[j]] = [this.servers[j]!, this.servers[i]!];
      }
    }
  }

  get order(): readonly ServerAddress[] {
    return this.servers;
  }

  /** The next server to try and the delay before trying it, never above `capMs`. */
  next(capMs: number): { server: ServerAddress; delayMs: number } {
    const server = this.servers[this.index]!;
    this.index = (this.index + 1) % this.servers.length;
    const attempt = this.attempts++;
    return { server, delayMs: Math.min(capMs, this.delayBefore(attempt)) };
  }

  /** Any server of the list but the given one, in turn (for probing while connected to that one). */
  other(than: ServerAddress): ServerAddress | null {
    if (this.servers.length < 2) return null;
    this.probeIndex = (this.probeIndex + 1) % this.servers.length;
    const server = this.servers[this.probeIndex]!;
    return server === than ? this.other(than) : server;
  }

  /** The next attempt goes to this server (one of the list). */
  prefer(server: ServerAddress): void {
    const index = this.servers.indexOf(server);
    if (index === -1) return;
    this.index = index;
    this.attempts = 0;
  }

  /** A connection succeeded: the next loss starts a new sequence of attempts. */
  connected(): void {
    this.attempts = 0;
    this.hasConnected = true;
  }

  private delayBefore(attempt: number): number {
    const { initialDelayMs, maxDelayMs } = this.backoff;
    if (attempt === 0) return this.hasConnected ? this.random() * initialDelayMs : 0;
    if (attempt % this.servers.length !== 0) return 0;
    const rounds = attempt / this.servers.length;
    const ceiling = Math.min(maxDelayMs, initialDelayMs * 2 ** Math.min(rounds, 30));
    return ceiling / 2 + (this.random() * ceiling) / 2;
  }
}
