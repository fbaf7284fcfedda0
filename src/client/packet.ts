/**
 * A request on its way: what to send (opcode and an encoder for the body,
 * run when the request is written to a connection), how to read the answer,
 * and the promise to settle. Abort signals and timeouts settle the promise
 * early; the packet then still takes its place in the response order, and
 * its answer is read and dropped.
 */
import type { JuteReader, JuteWriter } from '../jute/mod.js';
import { ErrorCode, KeeperError } from './errors.js';
import type { CallOptions, WatchCallback } from './types.js';

/** Reads a successful reply's body (or, for `toleratedError`, the empty reply) into the call's result. */
export type ReplyReader<T> = (reader: JuteReader, err: number) => T;

/** A watch to register once the request succeeds ('exists' becomes a data or exist watch). */
export interface WatchRequest {
  kind: 'exists' | 'data' | 'child' | 'persistent' | 'persistentRecursive';
  path: string;
  callback: WatchCallback;
}

/** A promise's settle functions, with an optional abort signal and timeout that settle it early. */
export class Pending<T> {
  settled = false;
  private cleanup: (() => void) | null = null;

  constructor(
    private readonly onResolve: (value: T) => void,
    private readonly onReject: (error: unknown) => void,
    /** The path as the caller gave it, for errors. */
    readonly path: string | undefined,
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
      timer = setTimeout(
        () => this.fail(new KeeperError(ErrorCode.RequestTimeout, this.path, `no answer within ${timeoutMs} ms`)),
        timeoutMs,
      );
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

/** What the session needs of a request, whatever its result type. */
export interface Request {
  readonly opcode: number;
  /** A fixed xid (setWatches uses −8); 0 means the next request xid. */
  readonly fixedXid: number;
  readonly encodeBody: ((w: JuteWriter) => void) | null;
  readonly path: string | undefined;
  readonly settled: boolean;
  /** closeSession must still go out after close() refused new requests. */
  readonly allowedWhileClosing: boolean;
  /** An error code that is an answer rather than a failure (exists: NoNode). */
  readonly toleratedError: number;
  readonly watch: WatchRequest | null;
  xid: number;
  fail(error: unknown): void;
  /** Reads the reply's body into the result; throws if it is malformed. */
  read(reader: JuteReader, err: number): void;
  /** Resolves with what read() produced. */
  resolve(): void;
}

export class Packet<T> extends Pending<T> implements Request {
  xid = 0;
  toleratedError: number = ErrorCode.Ok;
  watch: WatchRequest | null = null;
  allowedWhileClosing = false;
  private result: T | undefined;

  constructor(
    readonly opcode: number,
    readonly encodeBody: ((w: JuteWriter) => void) | null,
    private readonly readReply: ReplyReader<T>,
    path: string | undefined,
    onResolve: (value: T) => void,
    onReject: (error: unknown) => void,
    readonly fixedXid = 0,
  ) {
    super(onResolve, onReject, path);
  }

  read(reader: JuteReader, err: number): void {
    this.result = this.readReply(reader, err);
  }

  resolve(): void {
    this.succeed(this.result as T);
  }
}

/** The promise, or one that also rejects on the options' abort signal or timeout. */
export function withDeadline<T>(promise: Promise<T>, options: CallOptions, path?: string): Promise<T> {
  if (options.signal === undefined && options.timeoutMs === undefined) return promise;
  return new Promise<T>((resolve, reject) => {
    const pending = new Pending<T>(resolve, reject, path);
    pending.watchDeadline(options.signal, options.timeoutMs);
    promise.then(
      (value) => pending.succeed(value),
      (error: unknown) => pending.fail(error),
    );
  });
}

export function ignore(): void {}
