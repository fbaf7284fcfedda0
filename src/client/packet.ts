/**
 * A request on its way: what to send (opcode and an encoder for the body,
 * run when the request is written to a connection), how to read the answer,
 * and the promise to settle. Abort signals and timeouts settle the promise
 * early; the packet then still takes its place in the response order, and
 * its answer is read and dropped.
 */
import type { JuteReader, JuteWriter } from '../jute/mod.js';
import { ErrorCode, KeeperError } from './errors.js';
import type { WatchCallback } from './types.js';

/** Reads a successful reply's body (or, for `toleratedError`, the empty reply) into the call's result. */
export type ReplyReader<T> = (reader: JuteReader, err: number) => T;

/** A watch to register once the request succeeds ('exists' becomes a data or exist watch). */
export interface WatchRequest {
  kind: 'exists' | 'data' | 'child' | 'persistent' | 'persistentRecursive';
  path: string;
  callback: WatchCallback;
}

export class Packet<T = unknown> {
  xid = 0;
  settled = false;
  /** An error code that is an answer rather than a failure (exists: NoNode). */
  toleratedError: number = ErrorCode.Ok;
  watch: WatchRequest | null = null;
  /** closeSession must still go out after close() refused new requests. */
  allowedWhileClosing = false;
  private cleanup: (() => void) | null = null;

  constructor(
    readonly opcode: number,
    readonly encodeBody: ((w: JuteWriter) => void) | null,
    readonly readReply: ReplyReader<T>,
    /** The path as the caller gave it, for errors. */
    readonly path: string | undefined,
    private readonly onResolve: (value: T) => void,
    private readonly onReject: (error: unknown) => void,
    /** A fixed xid (setWatches uses −8); 0 means the next request xid. */
    readonly fixedXid = 0,
  ) {}

  /** Settles the promise early when the signal aborts or the timeout passes. */
  watchDeadline(signal: AbortSignal | undefined, timeoutMs: number | undefined): void {
    if (signal?.aborted) {
      this.fail(signal.reason);
      return;
    }
    let timer: NodeJS.Timeout | undefined;
    const onAbort = (): void => this.fail(signal!.reason);
    if (timeoutMs !== undefined) {
      timer = setTimeout(() => this.fail(new KeeperError(ErrorCode.RequestTimeout, this.path, `no answer within ${timeoutMs} ms`)), timeoutMs);
    }
    signal?.addEventListener('abort', onAbort, { once: true });
    this.cleanup = () => {
      if (timer !== undefined) clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    };
  }

  succeed(value: T): void {
    if (this.settle()) this.onResolve(value);
  }

  fail(error: unknown): void {
    if (this.settle()) this.onReject(error);
  }

  private settle(): boolean {
    if (this.settled) return false;
    this.settled = true;
    if (this.cleanup !== null) {
      this.cleanup();
      this.cleanup = null;
    }
    return true;
  }
}

export function ignore(): void {}
