/**
 * Distributed queues (Curator's DistributedQueue and
 * DistributedPriorityQueue): an item is a persistent-sequential node under
 * the queue path, and taking it means deleting it.
 *
 * Nothing is duplicated or lost when connections break. Each queue object
 * has two receipt nodes (ephemeral, under `<queue>/.receipts`), and every
 * change it makes writes one of them in the same multi:
 * - put() creates the item and writes a fresh token into the put receipt.
 *   When the answer is lost, the receipt says whether the put was applied.
 *   (Looking for the item instead, as Curator's protected mode does, cannot
 *   tell "not created" from "created and already taken by a consumer": the
 *   producer would put it again.)
 * - take() deletes the item and writes the item's name into the take
 *   receipt. An item is returned only if this consumer's delete succeeded,
 *   so two consumers never get the same item, and a delete that succeeded
 *   is never mistaken for someone else's.
 * A session's requests are applied in order, so reading the receipt after
 * reconnecting sees the multi if it was applied at all.
 *
 * The one case left: if the session expires while an outcome is in doubt,
 * the put or take rejects with SessionExpired; that put may have been
 * applied, that item may be gone without having been returned (the receipt
 * went with the session).
 */
import { randomUUID } from 'node:crypto';
import { CreateMode, ErrorCode, MultiError, watchOnce, type ZkClient } from '../mod.js';
import type { Data, WatchCallback } from '../types.js';
import {
  Deadline,
  SerialQueue,
  TIMED_OUT,
  childPath,
  ensurePath,
  isKeeperError,
  retryOnConnectionLoss,
  sequenceOf,
  type WaitOptions,
} from './internal.js';

const ITEM_PREFIX = 'qn-';
const RECEIPTS = '.receipts';
/** An item's node name: `qn-[<priority as 8 hex digits>-]<sequence>` (`_c_<uuid>-` in front from older versions). */
const ITEM_NAME = /^(?:_c_[0-9a-f-]{36}-)?qn-(?:([0-9a-f]{8})-)?\d{10}$/;
const PRIORITY_OFFSET = 2 ** 31;

export interface QueueItem {
  /** The item's node name (unique in the queue). */
  name: string;
  data: Buffer | null;
}

interface ParsedItem {
  name: string;
  priority: number;
  sequence: number;
}

/** The queue's machinery; the two public classes differ in how items are named and ordered. */
abstract class QueueBase {
  private readonly takes = new SerialQueue();
  private readonly puts = new SerialQueue();
  private readonly takeReceipt: string;
  private readonly putReceipt: string;
  /** Receipt nodes known to exist (in this session). */
  private readonly receipts = new Set<string>();

  constructor(
    readonly client: ZkClient,
    readonly path: string,
  ) {
    const id = randomUUID();
    this.takeReceipt = childPath(childPath(path, RECEIPTS), id);
    this.putReceipt = childPath(childPath(path, RECEIPTS), `${id}-put`);
  }

  /** How many items are queued. */
  async size(): Promise<number> {
    return (await this.items()).length;
  }

  /** Takes the first item if there is one, without waiting: null if the queue is empty. */
  poll(): Promise<QueueItem | null> {
    return this.take({ timeoutMs: 0 });
  }

  /**
   * Takes the first item, waiting for one: resolves with it, or null if
   * `timeoutMs` passed first; rejects with the signal's reason on abort.
   * Concurrent takes of one queue object run one after the other.
   */
  async take(options: WaitOptions = {}): Promise<QueueItem | null> {
    const deadline = new Deadline(options);
    return this.takes.run(async () => {
      for (;;) {
        const changed = watchOnce();
        const items = await this.items(changed.callback);
        for (const item of items) {
          const taken = await this.claim(item.name);
          if (taken !== null) return taken;
        }
        // Every item listed was taken by others meanwhile: list again before waiting.
        if (items.length > 0) continue;
        if ((await deadline.wait(changed.event)) === TIMED_OUT) return null;
      }
    });
  }

  /** Creates the item and writes a fresh token into the put receipt, atomically. Puts of one queue object run one after the other. */
  protected putNode(name: string, data: Data): Promise<void> {
    return this.puts.run(async () => {
      const token = randomUUID();
      await this.ensureReceipt(this.putReceipt);
      for (;;) {
        try {
          await this.client.multi([
            { type: 'create', path: childPath(this.path, name), data, mode: CreateMode.PERSISTENT_SEQUENTIAL },
            { type: 'setData', path: this.putReceipt, data: token },
          ]);
          return;
        } catch (error) {
          if (error instanceof MultiError && error.code === ErrorCode.NoNode) {
            // Either the queue node or our receipt is gone (deleted by hand?): make it again.
            this.receipts.delete(this.putReceipt);
            await ensurePath(this.client, this.path, CreateMode.PERSISTENT);
            await this.ensureReceipt(this.putReceipt);
            continue;
          }
          if (!isKeeperError(error, ErrorCode.ConnectionLoss)) throw error;
        }
        // The answer was lost: the session's requests are applied in order, so the receipt shows whether the multi was.
        const receipt = await retryOnConnectionLoss(() => this.client.getData(this.putReceipt));
        if (receipt.data?.toString('utf8') === token) return;
      }
    });
  }

