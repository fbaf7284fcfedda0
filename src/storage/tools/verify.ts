/**
 * `zkts verify <dataDir> [--dataLogDir dir]`: checks a zkts data directory
 * the way recovery would read it, without changing anything:
 *   - every snapshot loads (trailer, checksum, structure);
 *   - every log segment's frames pass scanSegment, and every transaction in
 *     them decodes;
 *   - zxids rise across all segments: strictly, and by one within an epoch;
 *     each segment starts at the zxid its name and header give;
 *   - recovery from each retained snapshot finds the log it needs: the first
 *     logged transaction after the snapshot follows it directly.
 * A torn tail in the last segment is reported but is not an error: recovery
 * cuts it off. Exit 0 when everything is sound, 1 otherwise.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { JuteError, JuteReader } from '../../jute/mod.js';
import { decodeTxn } from '../../protocol/txn.js';
import { listLogSegments, listSnapshots, storageDir, type NamedFile } from '../files.js';
import { CorruptionError, scanSegment } from '../log-format.js';
import { segmentsAfter } from '../recovery.js';
import { loadSnapshot } from '../snapshot.js';
import { ZK_VERSION_DIR } from '../zk-format.js';
import { zxidFollows } from '../../protocol/zxid.js';
import { hexZxid, type ToolOutput } from './describe.js';

export interface VerifyReport {
  /** What was checked and found sound, one line per file or check. */
  notes: string[];
  /** Torn tails found (not errors). */
  tornTails: string[];
  /** Everything wrong; empty when the directory is sound. */
  problems: string[];
  snapshots: number;
  segments: number;
  txns: number;
}

interface SegmentZxids {
  segment: NamedFile;
  /** Zxids of its transactions in order; null when the segment is unreadable. */
  zxids: number[] | null;
}

function checkSnapshots(snapshots: NamedFile[], report: VerifyReport): number[] {
  const loadable: number[] = [];
  for (const snapshot of snapshots) {
    try {
      const db = loadSnapshot(snapshot.path, { extendedTypesEnabled: true });
      if (db.lastZxid !== snapshot.zxid) {
        report.problems.push(`${snapshot.path}: holds zxid ${hexZxid(db.lastZxid)} but is named for ${hexZxid(snapshot.zxid)}`);
        continue;
      }
      report.notes.push(`snapshot ${snapshot.path}: ok, zxid ${hexZxid(db.lastZxid)}, ${db.tree.nodeCount} znodes, ${db.sessions.size} sessions`);
      loadable.push(snapshot.zxid);
    } catch (e) {
      if (!(e instanceof CorruptionError)) throw e;
      report.problems.push(e.message);
    }
  }
  return loadable;
}

function checkSegment(segment: NamedFile, isLast: boolean, report: VerifyReport): number[] | null {
  let scan;
  try {
    scan = scanSegment(segment.path, isLast);
  } catch (e) {
    if (!(e instanceof CorruptionError)) throw e;
    report.problems.push(e.message);
    return null;
  }
  if (scan.firstZxid !== -1 && scan.firstZxid !== segment.zxid) {
    report.problems.push(`${segment.path}: its header says it starts at zxid ${hexZxid(scan.firstZxid)}, its name ${hexZxid(segment.zxid)}`);
  }
  const zxids: number[] = [];
  for (const record of scan.records) {
    try {
      const r = new JuteReader(record.bytes);
      zxids.push(decodeTxn(r).zxid);
      r.expectEnd('transaction');
    } catch (e) {
      if (!(e instanceof JuteError)) throw e;
      report.problems.push(`${segment.path} is corrupt at offset ${record.frameOffset}: undecodable transaction: ${e.message}`);
      return null;
    }
  }
  if (zxids.length > 0 && zxids[0] !== segment.zxid) {
    report.problems.push(`${segment.path}: its first transaction has zxid ${hexZxid(zxids[0]!)}, not ${hexZxid(segment.zxid)} as named`);
  }
  const range = zxids.length > 0 ? `, zxid ${hexZxid(zxids[0]!)}..${hexZxid(zxids.at(-1)!)}` : '';
  report.notes.push(`log ${segment.path}: ok, ${zxids.length} txns${range}`);
  if (scan.tornAt !== null) {
    report.tornTails.push(
      `${segment.path}: torn tail at offset ${scan.tornAt} — an interrupted write, never acknowledged; recovery cuts it off (not an error)`,
    );
  }
  report.txns += zxids.length;
  return zxids;
}

