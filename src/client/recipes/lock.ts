/**
 * The distributed lock (Curator's InterProcessMutex): each contender creates
 * an ephemeral-sequential node under the lock path and holds the lock when
 * its node sorts first; the others each watch only the node just before
 * theirs, so a release wakes one contender, not all of them.
 */
import { EventEmitter } from 'node:events';
import { CreateMode, ErrorCode, KeeperError, type ZkClient } from '../mod.js';
import type { Data, Op } from '../types.js';
import {
  Deadline,
  NodeHold,
  TIMED_OUT,
  SerialQueue,
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
  watchExisting,
  type HoldState,
  type NodeHoldEvents,
  type ProtectedNode,
  type WaitOptions,
} from './internal.js';

/** Decides, from the sorted participants, whether a contender has the lock and otherwise which node it waits for. */
export interface LockDriver {
  /** The node name before the sequence number (after the protection prefix). */
  readonly nodeName: string;
  /** Which children of the lock path take part (sorted by sequence number for `nodeToWatch`). */
  isParticipant(child: string): boolean;
  /** null: the contender at `ourIndex` has the lock; otherwise the name of the node to wait for. */
  nodeToWatch(sorted: readonly string[], ourIndex: number): string | null;
}

/** The mutex: the first participant has the lock, each other one waits for its predecessor. */
export function mutexDriver(nodeName: string): LockDriver {
  return {
    nodeName,
    isParticipant: (child) => hasNodeName(child, nodeName),
    nodeToWatch: (sorted, ourIndex) => (ourIndex === 0 ? null : sorted[ourIndex - 1]!),
  };
}

/**
 * Creates a contender's node and waits until the driver says it holds the
 * lock. Resolves with the node, or null if the deadline passed first; on
 * timeout, abort or failure its node is deleted (in the background when it
 * was still being created), so it never blocks the others.
 */
export async function acquireLockNode(
  client: ZkClient,
  lockPath: string,
  driver: LockDriver,
  data: Data,
  deadline: Deadline,
): Promise<ProtectedNode | null> {
  const creation = createProtected(client, lockPath, driver.nodeName, data, CreateMode.EPHEMERAL_SEQUENTIAL);
  let node: ProtectedNode;
  try {
    const created = await deadline.wait(creation);
    if (created === TIMED_OUT) {
      abandon(client, creation);
      return null;
    }
    node = created;
  } catch (error) {
    abandon(client, creation);
    throw error;
  }
  let acquired = false;
  try {
    acquired = await waitForTurn(client, lockPath, driver, node, deadline);
    return acquired ? node : null;
  } finally {
    if (!acquired) deleteInBackground(client, node.path);
  }
}

function abandon(client: ZkClient, creation: Promise<ProtectedNode>): void {
  creation.then(
    (node) => deleteInBackground(client, node.path),
    () => undefined,
  );
}

async function waitForTurn(client: ZkClient, lockPath: string, driver: LockDriver, node: ProtectedNode, deadline: Deadline): Promise<boolean> {
  const ours = nameOf(node.path);
  for (;;) {
    const children = await retryOnConnectionLoss(() => client.getChildren(lockPath));
    sweepProtectedOrphans(client, lockPath, children, node);
    const sorted = children.filter((child) => driver.isParticipant(child)).sort(bySequence);
    const ourIndex = sorted.indexOf(ours);
    if (ourIndex < 0) throw new KeeperError(ErrorCode.NoNode, node.path, 'our lock node is gone (was the session lost?)');
    const toWatch = driver.nodeToWatch(sorted, ourIndex);
    if (toWatch === null) return true;
    const changed = await watchExisting(client, childPath(lockPath, toWatch));
    // Any event (deletion, a data change, the end of the session) means: look again.
    if (changed !== null && (await deadline.wait(changed.event)) === TIMED_OUT) return false;
  }
}

export interface LockOptions {
  /** Stored in this contender's node (e.g. who is waiting), for whoever reads the nodes participantNodes() lists. */
  data?: Data;
}

export type LockEvents = NodeHoldEvents;

