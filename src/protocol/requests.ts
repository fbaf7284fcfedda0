/**
 * Client requests as the server sees them: the body of each opcode decoded
 * into a typed record, discriminated by the opcode.
 */
import { JuteError, type JuteReader } from '../jute/mod.js';
import { OpCode } from './constants.js';
import { decodeMultiRequest, type MultiOp } from './multi.js';
import {
  AddWatchRequest,
  AuthPacket,
  CreateRequest,
  CreateTTLRequest,
  DeleteRequest,
  GetEphemeralsRequest,
  PathRequest,
  PathWatchRequest,
  ReconfigRequest,
  SaslToken,
  SetACLRequest,
  SetDataRequest,
  SetWatches,
  SetWatches2,
  WatchesRequest,
} from './records.js';

export type Request =
  | { type: typeof OpCode.create | typeof OpCode.create2 | typeof OpCode.createContainer; req: CreateRequest }
  | { type: typeof OpCode.createTTL; req: CreateTTLRequest }
  | { type: typeof OpCode.delete; req: DeleteRequest }
  | { type: typeof OpCode.deleteContainer; req: PathRequest }
  | { type: typeof OpCode.setData; req: SetDataRequest }
  | { type: typeof OpCode.setACL; req: SetACLRequest }
  | { type: typeof OpCode.reconfig; req: ReconfigRequest }
  | { type: typeof OpCode.multi; ops: MultiOp[] }
  | { type: typeof OpCode.multiRead; ops: MultiOp[] }
  | {
      type: typeof OpCode.exists | typeof OpCode.getData | typeof OpCode.getChildren | typeof OpCode.getChildren2;
      req: PathWatchRequest;
    }
  | { type: typeof OpCode.getACL | typeof OpCode.sync | typeof OpCode.getAllChildrenNumber; req: PathRequest }
  | { type: typeof OpCode.checkWatches | typeof OpCode.removeWatches; req: WatchesRequest }
  | { type: typeof OpCode.setWatches | typeof OpCode.setWatches2; req: SetWatches2 }
  | { type: typeof OpCode.getEphemerals; req: GetEphemeralsRequest }
  | { type: typeof OpCode.addWatch; req: AddWatchRequest }
  | { type: typeof OpCode.auth; req: AuthPacket }
  | { type: typeof OpCode.sasl; req: SaslToken }
  | { type: typeof OpCode.closeSession }
  | { type: typeof OpCode.ping | typeof OpCode.whoAmI };

/** Requests that change the tree: each becomes one transaction. */
export type WriteRequest = Extract<
  Request,
  {
    type:
      | typeof OpCode.create
      | typeof OpCode.create2
      | typeof OpCode.createContainer
      | typeof OpCode.createTTL
      | typeof OpCode.delete
      | typeof OpCode.deleteContainer
      | typeof OpCode.setData
      | typeof OpCode.setACL
      | typeof OpCode.reconfig
      | typeof OpCode.multi
      | typeof OpCode.closeSession;
  }
>;

const WRITE_TYPES = new Set<number>([
  OpCode.create,
  OpCode.create2,
  OpCode.createContainer,
  OpCode.createTTL,
  OpCode.delete,
  OpCode.deleteContainer,
  OpCode.setData,
  OpCode.setACL,
  OpCode.reconfig,
  OpCode.multi,
  OpCode.closeSession,
]);

export function isWriteRequest(request: Request): request is WriteRequest {
  return WRITE_TYPES.has(request.type);
}

/**
 * Opcodes a client may send after the handshake: Request.isValid minus a
 * top-level check (valid only inside multi) and deleteContainer, which only
 * the server's container reaper issues (it skips ACL checks).
 */
const CLIENT_TYPES = new Set<number>([
  ...[...WRITE_TYPES].filter((type) => type !== OpCode.deleteContainer),
  OpCode.exists,
  OpCode.getData,
  OpCode.getACL,
  OpCode.getChildren,
  OpCode.sync,
  OpCode.ping,
  OpCode.getChildren2,
  OpCode.checkWatches,
  OpCode.removeWatches,
  OpCode.multiRead,
  OpCode.auth,
  OpCode.setWatches,
  OpCode.sasl,
  OpCode.getEphemerals,
  OpCode.getAllChildrenNumber,
  OpCode.setWatches2,
  OpCode.addWatch,
  OpCode.whoAmI,
]);

export function isKnownClientOpcode(type: number): boolean {
  return CLIENT_TYPES.has(type);
}

/** Decodes the body of a request of a known opcode. Throws JuteError on malformed input. */
export function decodeRequest(type: number, r: JuteReader): Request {
  switch (type) {
    case OpCode.create:
    case OpCode.create2:
    case OpCode.createContainer:
      return { type, req: CreateRequest.decode(r) };
    case OpCode.createTTL:
      return { type, req: CreateTTLRequest.decode(r) };
    case OpCode.delete:
      return { type, req: DeleteRequest.decode(r) };
    case OpCode.deleteContainer:
      return { type, req: PathRequest.decode(r) };
    case OpCode.setData:
      return { type, req: SetDataRequest.decode(r) };
    case OpCode.setACL:
      return { type, req: SetACLRequest.decode(r) };
    case OpCode.reconfig:
      return { type, req: ReconfigRequest.decode(r) };
    case OpCode.multi:
      return { type, ops: decodeMultiRequest(r) };
    case OpCode.multiRead:
      return { type, ops: decodeMultiRequest(r) };
    case OpCode.exists:
    case OpCode.getData:
    case OpCode.getChildren:
    case OpCode.getChildren2:
      return { type, req: PathWatchRequest.decode(r) };
    case OpCode.getACL:
    case OpCode.sync:
    case OpCode.getAllChildrenNumber:
      return { type, req: PathRequest.decode(r) };
    case OpCode.checkWatches:
    case OpCode.removeWatches:
      return { type, req: WatchesRequest.decode(r) };
    case OpCode.setWatches: {
      const old = SetWatches.decode(r);
      return { type, req: { ...old, persistentWatches: [], persistentRecursiveWatches: [] } };
    }
    case OpCode.setWatches2:
      return { type, req: SetWatches2.decode(r) };
    case OpCode.getEphemerals:
      return { type, req: GetEphemeralsRequest.decode(r) };
    case OpCode.addWatch:
      return { type, req: AddWatchRequest.decode(r) };
    case OpCode.auth:
      return { type, req: AuthPacket.decode(r) };
    case OpCode.sasl:
      return { type, req: SaslToken.decode(r) };
    case OpCode.closeSession:
      return { type };
    case OpCode.ping:
    case OpCode.whoAmI:
      return { type };
    default:
      throw new JuteError(`unknown opcode ${type}`);
  }
}
