/**
 * Cutting the log back to a zxid (a leader's TRUNC, or a snapshot installed
 * from a leader): every logged transaction after it is removed, durably,
 * and so is every snapshot taken after it. Frames are rewritten when the cut
 * falls inside one.
 */
import { closeSync, fdatasyncSync, fstatSync, ftruncateSync, openSync, unlinkSync, writeSync } from 'node:fs';
import { crc32 } from 'node:zlib';
import { fsyncDir, listLogSegments, listSnapshots } from './files.js';
import { FRAME_HEADER_BYTES, FRAME_MAGIC, scanSegment, type LogRecord } from './log-format.js';

/** A serialized transaction's zxid: TxnHeader is clientId (8 bytes), cxid (4), zxid (8). */
function recordZxid(record: LogRecord): number {
  return record.bytes.readUInt32BE(12) * 0x100000000 + record.bytes.readUInt32BE(16);
}

export function truncateLog(logDir: string, snapshotDir: string, zxid: number): void {
  for (const snapshot of listSnapshots(snapshotDir)) if (snapshot.zxid > zxid) unlinkSync(snapshot.path);
  fsyncDir(snapshotDir);
  const segments = listLogSegments(logDir);
  for (let i = segments.length - 1; i >= 0; i--) {
    const segment = segments[i]!;
    if (segment.zxid > zxid) {
      unlinkSync(segment.path);
      continue;
    }
    const scan = scanSegment(segment.path, true);
    const firstAfter = scan.records.findIndex((r) => recordZxid(r) > zxid);
    if (firstAfter === -1 && scan.tornAt === null) break;
    if (firstAfter === 0) {
      // Nothing of it stays; its name may be wanted again by the next segment.
      unlinkSync(segment.path);
      continue;
    }
    cutSegment(segment.path, scan.records, firstAfter === -1 ? scan.records.length : firstAfter, scan.validEnd);
    break;
  }
  fsyncDir(logDir);
}

/** Keeps records [0, keep): the frame holding the first dropped record is rewritten with what it keeps. */
function cutSegment(file: string, records: LogRecord[], keep: number, validEnd: number): void {
  const cut = records[keep];
  const frameStart = cut?.frameOffset ?? validEnd;
  const kept = records.slice(0, keep).filter((r) => r.frameOffset === frameStart);
  const fd = openSync(file, 'r+');
  try {
    const size = fstatSync(fd).size;
    let end = frameStart;
    if (kept.length > 0) {
      const payload = Buffer.concat(kept.flatMap((r) => [lengthPrefix(r.bytes.length), r.bytes]));
      const header = Buffer.alloc(FRAME_HEADER_BYTES);
      header.writeUInt32BE(FRAME_MAGIC, 0);
      header.writeUInt32BE(payload.length, 4);
      header.writeUInt32BE(crc32(payload), 8);
      writeSync(fd, Buffer.concat([header, payload]), 0, FRAME_HEADER_BYTES + payload.length, frameStart);
      end = frameStart + FRAME_HEADER_BYTES + payload.length;
    }
    // Shrink then regrow: what follows reads as zeros, the end of the log.
    ftruncateSync(fd, end);
    ftruncateSync(fd, Math.max(size, end));
    fdatasyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

function lengthPrefix(length: number): Buffer {
  const prefix = Buffer.alloc(4);
  prefix.writeUInt32BE(length);
  return prefix;
}