/**
 * A reentrant distributed mutex (Curator's InterProcessMutex). One Lock
 * object is one contender: acquiring it again while it holds the lock only
 * counts up, and it is released when release() was called as often. Two
 * Lock objects on the same path exclude each other, in one process or many.
 *
 * While held, the lock follows the session: on a disconnect it emits
 * `suspended` and isOwned turns false (the session might expire unseen);
 * on reconnecting within the session it emits `reconnected`; once the
 * session ends or the node is deleted it emits `lost`, `signal` aborts, and
 * the lock is not held any more. Work under the lock can make its writes
 * conditional on still holding it with `fencingOp()` in a multi.
 *
 * ```ts
 * const lock = new Lock(client, '/app/locks/report');
 * if (await lock.acquire({ timeoutMs: 10_000 })) {
 *   try {
 *     await client.multi([lock.fencingOp(), { type: 'setData', path: '/app/report', data: 'done' }]);
 *   } finally {
 *     await lock.release();
 *   }
 * }
 * ```
 */
export class Lock extends EventEmitter<LockEvents> {
  private count = 0;
  private hold: NodeHold | null = null;
  private readonly acquisitions = new SerialQueue();

  constructor(
    readonly client: ZkClient,
    readonly path: string,
    private readonly options: LockOptions = {},
    /** How contenders are ordered; the read-write lock's halves bring their own. */
    private readonly driver: LockDriver = mutexDriver('lock-'),
  ) {
    super();
  }

  /**
   * Waits until this contender holds the lock. Resolves true once it does,
   * false if `timeoutMs` passed first; rejects with the signal's reason if
   * it aborts, or with a KeeperError (SessionExpired...) if the client
   * fails. Reentrant; concurrent calls on one Lock take turns.
   */
  async acquire(options: WaitOptions = {}): Promise<boolean> {
    const deadline = new Deadline(options);
    return this.acquisitions.run(async () => {
      if (this.count > 0) {
        if (this.hold!.state === 'lost') throw new Error(`the lock ${this.path} was lost: release() it before acquiring it again`);
        this.count++;
        return true;
      }
      this.beforeAcquire();
      const node = await acquireLockNode(this.client, this.path, this.driver, this.options.data ?? null, deadline);
      if (node === null) return false;
      const hold = new NodeHold(this.client, node.path);
      hold.on('suspended', (reason) => this.emit('suspended', reason));
      hold.on('reconnected', () => this.emit('reconnected'));
      hold.on('lost', (reason) => this.emit('lost', reason));
      this.hold = hold;
      this.count = 1;
      return true;
    });
  }

  /**
   * Counts down one acquire; the last one deletes the node, letting the next
   * contender in. A lock that was lost is released without error (its node
   * went with the session). Rejects if this Lock does not hold the lock.
   */
  async release(): Promise<void> {
    if (this.count === 0) throw new Error(`the lock ${this.path} is not held by this Lock`);
    if (--this.count > 0) return;
    const hold = this.hold!;
    this.hold = null;
    hold.dispose();
    try {
      await deleteNode(this.client, hold.path);
    } catch (error) {
      if (!isSessionEnded(error)) throw error;
    }
  }

  /** True while this Lock holds the lock and is connected; false while suspended and after a loss. */
  get isOwned(): boolean {
    return this.hold?.isValid ?? false;
  }

  /** held, suspended or lost while acquired; null when not acquired. */
  get holdState(): HoldState | null {
    return this.hold?.state ?? null;
  }

  /** How many acquire() calls are not yet released. */
  get holdCount(): number {
    return this.count;
  }

  /** This contender's node while it holds the lock. */
  get nodePath(): string | null {
    return this.hold?.path ?? null;
  }

  /** Aborts when the current hold is lost (an aborted signal if not held): pass it to work done under the lock. */
  get signal(): AbortSignal {
    return this.hold?.signal ?? AbortSignal.abort(new Error(`the lock ${this.path} is not held`));
  }

  /**
   * A check op on this contender's node for a multi: the transaction is
   * applied only while the node exists, i.e. only while the lock is still
   * held, even if this process was paused past its session's expiry.
   */
  fencingOp(): Op {
    if (this.hold === null) throw new Error(`the lock ${this.path} is not held by this Lock`);
    return { type: 'check', path: this.hold.path, version: -1 };
  }

  /** The contenders' nodes in lock order (the holder first). */
  async participantNodes(): Promise<string[]> {
    try {
      const children = await retryOnConnectionLoss(() => this.client.getChildren(this.path));
      return children.filter((child) => this.driver.isParticipant(child)).sort(bySequence);
    } catch (error) {
      if (isKeeperError(error, ErrorCode.NoNode)) return [];
      throw error;
    }
  }

  /** A hook for the read-write lock's halves to refuse an acquisition that could never succeed. */
  protected beforeAcquire(): void {}
}
