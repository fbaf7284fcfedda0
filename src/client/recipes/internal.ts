/**
 * What the recipes share: waiting with a deadline, retrying after a lost
 * connection, creating parents, Curator's protected mode for sequential
 * nodes, sorting by sequence number, and tracking a node this client holds
 * (held → suspended while disconnected → held again, or lost for good).
 */
import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { performance } from 'node:perf_hooks';
import { childPath, nameOf, parentOf } from '../../protocol/paths.js';
import { CreateMode, ErrorCode, EventType, KeeperError, watchOnce, type ClientState, type OneShotWatch, type ZkClient } from '../mod.js';
import type { CreateModeValue, Data, WatchEvent } from '../types.js';

export { childPath, nameOf, parentOf };

/** How long a recipe may wait: `timeoutMs` ends the wait with a falsy result, `signal` rejects it with its reason. */
export interface WaitOptions {
  signal?: AbortSignal;
  timeoutMs?: number;
}

export function isKeeperError(error: unknown, code: number): error is KeeperError {
  return error instanceof KeeperError && error.code === code;
}

/** The session is gone (expired, closed or rejected): nothing this client does can succeed any more. */
export function isSessionEnded(error: unknown): boolean {
  return isKeeperError(error, ErrorCode.SessionExpired) || isKeeperError(error, ErrorCode.AuthFailed);
}

export function isConnected(state: ClientState): boolean {
  return state === 'connected' || state === 'connectedReadOnly';
}

export function isTerminal(state: ClientState): boolean {
  return state === 'expired' || state === 'closed' || state === 'authFailed';
}

/**
 * Runs an idempotent call again after ConnectionLoss. No back-off is needed:
 * the client queues the next attempt until a connection is up again, and
 * fails it with SessionExpired once the session is gone.
 */
export async function retryOnConnectionLoss<T>(call: () => Promise<T>): Promise<T> {
  for (;;) {
    try {
      return await call();
    } catch (error) {
      if (!isKeeperError(error, ErrorCode.ConnectionLoss)) throw error;
    }
  }
}

/** Deletes a node, tolerating that it is gone already and retrying after ConnectionLoss. */
export async function deleteNode(client: ZkClient, path: string): Promise<void> {
  try {
    await retryOnConnectionLoss(() => client.delete(path));
  } catch (error) {
    if (!isKeeperError(error, ErrorCode.NoNode)) throw error;
  }
}

/**
 * deleteNode for clean-up nobody waits for: a session that ended took its
 * ephemeral nodes with it, and any other failure leaves at worst a node
 * the next attempt ignores or sweeps.
 */
export function deleteInBackground(client: ZkClient, path: string): void {
  deleteNode(client, path).catch(() => undefined);
}

/** Creates `path` (unless it exists) and its missing ancestors; ancestors as containers, as Curator does. */
export async function ensurePath(client: ZkClient, path: string, mode: CreateModeValue = CreateMode.CONTAINER): Promise<void> {
  if (path === '/') return;
  try {
    await retryOnConnectionLoss(() => client.create(path, null, { mode }));
  } catch (error) {
    if (isKeeperError(error, ErrorCode.NodeExists)) return;
    if (!isKeeperError(error, ErrorCode.NoNode)) throw error;
    await ensurePath(client, parentOf(path));
    await ensurePath(client, path, mode);
  }
}

/**
 * Leaves a one-shot watch on an existing node and returns it (its event is a
 * change, the deletion, or the end of the session), or null if the node
 * does not exist. getData rather than exists: a missing node must not leave
 * a watch behind.
 */
export async function watchExisting(client: ZkClient, path: string): Promise<OneShotWatch | null> {
  const changed = watchOnce();
  try {
    await retryOnConnectionLoss(() => client.getData(path, { watch: changed.callback }));
    return changed;
  } catch (error) {
    if (isKeeperError(error, ErrorCode.NoNode)) return null;
    throw error;
  }
}

/** Curator's protected-mode prefix: `_c_<uuid>-`, put in front of the node name. */
const PROTECTED_PREFIX = '_c_';

export interface ProtectedNode {
  /** The created node's full path. */
  path: string;
  /** The `_c_<uuid>-` prefix only this creation uses. */
  prefix: string;
}