/** Zxids must rise across all segments: strictly, and by one within an epoch. */
function checkSequence(segments: SegmentZxids[], report: VerifyReport): void {
  let previous: { zxid: number; file: string } | null = null;
  for (const { segment, zxids } of segments) {
    if (zxids === null) {
      previous = null; // Unreadable: already reported; check again from the next segment.
      continue;
    }
    for (const zxid of zxids) {
      if (previous !== null && !zxidFollows(previous.zxid, zxid)) {
        const where = previous.file === segment.path ? '' : ` (the end of ${previous.file})`;
        report.problems.push(
          `${segment.path}: zxid ${hexZxid(zxid)} does not follow ${hexZxid(previous.zxid)}${where}: ` +
            (zxid <= previous.zxid ? 'zxids go backwards' : 'transactions are missing'),
        );
      }
      previous = { zxid, file: segment.path };
    }
  }
}

/**
 * Recovery from a snapshot at `zxid` replays segmentsAfter(zxid); the first
 * transaction after the snapshot must follow it, or acknowledged writes
 * between them would be lost.
 */
function checkRecoveryFrom(zxid: number, what: string, segments: SegmentZxids[], report: VerifyReport): void {
  const needed = new Set(segmentsAfter(segments.map((s) => s.segment), zxid).map((s) => s.path));
  let count = 0;
  let first: number | null = null;
  let last = zxid;
  for (const { segment, zxids } of segments) {
    if (!needed.has(segment.path) || zxids === null) continue;
    for (const z of zxids) {
      if (z <= zxid) continue;
      first ??= z;
      last = z;
      count++;
    }
  }
  if (first !== null && !zxidFollows(zxid, first)) {
    report.problems.push(
      `recovery from ${what} needs the log from zxid ${hexZxid(zxid + 1)}, but the first logged transaction after it is ${hexZxid(first)}`,
    );
    return;
  }
  report.notes.push(`recovery from ${what}: ok, replays ${count} txns${count > 0 ? ` up to ${hexZxid(last)}` : ''}`);
}

/** Checks the zkts storage under dataDir (snapshots) and dataLogDir (log segments). */
export function verifyDataDir(dataDir: string, dataLogDir = dataDir): VerifyReport {
  const report: VerifyReport = { notes: [], tornTails: [], problems: [], snapshots: 0, segments: 0, txns: 0 };
  const snapshots = listSnapshots(storageDir(dataDir));
  const segmentFiles = listLogSegments(storageDir(dataLogDir));
  report.snapshots = snapshots.length;
  report.segments = segmentFiles.length;
  const loadable = checkSnapshots(snapshots, report);
  const segments: SegmentZxids[] = segmentFiles.map((segment, i) => ({
    segment,
    zxids: checkSegment(segment, i === segmentFiles.length - 1, report),
  }));
  checkSequence(segments, report);
  if (loadable.length === 0) checkRecoveryFrom(0, 'an empty tree (no usable snapshot)', segments, report);
  for (const zxid of loadable) checkRecoveryFrom(zxid, `snapshot ${hexZxid(zxid)}`, segments, report);
  return report;
}

/** Runs the check and prints its findings; returns the exit code. */
export function runVerify(dataDir: string, options: { dataLogDir?: string }, io: ToolOutput): number {
  const dataLogDir = options.dataLogDir ?? dataDir;
  for (const dir of new Set([dataDir, dataLogDir])) {
    if (!existsSync(dir)) {
      io.err(`zkts verify: ${dir} does not exist`);
      return 1;
    }
  }
  const report = verifyDataDir(dataDir, dataLogDir);
  if (report.snapshots === 0 && report.segments === 0) {
    const zookeeper = existsSync(join(dataDir, ZK_VERSION_DIR)) ? ` (${join(dataDir, ZK_VERSION_DIR)} is Apache ZooKeeper data: see \`zkts import\`)` : '';
    io.out(`no zkts snapshots or log segments under ${storageDir(dataDir)}${dataLogDir === dataDir ? '' : ` or ${storageDir(dataLogDir)}`}${zookeeper}`);
    return 0;
  }
  for (const note of report.notes) io.out(note);
  for (const torn of report.tornTails) io.out(torn);
  for (const problem of report.problems) io.err(`PROBLEM: ${problem}`);
  const counts = `${report.snapshots} snapshots, ${report.segments} log segments, ${report.txns} txns`;
  if (report.problems.length === 0) {
    io.out(`OK: ${counts}; no corruption${report.tornTails.length > 0 ? ' (a torn tail, which recovery cuts off)' : ''}`);
    return 0;
  }
  io.err(`FAILED: ${report.problems.length} problems in ${counts}`);
  return 1;
}