  /** The queued items in the order they are taken, leaving a child watch if asked. */
  private async items(watch?: WatchCallback): Promise<ParsedItem[]> {
    let children: string[];
    try {
      children = await retryOnConnectionLoss(() => this.client.getChildren(this.path, watch === undefined ? {} : { watch }));
    } catch (error) {
      if (!isKeeperError(error, ErrorCode.NoNode)) throw error;
      // No queue node: create it, so that the next listing can leave its watch.
      await ensurePath(this.client, this.path, CreateMode.PERSISTENT);
      return this.items(watch);
    }
    const items: ParsedItem[] = [];
    for (const name of children) {
      const match = ITEM_NAME.exec(name);
      if (match === null) continue;
      items.push({ name, priority: match[1] === undefined ? 0 : parseInt(match[1], 16), sequence: sequenceOf(name) });
    }
    return items.sort((a, b) => a.priority - b.priority || a.sequence - b.sequence);
  }

  /** Deletes the item and records that in our receipt, atomically; the item if this consumer's delete was applied. */
  private async claim(name: string): Promise<QueueItem | null> {
    const path = childPath(this.path, name);
    let data: Buffer | null;
    try {
      ({ data } = await retryOnConnectionLoss(() => this.client.getData(path)));
    } catch (error) {
      if (isKeeperError(error, ErrorCode.NoNode)) return null;
      throw error;
    }
    await this.ensureReceipt(this.takeReceipt);
    for (;;) {
      try {
        await this.client.multi([
          { type: 'delete', path },
          { type: 'setData', path: this.takeReceipt, data: name },
        ]);
        return { name, data };
      } catch (error) {
        if (error instanceof MultiError && error.code === ErrorCode.NoNode) {
          if (error.failedIndex === 0) return null; // another consumer took it
          this.receipts.delete(this.takeReceipt); // our receipt is gone (deleted by hand?): make it again
          await this.ensureReceipt(this.takeReceipt);
          continue;
        }
        if (!isKeeperError(error, ErrorCode.ConnectionLoss)) throw error;
      }
      // The answer was lost: the session's requests are applied in order, so the receipt shows whether the multi was.
      const receipt = await retryOnConnectionLoss(() => this.client.getData(this.takeReceipt));
      if (receipt.data?.toString('utf8') === name) return { name, data };
    }
  }

  private async ensureReceipt(receiptPath: string): Promise<void> {
    if (this.receipts.has(receiptPath)) return;
    for (;;) {
      try {
        await retryOnConnectionLoss(() => this.client.create(receiptPath, '', { mode: CreateMode.EPHEMERAL }));
        break;
      } catch (error) {
        // NodeExists: ours, from an attempt whose answer was lost (the name is a fresh UUID).
        if (isKeeperError(error, ErrorCode.NodeExists)) break;
        if (!isKeeperError(error, ErrorCode.NoNode)) throw error;
        await ensurePath(this.client, childPath(this.path, RECEIPTS), CreateMode.PERSISTENT);
      }
    }
    this.receipts.add(receiptPath);
  }
}

/**
 * A FIFO queue across processes; each item is taken by exactly one
 * consumer (see the module notes for the connection-loss guarantees).
 *
 * ```ts
 * const queue = new DistributedQueue(client, '/app/jobs');
 * await queue.put(JSON.stringify({ job: 42 }));
 * const item = await queue.take({ timeoutMs: 30_000 });
 * if (item !== null) handle(JSON.parse(item.data!.toString()));
 * ```
 */
export class DistributedQueue extends QueueBase {
  /** Adds an item at the end; resolves once it is queued. */
  put(data: Data): Promise<void> {
    return this.putNode(ITEM_PREFIX, data);
  }
}

/**
 * A queue ordered by priority (lower numbers are taken first), FIFO within
 * a priority. Priorities are integers from −2³¹ to 2³¹−1.
 *
 * ```ts
 * const queue = new PriorityQueue(client, '/app/urgent-jobs');
 * await queue.put('routine', 10);
 * await queue.put('urgent', 0);
 * (await queue.take())!.data!.toString(); // 'urgent'
 * ```
 */
export class PriorityQueue extends QueueBase {
  /** Adds an item with this priority (default 0); resolves once it is queued. */
  async put(data: Data, priority = 0): Promise<void> {
    if (!Number.isInteger(priority) || priority < -PRIORITY_OFFSET || priority >= PRIORITY_OFFSET) {
      throw new RangeError(`priority must be a 32-bit integer, not ${priority}`);
    }
    // Offset so that the hex digits sort as the numbers do.
    const encoded = (priority + PRIORITY_OFFSET).toString(16).padStart(8, '0');
    return this.putNode(`${ITEM_PREFIX}${encoded}-`, data);
  }
}
