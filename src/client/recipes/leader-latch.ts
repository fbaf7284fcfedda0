/**
 * Leader election with a latch (Curator's LeaderLatch): every participant
 * keeps an ephemeral-sequential node under the latch path; the one whose
 * node sorts first is the leader, each other one watches its predecessor.
 */
import { EventEmitter } from 'node:events';
import { CreateMode, ErrorCode, type ClientState, type ZkClient } from '../mod.js';
import {
  Deadline,
  LostError,
  TIMED_OUT,
  bySequence,
  childPath,
  createProtected,
  deleteNode,
  hasNodeName,
  isConnected,
  isKeeperError,
  isSessionEnded,
  isTerminal,
  nameOf,
  retryOnConnectionLoss,
  sweepProtectedOrphans,
  type ProtectedNode,
  type WaitOptions,
} from './internal.js';

const LATCH_NAME = 'latch-';

export interface LeaderLatchOptions {
  /** This participant's id, stored in its node (getLeader() and getParticipants() report it). Default ''. */
  id?: string;
}

export interface Participant {
  id: string;
  /** The participant's node. */
  path: string;
  isLeader: boolean;
}

export interface LeaderLatchEvents {
  /** This participant became the leader. */
  isLeader: [];
  /** This participant stopped being the leader: disconnected, session ended, node deleted, or close(). */
  notLeader: [reason: string];
  /** A background check failed unexpectedly (the latch checks again on the next change). */
  error: [error: unknown];
  /** The latch ended: close() was called or the session ended (then create a new client and latch). */
  closed: [];
}

export type LeaderLatchState = 'latent' | 'started' | 'closed';

/**
 * Leader election: of all started latches on a path, exactly one has
 * leadership at a time (as seen by the server: its node is first).
 *
 * Leadership is given up as soon as it cannot be known to hold, as with
 * Curator's default policy: on a disconnect (`notLeader`, and
 * `leadershipSignal` aborts); after reconnecting within the session the
 * latch checks again and may lead again. When the session ends the latch
 * closes; a new one needs a new client.
 *
 * ```ts
 * const latch = new LeaderLatch(client, '/app/leader', { id: 'worker-1' });
 * latch.on('isLeader', () => startDuties(latch.leadershipSignal));
 * await latch.start();
 * await latch.awaitLeadership();
 * ```
 */
export class LeaderLatch extends EventEmitter<LeaderLatchEvents> {
  private current: LeaderLatchState = 'latent';
  private node: ProtectedNode | null = null;
  private term: AbortController | null = null;
  private checking = false;
  private checkAgain = false;

  constructor(
    readonly client: ZkClient,
    readonly path: string,
    private readonly options: LeaderLatchOptions = {},
  ) {
    super();
  }

  get state(): LeaderLatchState {
    return this.current;
  }

  /** True while this participant is the leader and connected (the client's state is read now). */
  get hasLeadership(): boolean {
    return this.term !== null && isConnected(this.client.state);
  }

  /** Aborts when the current leadership ends; an aborted signal when not the leader. */
  get leadershipSignal(): AbortSignal {
    return this.term?.signal ?? AbortSignal.abort(new Error(`not the leader of ${this.path}`));
  }

  /** This participant's node, once created. */
  get nodePath(): string | null {
    return this.node?.path ?? null;
  }

  /** Joins the election: resolves once this participant's node exists (not when it leads; see awaitLeadership). */
  async start(): Promise<void> {
    if (this.current !== 'latent') throw new Error(`the latch on ${this.path} was already started`);
    this.current = 'started';
    this.client.on('state', this.onClientState);
    try {
      await this.join();
    } catch (error) {
      await this.close();
      throw error;
    }
  }

  /**
   * Resolves true once this participant leads (at once if it does), false
   * if `timeoutMs` passed first; rejects with the signal's reason on abort,
   * and if the latch closes first.
   */
  async awaitLeadership(options: WaitOptions = {}): Promise<boolean> {
    const deadline = new Deadline(options);
    if (this.hasLeadership) return true;
    if (this.current === 'closed') throw new Error(`the latch on ${this.path} is closed`);
    let stop = (): void => undefined;
    const settled = new Promise<void>((resolve, reject) => {
      const onLeader = (): void => {
        stop();
        resolve();
      };
      const onClosed = (): void => {
        stop();
        reject(new Error(`the latch on ${this.path} closed`));
      };
      this.on('isLeader', onLeader);
      this.on('closed', onClosed);
      stop = () => {
        this.off('isLeader', onLeader);
        this.off('closed', onClosed);
      };
    });
    try {
      return (await deadline.wait(settled)) !== TIMED_OUT;
    } finally {
      stop();
    }
  }

