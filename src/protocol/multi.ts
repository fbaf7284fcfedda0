/**
 * multi and multiRead: a request is a sequence of MultiHeader + op record,
 * ended by MultiHeader{type −1, done true, err −1}; so is the response, with
 * one result record per op (MultiOperationRecord / MultiResponse).
 */
import { JuteError, JuteReader, JuteWriter } from '../jute/mod.js';
import { OpCode } from './constants.js';
import {
  CheckVersionRequest,
  Create2Response,
  CreateRequest,
  CreateResponse,
  CreateTTLRequest,
  DeleteRequest,
  ErrorResponse,
  GetChildrenResponse,
  GetDataResponse,
  MultiHeader,
  PathWatchRequest,
  SetDataRequest,
  StatResponse,
  type Stat,
} from './records.js';

/** One op of a multi (writes) or multiRead (reads). */
export type MultiOp =
  | { type: typeof OpCode.create | typeof OpCode.create2 | typeof OpCode.createContainer; req: CreateRequest }
  | { type: typeof OpCode.createTTL; req: CreateTTLRequest }
  | { type: typeof OpCode.delete; req: DeleteRequest }
  | { type: typeof OpCode.setData; req: SetDataRequest }
  | { type: typeof OpCode.check; req: CheckVersionRequest }
  | { type: typeof OpCode.getChildren | typeof OpCode.getData; req: PathWatchRequest };

export type MultiOpInput =
  | { type: typeof OpCode.create | typeof OpCode.create2 | typeof OpCode.createContainer; req: Parameters<typeof CreateRequest.encode>[1] }
  | { type: typeof OpCode.createTTL; req: Parameters<typeof CreateTTLRequest.encode>[1] }
  | { type: typeof OpCode.delete; req: Parameters<typeof DeleteRequest.encode>[1] }
  | { type: typeof OpCode.setData; req: Parameters<typeof SetDataRequest.encode>[1] }
  | { type: typeof OpCode.check; req: Parameters<typeof CheckVersionRequest.encode>[1] }
  | { type: typeof OpCode.getChildren | typeof OpCode.getData; req: Parameters<typeof PathWatchRequest.encode>[1] };

/** One result of a multi or multiRead response. */
export type MultiResult =
  | { type: typeof OpCode.create; path: string }
  | { type: typeof OpCode.create2; path: string; stat: Stat }
  | { type: typeof OpCode.delete | typeof OpCode.check }
  | { type: typeof OpCode.setData; stat: Stat }
  | { type: typeof OpCode.getData; data: Buffer | null; stat: Stat }
  | { type: typeof OpCode.getChildren; children: string[] }
  | { type: typeof OpCode.error; err: number };

const END = { type: -1, done: true, err: -1 } as const;

function isReadOp(type: number): boolean {
  return type === OpCode.getChildren || type === OpCode.getData;
}

/** Decodes a multi/multiRead request; mixing reads and writes is an error, as in ZooKeeper. */
export function decodeMultiRequest(r: JuteReader): MultiOp[] {
  const ops: MultiOp[] = [];
  let reads: boolean | undefined;
  for (let h = MultiHeader.decode(r); !h.done; h = MultiHeader.decode(r)) {
    const op = decodeOp(r, h.type);
    const isRead = isReadOp(op.type);
    if (reads !== undefined && reads !== isRead) throw new JuteError('Mixing different kind of ops');
    reads = isRead;
    ops.push(op);
  }
  return ops;
}

function decodeOp(r: JuteReader, type: number): MultiOp {
  switch (type) {
    case OpCode.create:
    case OpCode.create2:
    case OpCode.createContainer:
      return { type, req: CreateRequest.decode(r) };
    case OpCode.createTTL:
      return { type, req: CreateTTLRequest.decode(r) };
    case OpCode.delete:
      return { type, req: DeleteRequest.decode(r) };
    case OpCode.setData:
      return { type, req: SetDataRequest.decode(r) };
    case OpCode.check:
      return { type, req: CheckVersionRequest.decode(r) };
    case OpCode.getChildren:
    case OpCode.getData:
      return { type, req: PathWatchRequest.decode(r) };
    default:
      throw new JuteError(`Invalid type of op: ${type}`);
  }
}

export function encodeMultiRequest(w: JuteWriter, ops: readonly MultiOpInput[]): void {
  for (const op of ops) {
    MultiHeader.encode(w, { type: op.type, done: false, err: -1 });
    switch (op.type) {
      case OpCode.create:
      case OpCode.create2:
      case OpCode.createContainer:
        CreateRequest.encode(w, op.req);
        break;
      case OpCode.createTTL:
        CreateTTLRequest.encode(w, op.req);
        break;
      case OpCode.delete:
        DeleteRequest.encode(w, op.req);
        break;
      case OpCode.setData:
        SetDataRequest.encode(w, op.req);
        break;
      case OpCode.check:
        CheckVersionRequest.encode(w, op.req);
        break;
      case OpCode.getChildren:
      case OpCode.getData:
        PathWatchRequest.encode(w, op.req);
        break;
    }
  }
  MultiHeader.encode(w, END);
}

/** Writes a MultiResponse; the data of getData results may be any byte view (the tree's). */
export function encodeMultiResponse(
  w: JuteWriter,
  results: readonly (MultiResult | { type: typeof OpCode.getData; data: Uint8Array | null; stat: Stat })[],
): void {
  for (const result of results) {
    MultiHeader.encode(w, { type: result.type, done: false, err: result.type === OpCode.error ? result.err : 0 });
    switch (result.type) {
      case OpCode.create:
        CreateResponse.encode(w, result);
        break;
      case OpCode.create2:
        Create2Response.encode(w, result);
        break;
      case OpCode.delete:
      case OpCode.check:
        break;
      case OpCode.setData:
        StatResponse.encode(w, result);
        break;
      case OpCode.getData:
        GetDataResponse.encode(w, result);
        break;
      case OpCode.getChildren:
        GetChildrenResponse.encode(w, result);
        break;
      case OpCode.error:
        ErrorResponse.encode(w, result);
        break;
    }
  }
  MultiHeader.encode(w, END);
}

export function decodeMultiResponse(r: JuteReader): MultiResult[] {
  const results: MultiResult[] = [];
  for (let h = MultiHeader.decode(r); !h.done; h = MultiHeader.decode(r)) {
    switch (h.type) {
      case OpCode.create:
        results.push({ type: h.type, path: CreateResponse.decode(r).path });
        break;
      case OpCode.create2:
        results.push({ type: h.type, ...Create2Response.decode(r) });
        break;
      case OpCode.delete:
      case OpCode.check:
        results.push({ type: h.type });
        break;
      case OpCode.setData:
        results.push({ type: h.type, stat: StatResponse.decode(r).stat });
        break;
      case OpCode.getData:
        results.push({ type: h.type, ...GetDataResponse.decode(r) });
        break;
      case OpCode.getChildren:
        results.push({ type: h.type, children: GetChildrenResponse.decode(r).children });
        break;
      case OpCode.error:
        results.push({ type: h.type, err: ErrorResponse.decode(r).err });
        break;
      default:
        throw new JuteError(`Invalid type ${h.type} in MultiResponse`);
    }
  }
  return results;
}
