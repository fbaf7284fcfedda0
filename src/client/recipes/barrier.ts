/**
 * Barriers: a simple one that holds everyone back while its node exists
 * (Curator's DistributedBarrier), and the double barrier that lets a fixed
 * number of members start and finish a computation together (Curator's
 * DistributedDoubleBarrier, the ZooKeeper recipe).
 */
import { randomUUID } from 'node:crypto';
import { CreateMode, ErrorCode, watchOnce, type ZkClient } from '../mod.js';
import {
  Deadline,
  TIMED_OUT,
  childPath,
  deleteInBackground,
  deleteNode,
  ensurePath,
  isKeeperError,
  nameOf,
  parentOf,
  retryOnConnectionLoss,
  watchExisting,
  type WaitOptions,
} from './internal.js';

/**
 * A barrier: while its node exists, wait() blocks; removing the node lets
 * every waiter through.
 *
 * ```ts
 * const barrier = new Barrier(client, '/app/barriers/deploy');
 * await barrier.set();              // the coordinator closes the barrier
 * await barrier.wait();             // workers wait here...
 * await barrier.remove();           // ...until the coordinator opens it
 * ```
 */
export class Barrier {
  constructor(
    readonly client: ZkClient,
    readonly path: string,
  ) {}

  /** Closes the barrier (creates its node; no error if it exists). */
  async set(): Promise<void> {
    await ensurePath(this.client, parentOf(this.path));
    try {
      await retryOnConnectionLoss(() => this.client.create(this.path));
    } catch (error) {
      if (isKeeperError(error, ErrorCode.NoNode)) return this.set();
      if (!isKeeperError(error, ErrorCode.NodeExists)) throw error;
    }
  }

  /** Opens the barrier (deletes its node; no error if it is gone). */
  async remove(): Promise<void> {
    await deleteNode(this.client, this.path);
  }

  /**
   * Resolves true once the barrier is open (at once if its node does not
   * exist), false if `timeoutMs` passed first; rejects with the signal's
   * reason on abort.
   */
  async wait(options: WaitOptions = {}): Promise<boolean> {
    const deadline = new Deadline(options);
    for (;;) {
      const changed = await watchExisting(this.client, this.path);
      if (changed === null) return true;
      if ((await deadline.wait(changed.event)) === TIMED_OUT) return false;
    }
  }
}

const READY = 'ready';

export interface DoubleBarrierOptions {
  /** This member's node name under the barrier path; must be unique among the members. Default: a random UUID. */
  id?: string;
}

/**
 * A double barrier: enter() returns once `memberCount` members have
 * entered, leave() once all of them have left. Each member is an ephemeral
 * node under the barrier path, so a member whose session ends is counted
 * out.
 *
 * ```ts
 * const barrier = new DoubleBarrier(client, '/app/barriers/round-7', 5);
 * await barrier.enter();   // all 5 start together
 * await compute();
 * await barrier.leave();   // and finish together
 * ```
 */
export class DoubleBarrier {
  private readonly ourPath: string;
  private readonly readyPath: string;

  constructor(
    readonly client: ZkClient,
    readonly path: string,
    readonly memberCount: number,
    options: DoubleBarrierOptions = {},
  ) {
    if (!Number.isInteger(memberCount) || memberCount < 1) throw new RangeError(`memberCount must be a positive integer, not ${memberCount}`);
    this.ourPath = childPath(path, options.id ?? randomUUID());
    this.readyPath = childPath(path, READY);
  }

  /**
   * Adds this member and waits for the others: resolves true once
   * `memberCount` members have entered, false if `timeoutMs` passed first
   * (this member is then taken out again); rejects with the signal's reason
   * on abort.
   */
  async enter(options: WaitOptions = {}): Promise<boolean> {
    const deadline = new Deadline(options);
    await this.createOurNode();
    let entered = false;
    try {
      entered = await this.waitForMembers(deadline);
      return entered;
    } finally {
      if (!entered) deleteInBackground(this.client, this.ourPath);
    }
  }

  /**
   * Takes this member out and waits for the others: resolves true once
   * every member has left, false if `timeoutMs` passed first; rejects with
   * the signal's reason on abort.
   *
   * The members leave in order (the ZooKeeper recipe): the lowest node waits
   * for the highest one, every other member deletes its node and waits for
   * the lowest, so each wait is on one node.
   */
  async leave(options: WaitOptions = {}): Promise<boolean> {
    const deadline = new Deadline(options);
    const ours = nameOf(this.ourPath);
    for (;;) {
      const members = (await this.members()).sort();
      if (members.length === 0) break;
      if (members.length === 1 && members[0] === ours) {
        await deleteNode(this.client, this.ourPath);
        break;
      }
      const lowest = members[0]!;
      let toWatch: string;
      if (lowest === ours) {
        toWatch = members[members.length - 1]!;
      } else {
        if (members.includes(ours)) await deleteNode(this.client, this.ourPath);
        toWatch = lowest;
      }
      const changed = await watchExisting(this.client, childPath(this.path, toWatch));
      if (changed !== null && (await deadline.wait(changed.event)) === TIMED_OUT) return false;
    }
    // Everyone is out: clear the way for the next round.
    await deleteNode(this.client, this.readyPath);
    return true;
  }

  private async createOurNode(): Promise<void> {
    for (;;) {
      try {
        await retryOnConnectionLoss(() => this.client.create(this.ourPath, null, { mode: CreateMode.EPHEMERAL }));
        return;
      } catch (error) {
        // After a ConnectionLoss the retry finds the node the first attempt created: the id is this member's alone.
        if (isKeeperError(error, ErrorCode.NodeExists)) return;
        if (!isKeeperError(error, ErrorCode.NoNode)) throw error;
        await ensurePath(this.client, this.path);
      }
    }
  }

  private async waitForMembers(deadline: Deadline): Promise<boolean> {
    for (;;) {
      const ready = watchOnce();
      if ((await retryOnConnectionLoss(() => this.client.exists(this.readyPath, { watch: ready.callback }))) !== null) return true;
      if ((await this.members()).length >= this.memberCount) {
        try {
          await retryOnConnectionLoss(() => this.client.create(this.readyPath));
        } catch (error) {
          if (!isKeeperError(error, ErrorCode.NodeExists)) throw error;
        }
        return true;
      }
      if ((await deadline.wait(ready.event)) === TIMED_OUT) return false;
    }
  }

  private async members(): Promise<string[]> {
    try {
      const children = await retryOnConnectionLoss(() => this.client.getChildren(this.path));
      return children.filter((child) => child !== READY);
    } catch (error) {
      if (isKeeperError(error, ErrorCode.NoNode)) return [];
      throw error;
    }
  }
}
