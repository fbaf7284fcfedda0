/**
 * Leader election with a callback (Curator's LeaderSelector): participants
 * queue on a Lock; the holder runs `takeLeadership` and is the leader until
 * the callback returns, then lets the next one in.
 */
import { EventEmitter } from 'node:events';
import type { ZkClient } from '../mod.js';
import { LostError, isSessionEnded, isTerminal } from './internal.js';
import { Lock } from './lock.js';

/**
 * Runs while this participant leads; leadership ends when it returns (or
 * throws). `signal` aborts when leadership must end early: the connection
 * was lost (as in Curator, leadership is given up when it cannot be known to
 * hold), the session ended, or the selector was closed. The callback must
 * then stop promptly; the signal may already be aborted when it is called.
 */
export type TakeLeadership = (signal: AbortSignal) => Promise<void> | void;

export interface LeaderSelectorOptions {
  /** Stored in this participant's node. Default ''. */
  id?: string;
  /** Queue again after each leadership, to lead again later. Default false: lead once per start()/requeue(). */
  autoRequeue?: boolean;
}

export interface LeaderSelectorEvents {
  /** takeLeadership threw (other than because its signal aborted), or queuing failed. */
  error: [error: unknown];
  /** The selector stopped: close() was called or the session ended. */
  closed: [];
}

/**
 * ```ts
 * const selector = new LeaderSelector(client, '/app/scheduler', async (signal) => {
 *   while (!signal.aborted) await runOneRound(signal);
 * }, { autoRequeue: true });
 * selector.start();
 * // ... later
 * await selector.close();
 * ```
 */
export class LeaderSelector extends EventEmitter<LeaderSelectorEvents> {
  private readonly lock: Lock;
  private readonly closing = new AbortController();
  private queued = false;
  private running: Promise<void> | null = null;
  private leading = false;
  private closed = false;

  constructor(
    readonly client: ZkClient,
    readonly path: string,
    private readonly takeLeadership: TakeLeadership,
    private readonly options: LeaderSelectorOptions = {},
  ) {
    super();
    this.lock = new Lock(client, path, { data: options.id ?? '' });
  }

  /** True while takeLeadership runs for this participant and the lock is held. */
  get hasLeadership(): boolean {
    return this.leading && this.lock.isOwned;
  }

  /** Joins the queue (once: see autoRequeue). */
  start(): void {
    if (this.running !== null || this.closed) throw new Error(`the selector on ${this.path} was already started`);
    this.requeue();
  }

  /** Queues for leadership again; false if already queued or leading, or closed. */
  requeue(): boolean {
    if (this.closed || this.queued || this.leading) return false;
    this.queued = true;
    this.running ??= this.run();
    return true;
  }

  /** Leaves the queue, ends a running leadership (aborting its signal) and waits for takeLeadership to return. */
  async close(): Promise<void> {
    if (!this.closed) {
      this.closed = true;
      this.closing.abort(new Error(`the selector on ${this.path} was closed`));
    }
    await this.running;
  }

  private async run(): Promise<void> {
    try {
      while (this.queued && !this.closed) {
        this.queued = this.options.autoRequeue ?? false;
        try {
          await this.lock.acquire({ signal: this.closing.signal });
        } catch (error) {
          if (this.closed) break;
          if (isSessionEnded(error)) {
            this.stop();
            break;
          }
          this.emitError(error);
          continue;
        }
        await this.lead();
      }
    } finally {
      // Synchronously with the loop's last check of `queued`, so that a requeue() from now on starts a new run.
      this.running = null;
      if (this.closed) this.emit('closed');
    }
  }

  private async lead(): Promise<void> {
    const term = new AbortController();
    const end = (reason: string): void => term.abort(new LostError(this.lock.nodePath ?? this.path, reason));
    const onSuspended = (): void => end('disconnected from the server');
    const onLost = (reason: string): void => end(reason);
    const onClose = (): void => end('the selector was closed');
    this.lock.on('suspended', onSuspended);
    this.lock.on('lost', onLost);
    this.closing.signal.addEventListener('abort', onClose);
    // What happened between the acquisition and these listeners fired no event they could hear.
    if (this.closing.signal.aborted) onClose();
    else if (this.lock.holdState === 'suspended') onSuspended();
    else if (this.lock.holdState === 'lost') onLost('lost before the leadership began');
    this.leading = true;
    try {
      await this.takeLeadership(term.signal);
    } catch (error) {
      if (!term.signal.aborted) this.emitError(error);
    } finally {
      this.leading = false;
      this.lock.off('suspended', onSuspended);
      this.lock.off('lost', onLost);
      this.closing.signal.removeEventListener('abort', onClose);
      try {
        await this.lock.release();
      } catch (error) {
        this.emitError(error);
      }
    }
    // A session that ended during the leadership can queue no more.
    if (isTerminal(this.client.state)) this.stop();
  }

  private stop(): void {
    if (this.closed) return;
    this.closed = true;
    this.closing.abort(new Error(`the selector on ${this.path} stopped: the session ended`));
  }

  private emitError(error: unknown): void {
    if (this.listenerCount('error') > 0) this.emit('error', error);
  }
}
