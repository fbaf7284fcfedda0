/**
 * A shared integer (Curator's SharedCount): one node whose data is the value
 * in decimal text (readable with `get` in the shell), changed by
 * compare-and-set on the node's version.
 */
import { setTimeout as delay } from 'node:timers/promises';
import { CreateMode, ErrorCode, KeeperError, type ZkClient } from '../mod.js';
import { ensurePath, isKeeperError, parentOf, retryOnConnectionLoss } from './internal.js';

/** A value with the node version it was read at, for trySetCount. */
export interface VersionedValue {
  value: number;
  version: number;
}

export interface SharedCounterOptions {
  /** The value the node is created with when it does not exist yet. Default 0. */
  initialValue?: number;
}

export interface AddOptions {
  /** How many times a lost race (BadVersion) is retried before giving up with BadVersion. Default 1000. */
  maxRetries?: number;
}

const DEFAULT_MAX_RETRIES = 1000;

/**
 * ```ts
 * const counter = new SharedCounter(client, '/app/counters/jobs');
 * const next = await counter.increment();            // atomic, retried on conflicts
 * const current = await counter.get();               // { value, version }
 * const won = await counter.trySetCount(current, 0); // only if nobody changed it since
 * ```
 *
 * A write whose answer is lost to a ConnectionLoss is retried only if the
 * node shows it was not applied (the version did not move); if the version
 * moved, whether it was this write cannot be known and the call rejects
 * with ConnectionLoss.
 */
export class SharedCounter {
  private readonly initialValue: number;

  constructor(
    readonly client: ZkClient,
    readonly path: string,
    options: SharedCounterOptions = {},
  ) {
    this.initialValue = checkValue(options.initialValue ?? 0);
  }

  /** The current value and the version to pass to trySetCount; creates the node if needed. */
  async get(): Promise<VersionedValue> {
    for (;;) {
      try {
        const { data, stat } = await retryOnConnectionLoss(() => this.client.getData(this.path));
        return { value: parseValue(this.path, data), version: stat.version };
      } catch (error) {
        if (!isKeeperError(error, ErrorCode.NoNode)) throw error;
      }
      await this.create();
    }
  }

  /**
   * Sets the value only if the node is still at `previous.version`:
   * true if it was set, false if someone changed it first.
   */
  async trySetCount(previous: VersionedValue, value: number): Promise<boolean> {
    return (await this.compareAndSet(previous.version, checkValue(value))) !== null;
  }

  /** Sets the value unconditionally. */
  async setCount(value: number): Promise<void> {
    checkValue(value);
    for (;;) {
      const current = await this.get();
      if ((await this.compareAndSet(current.version, value)) !== null) return;
    }
  }

  /** Adds `delta` atomically (retrying lost races with a short random back-off); resolves with the new value. */
  async add(delta: number, options: AddOptions = {}): Promise<number> {
    checkValue(delta);
    const maxRetries = options.maxRetries ?? DEFAULT_MAX_RETRIES;
    for (let attempt = 0; ; attempt++) {
      const current = await this.get();
      const value = checkValue(current.value + delta);
      if ((await this.compareAndSet(current.version, value)) !== null) return value;
      if (attempt >= maxRetries) throw new KeeperError(ErrorCode.BadVersion, this.path, `still contended after ${maxRetries} retries`);
      await delay(Math.random() * Math.min(50, 1 + attempt));
    }
  }

  increment(options?: AddOptions): Promise<number> {
    return this.add(1, options);
  }

  decrement(options?: AddOptions): Promise<number> {
    return this.add(-1, options);
  }

  /** setData at `version`: the new version, or null if the node had moved on. */
  private async compareAndSet(version: number, value: number): Promise<number | null> {
    for (;;) {
      try {
        return (await this.client.setData(this.path, String(value), { version })).version;
      } catch (error) {
        if (isKeeperError(error, ErrorCode.BadVersion)) return null;
        if (isKeeperError(error, ErrorCode.NoNode)) {
          await this.create();
          return null;
        }
        if (!isKeeperError(error, ErrorCode.ConnectionLoss)) throw error;
      }
      const { stat } = await retryOnConnectionLoss(() => this.client.getData(this.path));
      if (stat.version !== version) {
        throw new KeeperError(ErrorCode.ConnectionLoss, this.path, 'the connection was lost and the node changed: whether this write was applied is unknown');
      }
    }
  }

  private async create(): Promise<void> {
    await ensurePath(this.client, parentOf(this.path), CreateMode.PERSISTENT);
    try {
      await retryOnConnectionLoss(() => this.client.create(this.path, String(this.initialValue)));
    } catch (error) {
      if (!isKeeperError(error, ErrorCode.NodeExists)) throw error;
    }
  }
}

function checkValue(value: number): number {
  if (!Number.isSafeInteger(value)) throw new RangeError(`a counter holds safe integers, not ${value}`);
  return value;
}

function parseValue(path: string, data: Buffer | null): number {
  const text = data?.toString('utf8') ?? '';
  const value = Number(text);
  if (text.trim() === '' || !Number.isSafeInteger(value)) {
    throw new KeeperError(ErrorCode.MarshallingError, path, `the node does not hold an integer: ${JSON.stringify(text.slice(0, 40))}`);
  }
  return value;
}