  /** Leaves the election: gives up leadership and deletes this participant's node. Idempotent. */
  async close(): Promise<void> {
    if (this.current === 'closed') return;
    this.end('closed');
    const node = this.node;
    this.node = null;
    if (node === null) return;
    try {
      await deleteNode(this.client, node.path);
    } catch (error) {
      if (!isSessionEnded(error)) throw error;
    }
  }

  /** The participants in election order (the leader first). */
  async getParticipants(): Promise<Participant[]> {
    const sorted = await this.sortedParticipants();
    const participants = await Promise.all(
      sorted.map(async (name, index): Promise<Participant | null> => {
        const path = childPath(this.path, name);
        try {
          const { data } = await retryOnConnectionLoss(() => this.client.getData(path));
          return { id: data?.toString('utf8') ?? '', path, isLeader: index === 0 };
        } catch (error) {
          if (isKeeperError(error, ErrorCode.NoNode)) return null;
          throw error;
        }
      }),
    );
    return participants.filter((p): p is Participant => p !== null);
  }

  /** The current leader, or null if there is none. */
  async getLeader(): Promise<Participant | null> {
    return (await this.getParticipants()).find((p) => p.isLeader) ?? null;
  }

  private async join(): Promise<void> {
    const node = await createProtected(this.client, this.path, LATCH_NAME, this.options.id ?? '', CreateMode.EPHEMERAL_SEQUENTIAL);
    if (this.current === 'closed') {
      await deleteNode(this.client, node.path).catch(() => undefined);
      return;
    }
    this.node = node;
    await this.check();
  }

  private async sortedParticipants(): Promise<string[]> {
    try {
      const children = await retryOnConnectionLoss(() => this.client.getChildren(this.path));
      return children.filter((child) => hasNodeName(child, LATCH_NAME)).sort(bySequence);
    } catch (error) {
      if (isKeeperError(error, ErrorCode.NoNode)) return [];
      throw error;
    }
  }

  /** Looks at the participants again; runs once at a time, and again if asked meanwhile. */
  private async check(): Promise<void> {
    if (this.checking) {
      this.checkAgain = true;
      return;
    }
    this.checking = true;
    try {
      do {
        this.checkAgain = false;
        try {
          await this.checkOnce();
        } catch (error) {
          this.onCheckFailed(error);
        }
      } while (this.checkAgain && this.current === 'started');
    } finally {
      this.checking = false;
    }
  }

  private async checkOnce(): Promise<void> {
    const node = this.node;
    if (this.current !== 'started' || node === null || !isConnected(this.client.state)) return;
    const children = await this.client.getChildren(this.path);
    sweepProtectedOrphans(this.client, this.path, children, node);
    const sorted = children.filter((child) => hasNodeName(child, LATCH_NAME)).sort(bySequence);
    const ourIndex = sorted.indexOf(nameOf(node.path));
    if (ourIndex < 0) {
      // Our node was deleted by someone else while the session lives: take part again.
      this.setLeader(false, 'our node was deleted');
      this.node = null;
      await this.join();
      return;
    }
    // The leader watches its own node (to notice if it is deleted), the others their predecessor's.
    if (ourIndex === 0) this.setLeader(true, 'first');
    else this.setLeader(false, 'another participant is first');
    const toWatch = ourIndex === 0 ? node.path : childPath(this.path, sorted[ourIndex - 1]!);
    try {
      await this.client.getData(toWatch, { watch: this.onWatchedNodeEvent });
    } catch (error) {
      if (!isKeeperError(error, ErrorCode.NoNode)) throw error;
      this.checkAgain = true;
    }
  }

  /** One function for every watch, so that the client keeps one callback per watched node, not one per check. */
  private readonly onWatchedNodeEvent = (): void => void this.check();

  private onCheckFailed(error: unknown): void {
    // After a ConnectionLoss the 'connected' state starts a new check; a session that ended closes the latch.
    if (isKeeperError(error, ErrorCode.ConnectionLoss) || this.current !== 'started') return;
    if (isSessionEnded(error)) {
      this.end('the session ended');
      return;
    }
    if (this.listenerCount('error') > 0) this.emit('error', error);
  }

  private readonly onClientState = (state: ClientState): void => {
    if (this.current !== 'started') return;
    if (state === 'connecting') this.setLeader(false, 'disconnected from the server');
    else if (isConnected(state)) void this.check();
    else if (isTerminal(state)) this.end(`the session ended (${state})`);
  };

  private setLeader(leader: boolean, reason: string): void {
    if (leader === (this.term !== null)) return;
    if (leader) {
      this.term = new AbortController();
      this.emit('isLeader');
    } else {
      const term = this.term!;
      this.term = null;
      term.abort(new LostError(this.node?.path ?? this.path, reason));
      this.emit('notLeader', reason);
    }
  }

  private end(reason: string): void {
    if (this.current === 'closed') return;
    this.setLeader(false, reason);
    this.current = 'closed';
    this.client.off('state', this.onClientState);
    this.emit('closed');
  }
}
