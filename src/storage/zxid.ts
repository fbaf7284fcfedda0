/**
 * Zxid arithmetic: the high 32 bits are the epoch, the low 32 a counter that
 * rises by one per transaction within the epoch and starts again in a new one.
 */

const EPOCH_SPAN = 0x100000000;

export function epochOf(zxid: number): number {
  return Math.floor(zxid / EPOCH_SPAN);
}

/** Whether `zxid` may directly follow `previous` in a log: the next counter of its epoch, or any zxid of a later epoch. */
export function zxidFollows(previous: number, zxid: number): boolean {
  return epochOf(zxid) === epochOf(previous) ? zxid === previous + 1 : zxid > previous;
}
