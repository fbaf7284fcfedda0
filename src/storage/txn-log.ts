/**
 * TxnLog: appends serialized transactions to log segments with group commit.
 *
 * Appends made while an fsync is in flight accumulate in the next frame
 * (at most maxBatchSize transactions per frame); when the fsync returns, that
 * whole frame is written with one write and made durable with one fdatasync.
 * So N concurrent writers cost far fewer than N fsyncs. `onDurable(zxid)`
 * reports that every transaction up to zxid is on disk — only then may it be
 * acknowledged.
 */
import { closeSync, fdatasync, fdatasyncSync, ftruncateSync, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { crc32 } from 'node:zlib';
import { JuteWriter } from '../jute/mod.js';
import type { Logger } from '../server/logger.js';
import { ensureDir, fsyncDir, logFileName } from './files.js';
import { FRAME_HEADER_BYTES, FRAME_MAGIC, SEGMENT_HEADER_BYTES, writeSegmentHeader } from './log-format.js';
import { truncateLog } from './truncate.js';

export interface TxnLogOptions {
  dir: string;
  /** Bytes a new segment is extended to up front, so appends need not grow the file. */
  preAllocBytes: number;
  /** forceSync=no: skip fdatasync (a crash can then lose acknowledged writes). */
  forceSync: boolean;
  maxBatchSize: number;
  fsyncWarningMs: number;
  logger: Logger;
  /** Every transaction with zxid ≤ `zxid` is now durable. */
  onDurable: (zxid: number) => void;
  /** The log can no longer be written; the server must stop. */
  onFatal: (error: Error) => void;
}

/** How far ahead of the appends the log's preallocated space is zero-filled (see zeroAhead). */
const ZERO_AHEAD_BYTES = 1 << 20;
const ZEROS = Buffer.alloc(ZERO_AHEAD_BYTES);

/** Transactions waiting to be written together. */
class Frame {
  readonly writer = new JuteWriter(64 * 1024);
  count = 0;
  firstZxid = -1;
  lastZxid = -1;

  constructor() {
    this.writer.ensure(FRAME_HEADER_BYTES);
    this.writer.truncate(FRAME_HEADER_BYTES);
  }

  add(zxid: number, txnBytes: Uint8Array): void {
    if (this.count === 0) this.firstZxid = zxid;
    this.lastZxid = zxid;
    this.count++;
    this.writer.writeInt(txnBytes.length);
    this.writer.writeBytes(txnBytes);
  }

  /** The frame's bytes with its header filled in. */
  seal(): Buffer {
    const bytes = this.writer.view();
    const payload = bytes.subarray(FRAME_HEADER_BYTES);
    bytes.writeUInt32BE(FRAME_MAGIC, 0);
    bytes.writeUInt32BE(payload.length, 4);
    bytes.writeUInt32BE(crc32(payload), 8);
    return bytes;
  }
}

export class TxnLog {
  private readonly frames: Frame[] = [];
  private fd: number | null = null;
  private offset = 0;
  private allocated = 0;
  private zeroedTo = 0;
  private syncing = false;
  private scheduled = false;
  private rollRequested = false;
  private failed = false;
  private idleWaiters: (() => void)[] = [];
  /** Counters for benchmarks and mntr. */
  readonly stats = { fsyncs: 0, framesWritten: 0, txnsWritten: 0, bytesWritten: 0, slowFsyncs: 0 };

  constructor(private readonly options: TxnLogOptions) {
    ensureDir(options.dir);
  }

  /** Queues one serialized transaction; its durability is reported through onDurable. */
  append(zxid: number, txnBytes: Uint8Array): void {
    let frame = this.frames.at(-1);
    if (frame === undefined || frame.count >= this.options.maxBatchSize) {
      frame = new Frame();
      this.frames.push(frame);
    }
    frame.add(zxid, txnBytes);
    this.schedule();
  }

  /** Starts a new segment with the next frame (done at each snapshot, so old segments can be purged). */
  roll(): void {
    this.rollRequested = true;
  }

  private schedule(): void {
    if (this.scheduled || this.syncing || this.failed) return;
    this.scheduled = true;
    // Let the rest of this event-loop turn add to the frame before it is written.
    setImmediate(() => {
      this.scheduled = false;
      this.writeNextFrame();
    });
  }

  private writeNextFrame(): void {
    const frame = this.frames.shift();
    if (frame === undefined || this.failed) {
      this.notifyIdle();
      return;
    }
    try {
      const bytes = frame.seal();
      this.ensureRoom(frame.firstZxid, bytes.length);
      this.zeroAhead(bytes.length);
      writeSync(this.fd!, bytes, 0, bytes.length, this.offset);
      this.offset += bytes.length;
      this.stats.framesWritten++;
      this.stats.txnsWritten += frame.count;
      this.stats.bytesWritten += bytes.length;
    } catch (e) {
      this.fail(e as Error);
      return;
    }
    if (!this.options.forceSync) {
      this.options.onDurable(frame.lastZxid);
      this.writeNextFrame();
      return;
    }
    this.syncing = true;
    const started = performance.now();
    fdatasync(this.fd!, (error) => {
      this.syncing = false;
      if (error !== null) {
        this.fail(error);
        return;
      }
      this.stats.fsyncs++;
      const elapsed = performance.now() - started;
      if (elapsed > this.options.fsyncWarningMs) {
        this.stats.slowFsyncs++;
        this.options.logger.warn(
          `fsync-ing the write ahead log took ${Math.round(elapsed)}ms which will adversely effect operation latency`,
        );
      }
      this.options.onDurable(frame.lastZxid);
      if (this.frames.length > 0) this.writeNextFrame();
      else this.notifyIdle();
    });
  }

  /** Opens the first segment, rolls to a new one when asked or when full, and grows the preallocation. */
  private ensureRoom(firstZxid: number, bytes: number): void {
    const full = this.offset + bytes > this.options.preAllocBytes && this.offset > SEGMENT_HEADER_BYTES;
    if (this.fd === null || this.rollRequested || full) this.openSegment(firstZxid);
    if (this.offset + bytes > this.allocated) {
      this.allocated = this.offset + bytes + this.options.preAllocBytes;
      ftruncateSync(this.fd!, this.allocated);
    }
  }

  /**
   * Writes zeros over the preallocated space ahead of the next `bytes`, a megabyte at a time.
   * Appending into a hole of the file allocates blocks, so each fdatasync would also commit
   * the file system's journal; over blocks already written it flushes the data alone
   * (PostgreSQL zero-fills its WAL segments for the same reason). The zeros read as the end
   * of the log, as the holes did.
   */
  private zeroAhead(bytes: number): void {
    const needed = Math.min(this.offset + bytes + ZERO_AHEAD_BYTES, this.allocated);
    while (this.zeroedTo < needed) {
      const length = Math.min(ZEROS.length, this.allocated - this.zeroedTo);
      writeSync(this.fd!, ZEROS, 0, length, this.zeroedTo);
      this.zeroedTo += length;
    }
  }

  private openSegment(firstZxid: number): void {
    if (this.fd !== null) closeSync(this.fd);
    this.rollRequested = false;
    const fd = openSync(join(this.options.dir, logFileName(firstZxid)), 'wx');
    const header = Buffer.alloc(SEGMENT_HEADER_BYTES);
    writeSegmentHeader(header, firstZxid);
    writeSync(fd, header, 0, header.length, 0);
    ftruncateSync(fd, this.options.preAllocBytes);
    // The segment must exist durably before anything in it is acknowledged.
    fdatasyncSync(fd);
    fsyncDir(this.options.dir);
    this.fd = fd;
    this.offset = SEGMENT_HEADER_BYTES;
    this.zeroedTo = SEGMENT_HEADER_BYTES;
    this.allocated = this.options.preAllocBytes;
  }

  private fail(error: Error): void {
    if (this.failed) return;
    this.failed = true;
    this.options.logger.fatal(`cannot write the transaction log: ${error.message}`);
    this.options.onFatal(error);
    this.notifyIdle();
  }

  private notifyIdle(): void {
    if (this.syncing || this.scheduled || this.frames.length > 0) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const done of waiters) done();
  }

  /** Resolves once everything queued is written and synced. */
  async idle(): Promise<void> {
    if (!this.syncing && !this.scheduled && this.frames.length === 0) return;
    await new Promise<void>((resolve) => {
      this.idleWaiters.push(resolve);
      this.schedule();
    });
  }

  /** Writes and syncs everything queued, then closes the segment. */
  async close(): Promise<void> {
    await this.idle();
    this.closeSegment();
  }

  private closeSegment(): void {
    if (this.fd !== null) {
      closeSync(this.fd);
      this.fd = null;
    }
  }

  /**
   * Drops every logged transaction after `zxid` (and snapshots after it);
   * the next append starts a new segment.
   */
  async truncate(zxid: number, snapshotDir: string): Promise<void> {
    await this.idle();
    this.closeSegment();
    truncateLog(this.options.dir, snapshotDir, zxid);
  }
}
