/**
 * Recovery at start: the newest intact snapshot, then every logged
 * transaction after its zxid, in order. A torn log tail (an interrupted,
 * never-acknowledged write) is cut off with a log line; anything else wrong —
 * a checksum failure before the tail, a gap in the zxids — stops the start
 * with a CorruptionError naming the file and offset. An unreadable newest
 * snapshot falls back to the previous one plus the log.
 */
import { ftruncateSync, openSync, closeSync, fdatasyncSync, unlinkSync } from 'node:fs';
import { dirname } from 'node:path';
import { JuteError, JuteReader } from '../jute/mod.js';
import { decodeTxn, type Txn } from '../protocol/txn.js';
import type { Logger } from '../server/logger.js';
import { ZkDatabase } from '../tree/database.js';
import type { DataTreeOptions } from '../tree/data-tree.js';
import { fsyncDir, listLogSegments, listSnapshots, type NamedFile } from './files.js';
import { CorruptionError, scanSegment } from './log-format.js';
import { loadSnapshot } from './snapshot.js';
import { zxidFollows } from '../protocol/zxid.js';

export interface RecoveryOptions {
  snapshotDir: string;
  logDir: string;
  tree: DataTreeOptions;
  logger: Logger;
  tailSize?: number;
}

export interface RecoveryResult {
  db: ZkDatabase;
  /** The zxid of the snapshot loaded (0 when starting from an empty tree). */
  snapshotZxid: number;
  replayedTxns: number;
  /** The last logged transactions (up to `tailSize`), so a leader can DIFF a learner from them. */
  tail: { zxid: number; txn: Uint8Array }[];
  /** The zxid just before the tail's first transaction. */
  tailBase: number;
}

/** How many of the last logged transactions recovery keeps for DIFF syncs (commitLogCount). */
const DEFAULT_TAIL_SIZE = 500;

export function recover(options: RecoveryOptions): RecoveryResult {
  const { db, zxid: snapshotZxid } = loadNewestSnapshot(options);
  const tail = new LogTail(options.tailSize ?? DEFAULT_TAIL_SIZE);
  const replayedTxns = replayLog(db, options, tail);
  const { entries, base } = tail.result(db.lastZxid);
  return { db, snapshotZxid, replayedTxns, tail: entries, tailBase: base };
}

/** The last `size` transactions seen, and the zxid before the first of them. */
class LogTail {
  private readonly entries: { zxid: number; txn: Uint8Array }[] = [];

  constructor(private readonly size: number) {}

  add(zxid: number, bytes: Buffer): void {
    // A copy: the record is a view of the whole segment read into memory.
    this.entries.push({ zxid, txn: Buffer.from(bytes) });
    if (this.entries.length > this.size + 1) this.entries.shift();
  }

  result(lastZxid: number): { entries: { zxid: number; txn: Uint8Array }[]; base: number } {
    const kept = this.entries.filter((e) => e.zxid <= lastZxid);
    if (kept.length === 0) return { entries: [], base: lastZxid };
    // The entry before the first kept one tells where the tail starts; without it, the first becomes the base.
    return { entries: kept.slice(1), base: kept[0]!.zxid };
  }
}

function loadNewestSnapshot(options: RecoveryOptions): { db: ZkDatabase; zxid: number } {
  const snapshots = listSnapshots(options.snapshotDir).reverse();
  for (const snapshot of snapshots) {
    try {
      const db = loadSnapshot(snapshot.path, options.tree);
      options.logger.info(`loaded snapshot ${snapshot.path} (zxid 0x${db.lastZxid.toString(16)}, ${db.tree.nodeCount} znodes)`);
      return { db, zxid: db.lastZxid };
    } catch (e) {
      if (!(e instanceof CorruptionError)) throw e;
      options.logger.warn(`snapshot ${snapshot.path} is unreadable (${e.message}); falling back to an older one`);
    }
  }
  return { db: new ZkDatabase(options.tree), zxid: 0 };
}

/** The segments that can hold transactions after `zxid`: the last one starting at or before it, and all later. */
export function segmentsAfter(segments: NamedFile[], zxid: number): NamedFile[] {
  let first = 0;
  for (let i = 0; i < segments.length; i++) if (segments[i]!.zxid <= zxid + 1) first = i;
  return segments.slice(first);
}

function replayLog(db: ZkDatabase, options: RecoveryOptions, tail: LogTail): number {
  const segments = listLogSegments(options.logDir);
  const relevant = segmentsAfter(segments, db.lastZxid);
  let replayed = 0;
  let previous = db.lastZxid;
  relevant.forEach((segment, i) => {
    const isLast = i === relevant.length - 1;
    const scan = scanSegment(segment.path, isLast);
    for (const record of scan.records) {
      const txn = decodeRecord(segment.path, record.frameOffset, record.bytes);
      tail.add(txn.zxid, record.bytes);
      if (txn.zxid <= db.lastZxid) continue;
      checkContinuity(segment.path, record.frameOffset, previous, txn.zxid);
      db.apply(txn);
      previous = txn.zxid;
      replayed++;
    }
    if (scan.tornAt !== null) cutTornTail(segment.path, scan.tornAt, scan.records.length, options.logger);
  });
  if (replayed > 0) options.logger.info(`replayed ${replayed} transactions from the log, up to zxid 0x${previous.toString(16)}`);
  return replayed;
}

function decodeRecord(file: string, offset: number, bytes: Buffer): Txn {
  try {
    const r = new JuteReader(bytes);
    const txn = decodeTxn(r);
    r.expectEnd('transaction');
    return txn;
  } catch (e) {
    if (e instanceof JuteError) throw new CorruptionError(file, offset, `undecodable transaction: ${e.message}`);
    throw e;
  }
}

/** Zxids rise by one within an epoch; a new epoch starts its counter again. */
function checkContinuity(file: string, offset: number, previous: number, zxid: number): void {
  if (!zxidFollows(previous, zxid)) {
    throw new CorruptionError(
      file,
      offset,
      `transaction zxid 0x${zxid.toString(16)} does not follow 0x${previous.toString(16)} (a gap or a reordering)`,
    );
  }
}

/** Removes an interrupted write so the next start finds a clean segment (or none). */
function cutTornTail(file: string, offset: number, validRecords: number, logger: Logger): void {
  if (validRecords === 0) {
    logger.warn(`log segment ${file} holds only an interrupted write; removing it`);
    unlinkSync(file);
    fsyncDir(dirname(file));
    return;
  }
  logger.warn(`log segment ${file} ends in an interrupted write at offset ${offset}; cutting it off there`);
  const fd = openSync(file, 'r+');
  try {
    ftruncateSync(fd, offset);
    fdatasyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
