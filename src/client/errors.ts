/**
 * Client errors: every failed operation rejects with a KeeperError carrying
 * the ZooKeeper error code and the path (as the caller gave it). A failed
 * multi rejects with a MultiError that also carries the per-op results.
 */
import { ErrorCode, KeeperError } from '../protocol/errors.js';
import type { OpResult } from './types.js';

export { ErrorCode, KeeperError, errorName } from '../protocol/errors.js';

/** A multi (transaction) that the server rolled back: the first failing op's code and path, and every op's result. */
export class MultiError extends KeeperError {
  override name = 'MultiError';

  constructor(
    code: number,
    path: string | undefined,
    /** One result per op: `{ type: 'error', code }` for each, Ok (0) before the failing op, RuntimeInconsistency after. */
    readonly results: OpResult[],
    /** The index of the op that failed. */
    readonly failedIndex: number,
  ) {
    super(code, path, `op ${failedIndex} of the transaction failed`);
  }
}

export function connectionLoss(path?: string, detail?: string): KeeperError {
  return new KeeperError(ErrorCode.ConnectionLoss, path, detail);
}

export function badArguments(path: string | undefined, detail: string): KeeperError {
  return new KeeperError(ErrorCode.BadArguments, path, detail);
}
