/**
 * Purge (autopurge.snapRetainCount / autopurge.purgeInterval): keeps the
 * newest `retainCount` snapshots and the log segments that recovery from the
 * oldest of them needs; deletes the rest. It never deletes a file recovery
 * could still need: with no snapshot at all, every segment is kept.
 */
import { readdirSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { TEMP_SUFFIX, fsyncDir, listLogSegments, listSnapshots } from './files.js';
import { segmentsAfter } from './recovery.js';

export interface PurgeResult {
  deletedSnapshots: string[];
  deletedSegments: string[];
}

export function purge(snapshotDir: string, logDir: string, retainCount: number): PurgeResult {
  const snapshots = listSnapshots(snapshotDir);
  const keep = Math.max(1, retainCount);
  if (snapshots.length === 0) return { deletedSnapshots: [], deletedSegments: [] };
  const oldSnapshots = snapshots.slice(0, Math.max(0, snapshots.length - keep));
  const oldestKept = snapshots[Math.max(0, snapshots.length - keep)]!;
  const segments = listLogSegments(logDir);
  const needed = new Set(segmentsAfter(segments, oldestKept.zxid).map((s) => s.path));
  const oldSegments = segments.filter((s) => !needed.has(s.path));
  for (const file of [...oldSnapshots, ...oldSegments]) unlinkSync(file.path);
  if (oldSnapshots.length > 0) fsyncDir(snapshotDir);
  if (oldSegments.length > 0) fsyncDir(logDir);
  return { deletedSnapshots: oldSnapshots.map((s) => s.path), deletedSegments: oldSegments.map((s) => s.path) };
}

/** Removes snapshots left half-written by a crash (only safe before any snapshot starts). */
export function removeIncompleteSnapshots(snapshotDir: string): string[] {
  let names: string[];
  try {
    names = readdirSync(snapshotDir);
  } catch {
    return [];
  }
  const removed = names.filter((name) => name.endsWith(TEMP_SUFFIX)).map((name) => join(snapshotDir, name));
  for (const path of removed) unlinkSync(path);
  return removed;
}
