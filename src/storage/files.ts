/**
 * Where storage lives and how its files are named. Log segments go in
 * `<dataLogDir>/zkts/log.<first zxid, 16 hex digits>` and snapshots in
 * `<dataDir>/zkts/snapshot.<zxid, 16 hex digits>`; the fixed-width names sort
 * in zxid order. (Apache ZooKeeper keeps its own, different format under
 * `version-2`; `zkts import` converts it.)
 */
import { closeSync, fsyncSync, mkdirSync, openSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

export const STORAGE_DIR = 'zkts';
const LOG_PREFIX = 'log.';
const SNAPSHOT_PREFIX = 'snapshot.';
export const TEMP_SUFFIX = '.tmp';

export function storageDir(baseDir: string): string {
  return join(baseDir, STORAGE_DIR);
}

export function zxidName(zxid: number): string {
  return zxid.toString(16).padStart(16, '0');
}

export function logFileName(firstZxid: number): string {
  return LOG_PREFIX + zxidName(firstZxid);
}

export function snapshotFileName(zxid: number): string {
  return SNAPSHOT_PREFIX + zxidName(zxid);
}

export interface NamedFile {
  path: string;
  zxid: number;
}

function filesWithPrefix(dir: string, prefix: string): NamedFile[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
  const files: NamedFile[] = [];
  for (const name of names) {
    if (!name.startsWith(prefix)) continue;
    const hex = name.slice(prefix.length);
    if (!/^[0-9a-f]{16}$/.test(hex)) continue;
    files.push({ path: join(dir, name), zxid: parseInt(hex, 16) });
  }
  return files.sort((a, b) => a.zxid - b.zxid);
}

/** Log segments in zxid order. */
export function listLogSegments(dir: string): NamedFile[] {
  return filesWithPrefix(dir, LOG_PREFIX);
}

/** Snapshots in zxid order (temporary files excluded). */
export function listSnapshots(dir: string): NamedFile[] {
  return filesWithPrefix(dir, SNAPSHOT_PREFIX);
}

export function ensureDir(dir: string): void {
  mkdirSync(dir, { recursive: true });
}

/** Makes a directory's entries (new, renamed or removed files) durable. */
export function fsyncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
