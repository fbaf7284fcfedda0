/**
 * Zxid arithmetic: the high 32 bits are the epoch, the low 32 a counter that
 * rises by one per transaction within the epoch and starts again in a new one.
 */

const EPOCH_SPAN = 0x100000000;

export function epochOf(zxid: number): number {
  return Math.floor(zxid / EPOCH_SPAN);
}

/**
 * Whether `zxid` may directly follow `previous` in a log: the next counter
 * of its epoch, or the first transaction (counter 1) of a later epoch. A
 * leader numbers a new epoch's proposals from 1, so anything else is a hole.
 */
export function zxidFollows(previous: number, zxid: number): boolean {
  return epochOf(zxid) === epochOf(previous) ? zxid === previous + 1 : zxid > previous && zxid % EPOCH_SPAN === 1;
}

export function counterOf(zxid: number): number {
  return zxid % EPOCH_SPAN;
}

export function makeZxid(epoch: number, counter: number): number {
  return epoch * EPOCH_SPAN + counter;
}

/** The largest counter; a leader must not propose past it (a new epoch starts instead). */
export const MAX_COUNTER = EPOCH_SPAN - 1;

export function zxidHex(zxid: number): string {
  return `0x${zxid.toString(16)}`;
}
