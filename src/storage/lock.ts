/**
 * A pid lock file per storage directory: two servers writing one log would
 * interleave frames and corrupt it. A lock left by a process that died
 * (kill -9) is taken over.
 */
import { openSync, readFileSync, unlinkSync, writeSync, closeSync } from 'node:fs';
import { join } from 'node:path';

const LOCK_NAME = 'zkts.lock';

export class DirectoryInUseError extends Error {
  override name = 'DirectoryInUseError';
}

/** Whether `pid` is a running process (a zombie, killed but not yet reaped, is not). */
function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return true;
  }
}

/** Takes the lock of `dir`; returns the function that releases it. */
export function lockDirectory(dir: string): () => void {
  const path = join(dir, LOCK_NAME);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(path, 'wx');
      writeSync(fd, `${process.pid}\n`);
      closeSync(fd);
      return () => unlinkSync(path);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const pid = Number.parseInt(readFileSync(path, 'utf8'), 10);
      if (Number.isInteger(pid) && pid !== process.pid && isAlive(pid)) {
        throw new DirectoryInUseError(`${dir} is in use by another zkts server (pid ${pid}, see ${path})`);
      }
      unlinkSync(path);
    }
  }
  throw new DirectoryInUseError(`cannot take the lock ${path}`);
}
