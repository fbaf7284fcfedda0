/**
 * Decides when to snapshot and takes snapshots in the background.
 *
 * As in Apache ZooKeeper, a snapshot is due after snapCount/2 + rand(snapCount/2)
 * transactions (so an ensemble's servers do not all snapshot at once), or
 * once the log since the last snapshot exceeds snapSizeLimitInKb. A snapshot
 * starts a new log segment, so the segments before it can later be purged.
 * One that falls due while the last is still being written is skipped, and
 * the count starts again ("too busy to snap", as ZooKeeper says): under a
 * write load that outpaces writing a large tree, snapshots would otherwise
 * run back to back and take the CPU the requests need.
 */
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Logger } from '../server/logger.js';
import type { ZkDatabase } from '../tree/database.js';
import { snapshotFileName } from './files.js';
import { captureSnapshot, writeSnapshot } from './snapshot.js';

export interface SnapshotterOptions {
  dir: string;
  snapCount: number;
  /** 0 or less: no size trigger. */
  snapSizeLimitBytes: number;
  logger: Logger;
  /** Starts a new log segment (TxnLog.roll). */
  rollLog: () => void;
}

export class Snapshotter {
  private txnsSince = 0;
  private bytesSince = 0;
  private threshold: number;
  private running: Promise<void> | null = null;
  lastSnapshotZxid = -1;

  constructor(private readonly options: SnapshotterOptions) {
    this.threshold = this.nextThreshold();
  }

  private nextThreshold(): number {
    const half = Math.max(1, Math.floor(this.options.snapCount / 2));
    return half + 1 + Math.floor(Math.random() * half);
  }

  get inProgress(): boolean {
    return this.running !== null;
  }

  /** Counts one committed transaction; starts a snapshot when one is due. */
  noteCommitted(db: ZkDatabase, txnBytes: number): void {
    this.txnsSince++;
    this.bytesSince += txnBytes;
    const bySize = this.options.snapSizeLimitBytes > 0 && this.bytesSince > this.options.snapSizeLimitBytes;
    if (this.txnsSince < this.threshold && !bySize) return;
    if (this.running !== null) {
      this.options.logger.warn('too busy to snapshot (the last one is still being written); skipping this one');
      this.resetCount();
      return;
    }
    this.take(db).catch((e: Error) => this.options.logger.error(`snapshot failed: ${e.message}`));
  }

  /** Takes a snapshot now (unless one is running); resolves when it is durable. */
  take(db: ZkDatabase): Promise<void> {
    if (this.running !== null) return this.running;
    this.resetCount();
    this.options.rollLog();
    const started = performance.now();
    const capture = captureSnapshot(db);
    const captureMs = performance.now() - started;
    const file = join(this.options.dir, snapshotFileName(capture.zxid));
    this.running = writeSnapshot(capture, file)
      .then(({ bytes, nodes }) => {
        this.lastSnapshotZxid = capture.zxid;
        this.options.logger.info(
          `snapshot ${file}: ${nodes} znodes, ${bytes} bytes, captured in ${captureMs.toFixed(1)} ms, ` +
            `written in ${Math.round(performance.now() - started)} ms`,
        );
      })
      .finally(() => {
        this.running = null;
      });
    return this.running;
  }

  private resetCount(): void {
    this.txnsSince = 0;
    this.bytesSince = 0;
    this.threshold = this.nextThreshold();
  }

  /** Waits for a running snapshot to finish. */
  async idle(): Promise<void> {
    await this.running?.catch(() => undefined);
  }
}
