/**
 * multi and multiRead: builders for their ops, and the conversions between
 * the caller's ops and results and the protocol's (paths mapped through the
 * chroot both ways).
 *
 * A multi is atomic: either every op is applied or none is. When one fails
 * the server still answers with one result per op (Ok before the failing
 * op, its code, RuntimeInconsistency after it), and the call rejects with a
 * MultiError carrying them. A multiRead's ops are independent: each result is
 * either the read's value or its own error.
 */
import { OpCode } from '../protocol/constants.js';
import { ErrorCode, KeeperError } from '../protocol/errors.js';
import type { MultiOpInput, MultiResult } from '../protocol/multi.js';
import type { Chroot } from './connect-string.js';
import { MultiError, badArguments } from './errors.js';
import { buildCreate, checkPath, checkVersion, toBytes } from './requests.js';
import type { CallOptions, CreateOptions, Data, Op, OpResult, ReadOp, ReadResult } from './types.js';

export type CreateOpOptions = Pick<CreateOptions, 'mode' | 'acl' | 'ttlMs'>;

/** Collects the ops of a multi; `commit()` sends them as one atomic request. */
export class Transaction {
  private readonly ops: Op[] = [];

  constructor(private readonly run: (ops: readonly Op[], options?: CallOptions) => Promise<OpResult[]>) {}

  get operations(): readonly Op[] {
    return this.ops;
  }

  create(path: string, data?: Data, options: CreateOpOptions = {}): this {
    this.ops.push({ type: 'create', path, data, ...options });
    return this;
  }

  delete(path: string, version = -1): this {
    this.ops.push({ type: 'delete', path, version });
    return this;
  }

  setData(path: string, data: Data, version = -1): this {
    this.ops.push({ type: 'setData', path, data, version });
    return this;
  }

  /** Succeeds only if the node's version is `version` (−1: only if it exists). */
  check(path: string, version: number): this {
    this.ops.push({ type: 'check', path, version });
    return this;
  }

  /** One result per op, in order; rejects with MultiError if any op failed (then none was applied). */
  commit(options?: CallOptions): Promise<OpResult[]> {
    return this.run(this.ops, options);
  }
}

/** Collects the reads of a multiRead: one request, one consistent view, per-op errors. */
export class ReadTransaction {
  private readonly ops: ReadOp[] = [];

  constructor(private readonly run: (ops: readonly ReadOp[], options?: CallOptions) => Promise<ReadResult[]>) {}

  get operations(): readonly ReadOp[] {
    return this.ops;
  }

  getData(path: string): this {
    this.ops.push({ type: 'getData', path });
    return this;
  }

  getChildren(path: string): this {
    this.ops.push({ type: 'getChildren', path });
    return this;
  }

  commit(options?: CallOptions): Promise<ReadResult[]> {
    return this.run(this.ops, options);
  }
}

/** Validates an op and converts it to its wire form, with the server's path. */
export function multiOpInput(op: Op, chroot: Chroot): MultiOpInput {
  const toServer = (path: string): string => chroot.toServer(path);
  switch (op.type) {
    case 'create': {
      const call = buildCreate(op.path, op.data, op, false, toServer);
      // Two returns so that TypeScript pairs each opcode with its request type.
      if (call.opcode === OpCode.createTTL) return { type: call.opcode, req: call.body };
      return { type: call.opcode, req: call.body };
    }
    case 'delete': {
      const version = op.version ?? -1;
      checkPath(op.path);
      checkVersion(op.path, version);
      return { type: OpCode.delete, req: { path: toServer(op.path), version } };
    }
    case 'setData': {
      const version = op.version ?? -1;
      checkPath(op.path);
      checkVersion(op.path, version);
      return { type: OpCode.setData, req: { path: toServer(op.path), data: toBytes(op.data), version } };
    }
    case 'check':
      checkPath(op.path);
      checkVersion(op.path, op.version);
      return { type: OpCode.check, req: { path: toServer(op.path), version: op.version } };
    default:
      throw badArguments(undefined, `unknown op type ${String((op as { type: unknown }).type)}`);
  }
}

export function readOpInput(op: ReadOp, chroot: Chroot): MultiOpInput {
  checkPath(op.path);
  const req = { path: chroot.toServer(op.path), watch: false };
  switch (op.type) {
    case 'getData':
      return { type: OpCode.getData, req };
    case 'getChildren':
      return { type: OpCode.getChildren, req };
    default:
      throw badArguments(undefined, `unknown read op type ${String((op as { type: unknown }).type)}`);
  }
}

/** The caller's results of a multi; throws MultiError when the server rolled it back. */
export function multiResults(results: MultiResult[], ops: readonly Op[], chroot: Chroot): OpResult[] {
  const failedIndex = results.findIndex((r) => r.type === OpCode.error && r.err !== ErrorCode.Ok);
  if (failedIndex !== -1) {
    const failed = results[failedIndex] as { err: number };
    const errors: OpResult[] = results.map((r) => ({ type: 'error', code: r.type === OpCode.error ? r.err : ErrorCode.Ok }));
    throw new MultiError(failed.err, ops[failedIndex]?.path, errors, failedIndex);
  }
  return results.map((result): OpResult => {
    switch (result.type) {
      case OpCode.create:
        return { type: 'create', path: chroot.fromServer(result.path) ?? result.path, stat: undefined };
      case OpCode.create2:
        return { type: 'create', path: chroot.fromServer(result.path) ?? result.path, stat: result.stat };
      case OpCode.delete:
        return { type: 'delete' };
      case OpCode.check:
        return { type: 'check' };
      case OpCode.setData:
        return { type: 'setData', stat: result.stat };
      case OpCode.error:
        return { type: 'error', code: result.err };
      default:
        throw new KeeperError(ErrorCode.MarshallingError, undefined, `unexpected result of type ${result.type} in a multi`);
    }
  });
}

export function readResults(results: MultiResult[]): ReadResult[] {
  return results.map((result): ReadResult => {
    switch (result.type) {
      case OpCode.getData:
        return { type: 'getData', data: result.data, stat: result.stat };
      case OpCode.getChildren:
        return { type: 'getChildren', children: result.children };
      case OpCode.error:
        return { type: 'error', code: result.err };
      default:
        throw new KeeperError(ErrorCode.MarshallingError, undefined, `unexpected result of type ${result.type} in a multiRead`);
    }
  });
}