/**
 * Creates a sequential node in Curator's protected mode: its name starts
 * with a fresh GUID, so that after a ConnectionLoss (when the create may or
 * may not have been applied) the node can be found among the parent's
 * children instead of being created a second time and left orphaned. A
 * server applies a session's requests in order, so a create that reached it
 * before the connection broke is visible to the getChildren sent after.
 */
export async function createProtected(
  client: ZkClient,
  parent: string,
  name: string,
  data: Data,
  mode: CreateModeValue,
  ensureParent: () => Promise<void> = () => ensurePath(client, parent),
): Promise<ProtectedNode> {
  const prefix = `${PROTECTED_PREFIX}${randomUUID()}-`;
  const path = childPath(parent, `${prefix}${name}`);
  for (;;) {
    try {
      return { path: await client.create(path, data, { mode }), prefix };
    } catch (error) {
      if (isKeeperError(error, ErrorCode.NoNode)) {
        await ensureParent();
        continue;
      }
      if (!isKeeperError(error, ErrorCode.ConnectionLoss)) throw error;
    }
    const found = await findChildWithPrefix(client, parent, prefix);
    if (found !== null) return { path: childPath(parent, found), prefix };
  }
}

async function findChildWithPrefix(client: ZkClient, parent: string, prefix: string): Promise<string | null> {
  try {
    const children = await retryOnConnectionLoss(() => client.getChildren(parent));
    return children.find((child) => child.startsWith(prefix)) ?? null;
  } catch (error) {
    if (isKeeperError(error, ErrorCode.NoNode)) return null;
    throw error;
  }
}

/**
 * Deletes nodes left by earlier attempts of the same protected creation (a
 * create that was applied after all, although the search after the
 * ConnectionLoss did not see it); `keep` is the one in use.
 */
export function sweepProtectedOrphans(client: ZkClient, parent: string, children: readonly string[], node: ProtectedNode): void {
  const keep = nameOf(node.path);
  for (const child of children) {
    if (child !== keep && child.startsWith(node.prefix)) deleteInBackground(client, childPath(parent, child));
  }
}

/** The sequence number a sequential create appended (the last ten digits). */
export function sequenceOf(name: string): number {
  return Number(name.slice(-10));
}

export function bySequence(a: string, b: string): number {
  return sequenceOf(a) - sequenceOf(b);
}

/** True for `[_c_<uuid>-]<name><ten digits>`, the nodes a recipe with this node name creates. */
export function hasNodeName(child: string, name: string): boolean {
  if (!/\d{10}$/.test(child)) return false;
  const rest = child.startsWith(PROTECTED_PREFIX) ? child.slice(PROTECTED_PREFIX.length + 37) : child;
  return rest.length === name.length + 10 && rest.startsWith(name);
}

export const TIMED_OUT: unique symbol = Symbol('timed out');

/**
 * The deadline of one recipe call: waits end with TIMED_OUT once
 * `timeoutMs` has passed and reject with the signal's reason when it aborts.
 */
export class Deadline {
  private readonly endsAt: number | undefined;

  constructor(private readonly options: WaitOptions = {}) {
    options.signal?.throwIfAborted();
    const timeoutMs = options.timeoutMs;
    if (timeoutMs !== undefined && !(timeoutMs >= 0)) throw new RangeError(`timeoutMs must be ≥ 0, not ${timeoutMs}`);
    this.endsAt = timeoutMs === undefined ? undefined : performance.now() + timeoutMs;
  }

  get signal(): AbortSignal | undefined {
    return this.options.signal;
  }

  /** What is left of this deadline, for a nested wait. */
  remaining(): WaitOptions {
    if (this.endsAt === undefined) return { signal: this.options.signal };
    return { signal: this.options.signal, timeoutMs: Math.max(0, this.endsAt - performance.now()) };
  }

  wait<T>(promise: Promise<T>): Promise<T | typeof TIMED_OUT> {
    const signal = this.options.signal;
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (this.endsAt === undefined && signal === undefined) return promise;
    return new Promise<T | typeof TIMED_OUT>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const onAbort = (): void => finish(() => reject(signal!.reason));
      const finish = (settle: () => void): void => {
        if (timer !== undefined) clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        settle();
      };
      if (this.endsAt !== undefined) {
        timer = setTimeout(() => finish(() => resolve(TIMED_OUT)), Math.max(0, this.endsAt - performance.now()));
      }
      signal?.addEventListener('abort', onAbort, { once: true });
      promise.then(
        (value) => finish(() => resolve(value)),
        (error: unknown) => finish(() => reject(error)),
      );
    });
  }
}

