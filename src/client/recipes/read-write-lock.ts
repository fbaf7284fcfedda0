/**
 * The read-write lock (Curator's InterProcessReadWriteLock): readers and
 * writers queue under one path, ordered by sequence number. A writer needs
 * to be first; a reader only needs no writer before it, so readers share the
 * lock, and a reader that arrives after a waiting writer queues behind it
 * (writers do not starve). The node names match Curator's (`__READ__`,
 * `__WRIT__`), so both can share a lock.
 */
import type { ZkClient } from '../mod.js';
import { hasNodeName } from './internal.js';
import { Lock, type LockDriver, type LockOptions } from './lock.js';

const READ_NAME = '__READ__';
const WRITE_NAME = '__WRIT__';

const isParticipant = (child: string): boolean => hasNodeName(child, READ_NAME) || hasNodeName(child, WRITE_NAME);

/** The write half: refuses an upgrade, which would wait for its own read lock forever. */
class WriteLock extends Lock {
  constructor(
    client: ZkClient,
    path: string,
    options: LockOptions,
    private readonly holdsReadLock: () => boolean,
  ) {
    super(client, path, options, {
      nodeName: WRITE_NAME,
      isParticipant,
      nodeToWatch: (sorted, ourIndex) => (ourIndex === 0 ? null : sorted[ourIndex - 1]!),
    });
  }

  protected override beforeAcquire(): void {
    if (this.holdsReadLock()) throw new Error(`cannot upgrade the read lock on ${this.path} to the write lock: release it first`);
  }
}

/**
 * A distributed read-write lock: any number of readers or one writer. Each
 * half is a reentrant Lock (with its events, isOwned and fencingOp). The
 * holder of the write lock may also take the read lock (a downgrade: take
 * the read lock, then release the write lock); the reverse is refused.
 *
 * ```ts
 * const rw = new ReadWriteLock(client, '/app/locks/config');
 * await rw.readLock.acquire();
 * try {
 *   const { data } = await client.getData('/app/config');
 * } finally {
 *   await rw.readLock.release();
 * }
 * ```
 */
export class ReadWriteLock {
  readonly readLock: Lock;
  readonly writeLock: Lock;

  constructor(client: ZkClient, path: string, options: LockOptions = {}) {
    this.writeLock = new WriteLock(client, path, options, () => this.readLock.holdCount > 0);
    const readDriver: LockDriver = {
      nodeName: READ_NAME,
      isParticipant,
      nodeToWatch: (sorted, ourIndex) => {
        if (this.writeLock.holdCount > 0) return null;
        const firstWriter = sorted.findIndex((child) => hasNodeName(child, WRITE_NAME));
        return firstWriter === -1 || firstWriter > ourIndex ? null : sorted[firstWriter]!;
      },
    };
    this.readLock = new Lock(client, path, options, readDriver);
  }
}
