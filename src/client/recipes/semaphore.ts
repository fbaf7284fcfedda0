/**
 * The counting semaphore (Curator's InterProcessSemaphoreV2): a lease is an
 * ephemeral-sequential node under `<path>/leases`. A contender takes the
 * mutex at `<path>/locks`, adds its lease node and waits, still holding the
 * mutex, until at most `maxLeases` nodes exist; then it lets the mutex go.
 * Only the mutex holder adds nodes, so at most one contender is ever over
 * the limit, and it is the one that waits.
 */
import { EventEmitter } from 'node:events';
import { CreateMode, ErrorCode, KeeperError, watchOnce, type ZkClient } from '../mod.js';
import type { Data } from '../types.js';
import {
  Deadline,
  NodeHold,
  TIMED_OUT,
  bySequence,
  childPath,
  createProtected,
  deleteInBackground,
  deleteNode,
  hasNodeName,
  isKeeperError,
  isSessionEnded,
  nameOf,
  retryOnConnectionLoss,
  sweepProtectedOrphans,
  type HoldState,
  type NodeHoldEvents,
  type ProtectedNode,
  type WaitOptions,
} from './internal.js';
import { Lock } from './lock.js';

const LEASE_NAME = 'lease-';

export interface SemaphoreOptions {
  /** Stored in each lease node of this Semaphore (who holds it), for whoever reads the nodes leaseNodes() lists. */
  data?: Data;
}

/**
 * A distributed semaphore: at most `maxLeases` leases are held at a time,
 * across all clients that use the same path and limit.
 *
 * ```ts
 * const semaphore = new Semaphore(client, '/app/semaphores/db', 3);
 * const lease = await semaphore.acquire({ timeoutMs: 5_000 });
 * if (lease !== null) {
 *   try {
 *     await work(lease.signal);
 *   } finally {
 *     await lease.release();
 *   }
 * }
 * ```
 */
export class Semaphore {
  private readonly locksPath: string;
  private readonly leasesPath: string;

  constructor(
    readonly client: ZkClient,
    readonly path: string,
    readonly maxLeases: number,
    private readonly options: SemaphoreOptions = {},
  ) {
    if (!Number.isInteger(maxLeases) || maxLeases < 1) throw new RangeError(`maxLeases must be a positive integer, not ${maxLeases}`);
    this.locksPath = childPath(path, 'locks');
    this.leasesPath = childPath(path, 'leases');
  }

  /**
   * Waits for a lease. Resolves with it, or null if `timeoutMs` passed
   * first; rejects with the signal's reason if it aborts.
   */
  async acquire(options: WaitOptions = {}): Promise<Lease | null> {
    const deadline = new Deadline(options);
    // A Lock per call: the mutex is reentrant per Lock object, and two calls of this Semaphore must exclude each other.
    const mutex = new Lock(this.client, this.locksPath);
    if (!(await mutex.acquire(deadline.remaining()))) return null;
    try {
      const creation = createProtected(this.client, this.leasesPath, LEASE_NAME, this.options.data ?? null, CreateMode.EPHEMERAL_SEQUENTIAL);
      let node: ProtectedNode | typeof TIMED_OUT;
      try {
        node = await deadline.wait(creation);
      } catch (error) {
        creation.then((created) => deleteInBackground(this.client, created.path)).catch(() => undefined);
        throw error;
      }
      if (node === TIMED_OUT) {
        creation.then((created) => deleteInBackground(this.client, created.path)).catch(() => undefined);
        return null;
      }
      let granted = false;
      try {
        granted = await this.waitForRoom(node, deadline);
      } finally {
        if (!granted) deleteInBackground(this.client, node.path);
      }
      return granted ? new Lease(this.client, node.path) : null;
    } finally {
      await mutex.release();
    }
  }

  /** The lease nodes in order of creation: the holders, and at most one waiter. */
  async leaseNodes(): Promise<string[]> {
    try {
      const children = await retryOnConnectionLoss(() => this.client.getChildren(this.leasesPath));
      return children.filter((child) => hasNodeName(child, LEASE_NAME)).sort(bySequence);
    } catch (error) {
      if (isKeeperError(error, ErrorCode.NoNode)) return [];
      throw error;
    }
  }

  private async waitForRoom(node: ProtectedNode, deadline: Deadline): Promise<boolean> {
    const ours = nameOf(node.path);
    for (;;) {
      const changed = watchOnce();
      const children = await retryOnConnectionLoss(() => this.client.getChildren(this.leasesPath, { watch: changed.callback }));
      sweepProtectedOrphans(this.client, this.leasesPath, children, node);
      const leases = children.filter((child) => hasNodeName(child, LEASE_NAME) && (child === ours || !child.startsWith(node.prefix)));
      if (!leases.includes(ours)) throw new KeeperError(ErrorCode.NoNode, node.path, 'our lease node is gone (was the session lost?)');
      if (leases.length <= this.maxLeases) return true;
      if ((await deadline.wait(changed.event)) === TIMED_OUT) return false;
    }
  }
}

export type LeaseEvents = NodeHoldEvents;

/**
 * A semaphore lease. Like a held Lock it follows the session: `suspended`
 * on a disconnect, `reconnected`, and `lost` (with `signal` aborted) when
 * the session ends or its node is deleted.
 */
export class Lease extends EventEmitter<LeaseEvents> {
  private readonly hold: NodeHold;
  private released = false;

  constructor(
    private readonly client: ZkClient,
    /** The lease's node. */
    readonly path: string,
  ) {
    super();
    this.hold = new NodeHold(client, path);
    this.hold.on('suspended', (reason) => this.emit('suspended', reason));
    this.hold.on('reconnected', () => this.emit('reconnected'));
    this.hold.on('lost', (reason) => this.emit('lost', reason));
  }

  /** True while held and connected. */
  get isValid(): boolean {
    return !this.released && this.hold.isValid;
  }

  get state(): HoldState | 'released' {
    return this.released ? 'released' : this.hold.state;
  }

  /** Aborts when the lease is lost. */
  get signal(): AbortSignal {
    return this.hold.signal;
  }

  /** Gives the lease back (idempotent; a lost lease is released without error). */
  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    this.hold.dispose();
    try {
      await deleteNode(this.client, this.path);
    } catch (error) {
      if (!isSessionEnded(error)) throw error;
    }
  }
}
