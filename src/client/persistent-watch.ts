/**
 * A persistent or persistent-recursive watch (addWatch) as an async
 * iterator of its events. Besides node events it yields connection state
 * events (type None: Disconnected, SyncConnected, ConnectedReadOnly), because
 * changes made while the client was disconnected are not replayed: a
 * consumer that keeps a cache must re-read after a reconnect. It ends after
 * yielding PersistentWatchRemoved or a terminal state (Expired, Closed,
 * AuthFailed), or when `remove()` is called or a for-await loop breaks.
 */
import { EventType, KeeperState } from '../protocol/constants.js';
import { Fifo } from './fifo.js';
import type { CallOptions, WatchCallback, WatchEvent } from './types.js';

export type PersistentWatchMode = 'persistent' | 'persistentRecursive';

type Waiter = (result: IteratorResult<WatchEvent, undefined>) => void;

export class PersistentWatch implements AsyncIterableIterator<WatchEvent, undefined> {
  /** The callback registered with the client's watch registry. */
  readonly callback: WatchCallback = (event) => this.push(event);
  private readonly buffered = new Fifo<WatchEvent>();
  private readonly waiters = new Fifo<Waiter>();
  private ended = false;
  private removal: Promise<void> | null = null;

  constructor(
    readonly path: string,
    readonly mode: PersistentWatchMode,
    private readonly stop: (watch: PersistentWatch, options: CallOptions) => Promise<void>,
  ) {}

  /** True once no more events will come (buffered ones may still be read). */
  get isEnded(): boolean {
    return this.ended;
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  next(): Promise<IteratorResult<WatchEvent, undefined>> {
    const event = this.buffered.shift();
    if (event !== undefined) return Promise.resolve({ value: event, done: false });
    if (this.ended) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** Called when a for-await loop exits early: stops the watch. */
  async return(): Promise<IteratorResult<WatchEvent, undefined>> {
    await this.remove().catch(() => undefined);
    return { value: undefined, done: true };
  }

  /**
   * Stops the watch: no more events, and the server-side watch is removed
   * unless another PersistentWatch of this client still watches the path
   * the same way. Resolves once the server answered.
   */
  remove(options: CallOptions = {}): Promise<void> {
    if (this.removal === null) {
      const wasEnded = this.ended;
      this.end();
      this.removal = wasEnded ? Promise.resolve() : this.stop(this, options);
    }
    return this.removal;
  }

  private push(event: WatchEvent): void {
    if (this.ended) return;
    const waiter = this.waiters.shift();
    if (waiter !== undefined) waiter({ value: event, done: false });
    else this.buffered.push(event);
    if (isFinal(event)) this.end();
  }

  private end(): void {
    this.ended = true;
    if (this.buffered.length > 0) return;
    for (let waiter = this.waiters.shift(); waiter !== undefined; waiter = this.waiters.shift()) {
      waiter({ value: undefined, done: true });
    }
  }
}

function isFinal(event: WatchEvent): boolean {
  if (event.type === EventType.PersistentWatchRemoved) return true;
  if (event.type !== EventType.None) return false;
  return event.state === KeeperState.Expired || event.state === KeeperState.Closed || event.state === KeeperState.AuthFailed;
}