/** Runs tasks one at a time, in call order (for state a recipe object must not interleave). */
export class SerialQueue {
  private tail: Promise<unknown> = Promise.resolve();

  run<T>(task: () => Promise<T>): Promise<T> {
    const result = this.tail.then(task, task);
    this.tail = result.catch(() => undefined);
    return result;
  }
}

export type HoldState = 'held' | 'suspended' | 'lost';

/** The reason of a lost hold's signal: what was held is no longer this client's. */
export class LostError extends Error {
  override name = 'LostError';

  constructor(
    /** The node that stood for what was held. */
    readonly path: string,
    readonly reason: string,
  ) {
    super(`${path} lost: ${reason}`);
  }
}

export interface NodeHoldEvents {
  /** The connection was lost: the node may still be ours, but that cannot be known until the client reconnects. */
  suspended: [reason: string];
  /** Reconnected within the session, and the node is still ours. */
  reconnected: [];
  /** For good: the session ended or the node was deleted. */
  lost: [reason: string];
}

/**
 * Tracks an ephemeral node that stands for something this client holds (a
 * lock, a lease). It is held while connected and the node exists; suspended
 * while the client is disconnected, since the session may expire meanwhile
 * unnoticed; held again if the client reconnects within the session and the
 * node is still there; lost when the session ends (expired, closed, auth
 * failed) or the node is deleted. Lost is final and aborts `signal`.
 */
export class NodeHold extends EventEmitter<NodeHoldEvents> {
  private current: HoldState = 'held';
  private readonly controller = new AbortController();
  private disposed = false;

  constructor(
    private readonly client: ZkClient,
    readonly path: string,
  ) {
    super();
    client.on('state', this.onClientState);
    // The connection may have gone between the node's creation and now, unheard by this listener.
    if (isTerminal(client.state)) {
      this.lose(`the session ended (${client.state})`);
      return;
    }
    if (!isConnected(client.state)) this.current = 'suspended';
    this.check();
  }

  get state(): HoldState {
    return this.current;
  }

  /** True while held and connected (the client's state is read now, not when its event is delivered). */
  get isValid(): boolean {
    return this.current === 'held' && isConnected(this.client.state);
  }

  /** Aborted when the hold is lost. */
  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** Stops tracking (the holder let go). */
  dispose(): void {
    this.disposed = true;
    this.client.off('state', this.onClientState);
  }

  private readonly onClientState = (state: ClientState): void => {
    if (this.disposed || this.current === 'lost') return;
    if (state === 'connecting') {
      this.set('suspended', 'disconnected from the server');
    } else if (isConnected(state)) {
      if (this.current === 'suspended') this.check();
    } else if (isTerminal(state)) {
      this.lose(`the session ended (${state})`);
    }
  };

  /** Confirms the node is still this session's, leaving a watch that reports its deletion. */
  private check(): void {
    this.client.exists(this.path, { watch: this.onNodeEvent }).then(
      (stat) => {
        if (this.disposed || this.current === 'lost') return;
        if (stat === null || stat.ephemeralOwner !== this.client.sessionId) this.lose('the node was deleted');
        else if (this.current === 'suspended' && isConnected(this.client.state)) this.set('held', 'reconnected');
      },
      (error: unknown) => {
        // ConnectionLoss: the next 'connected' state checks again.
        if (isSessionEnded(error)) this.lose('the session ended');
      },
    );
  }

  private readonly onNodeEvent = (event: WatchEvent): void => {
    if (this.disposed || this.current === 'lost') return;
    if (event.type === EventType.NodeDeleted) this.lose('the node was deleted');
    else if (event.type === EventType.None) this.lose('the session ended');
    else this.check();
  };

  private lose(reason: string): void {
    this.set('lost', reason);
  }

  private set(state: HoldState, reason: string): void {
    if (this.current === state || this.current === 'lost') return;
    this.current = state;
    if (state === 'lost') {
      this.controller.abort(new LostError(this.path, reason));
      this.dispose();
      this.emit('lost', reason);
    } else if (state === 'suspended') {
      this.emit('suspended', reason);
    } else {
      this.emit('reconnected');
    }
  }
}
