/**
 * The two epochs a quorum peer must never forget (ZooKeeper's acceptedEpoch
 * and currentEpoch files): the last epoch it promised to follow, and the
 * last it acknowledged a NEWLEADER for. Written atomically and durably.
 */
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { epochOf } from '../protocol/zxid.js';
import { TEMP_SUFFIX, fsyncDir } from './files.js';

const ACCEPTED_EPOCH = 'acceptedEpoch';
const CURRENT_EPOCH = 'currentEpoch';

export interface Epochs {
  acceptedEpoch: number;
  currentEpoch: number;
}

function readEpoch(dir: string, name: string): number | undefined {
  let text: string;
  try {
    text = readFileSync(join(dir, name), 'utf8').trim();
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
  if (!/^\d+$/.test(text)) throw new Error(`${join(dir, name)} holds '${text}', not an epoch`);
  return Number(text);
}

/**
 * Reads both epochs. A data dir that never took part in an ensemble (a
 * standalone server's, or one imported from ZooKeeper) has no files: its
 * epochs are then the epoch of its last zxid, as ZooKeeper assumes.
 */
export function readEpochs(dir: string, lastZxid: number): Epochs {
  const fallback = epochOf(lastZxid);
  const currentEpoch = readEpoch(dir, CURRENT_EPOCH) ?? fallback;
  const acceptedEpoch = readEpoch(dir, ACCEPTED_EPOCH) ?? currentEpoch;
  return { acceptedEpoch, currentEpoch };
}

function writeEpoch(dir: string, name: string, epoch: number): void {
  const temp = join(dir, name + TEMP_SUFFIX);
  const fd = openSync(temp, 'w');
  try {
    writeSync(fd, `${epoch}\n`);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(temp, join(dir, name));
}

export function writeEpochs(dir: string, epochs: Epochs): void {
  writeEpoch(dir, ACCEPTED_EPOCH, epochs.acceptedEpoch);
  writeEpoch(dir, CURRENT_EPOCH, epochs.currentEpoch);
  fsyncDir(dir);
}
