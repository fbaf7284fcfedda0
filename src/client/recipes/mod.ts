/**
 * zkts/recipes: the coordination recipes Curator users rely on, built on
 * zkts/client and interoperable with Curator where node layouts matter
 * (lock, read-write lock, semaphore and latch node names are Curator's).
 *
 * Every recipe follows its client's session: what it holds (a lock, a lease,
 * leadership) is reported lost when the session ends, and ephemeral-
 * sequential nodes are created in Curator's protected mode so that a lost
 * connection never leaves an orphan behind. A session that expired ends the
 * recipes bound to it: make a new client and new recipe objects.
 *
 * ```ts
 * import { ZkClient } from 'zkts/client';
 * import { Lock } from 'zkts/recipes';
 * const client = await ZkClient.connect('127.0.0.1:2181');
 * const lock = new Lock(client, '/app/locks/report');
 * await lock.acquire();
 * try { ... } finally { await lock.release(); }
 * ```
 */
export { LostError, type HoldState, type WaitOptions } from './internal.js';
export { Lock, type LockEvents, type LockOptions } from './lock.js';
export { ReadWriteLock } from './read-write-lock.js';
export { Lease, Semaphore, type LeaseEvents, type SemaphoreOptions } from './semaphore.js';
export { LeaderLatch, type LeaderLatchEvents, type LeaderLatchOptions, type LeaderLatchState, type Participant } from './leader-latch.js';
export { LeaderSelector, type LeaderSelectorEvents, type LeaderSelectorOptions, type TakeLeadership } from './leader-selector.js';
export { Barrier, DoubleBarrier, type DoubleBarrierOptions } from './barrier.js';
export { DistributedQueue, PriorityQueue, type QueueItem } from './queue.js';
export { SharedCounter, type AddOptions, type SharedCounterOptions, type VersionedValue } from './shared-counter.js';
export { TreeCache, type CachedNode, type TreeCacheEvents, type TreeCacheOptions } from './tree-cache.js';
export {
  ServiceCache,
  ServiceDiscovery,
  type InstanceSpec,
  type ServiceCacheEvents,
  type ServiceInstance,
} from './service-discovery.js';
