/**
 * Transactions: what the leader proposes, the log stores and every server
 * applies. Their records follow zookeeper.jute's `org.apache.zookeeper.txn`
 * module, except CreateSessionTxn, which also carries the session password
 * so that any server of the ensemble can check a reconnecting client.
 */
import { JuteReader, JuteWriter, record, vector, JuteError, type Decoded } from '../jute/mod.js';
import { OpCode } from './constants.js';
import { ACL } from './records.js';

export const TxnHeader = record('TxnHeader', {
  clientId: 'bigLong',
  cxid: 'int',
  zxid: 'long',
  time: 'long',
  type: 'int',
});
export type TxnHeader = Decoded<typeof TxnHeader>;

export const CreateTxn = record('CreateTxn', {
  path: 'ustring',
  data: 'buffer',
  acl: vector(ACL),
  ephemeral: 'bool',
  parentCVersion: 'int',
});
export type CreateTxn = Decoded<typeof CreateTxn>;

export const CreateTTLTxn = record('CreateTTLTxn', {
  path: 'ustring',
  data: 'buffer',
  acl: vector(ACL),
  parentCVersion: 'int',
  ttl: 'long',
});
export type CreateTTLTxn = Decoded<typeof CreateTTLTxn>;

export const CreateContainerTxn = record('CreateContainerTxn', {
  path: 'ustring',
  data: 'buffer',
  acl: vector(ACL),
  parentCVersion: 'int',
});
export type CreateContainerTxn = Decoded<typeof CreateContainerTxn>;

export const DeleteTxn = record('DeleteTxn', { path: 'ustring' });
export type DeleteTxn = Decoded<typeof DeleteTxn>;

export const SetDataTxn = record('SetDataTxn', { path: 'ustring', data: 'buffer', version: 'int' });
export type SetDataTxn = Decoded<typeof SetDataTxn>;

export const CheckVersionTxn = record('CheckVersionTxn', { path: 'ustring', version: 'int' });
export type CheckVersionTxn = Decoded<typeof CheckVersionTxn>;

export const SetACLTxn = record('SetACLTxn', { path: 'ustring', acl: vector(ACL), version: 'int' });
export type SetACLTxn = Decoded<typeof SetACLTxn>;

export const CreateSessionTxn = record('CreateSessionTxn', { timeOut: 'int', passwd: 'buffer' });
export type CreateSessionTxn = Decoded<typeof CreateSessionTxn>;

export const CloseSessionTxn = record('CloseSessionTxn', { paths2Delete: vector('ustring') });
export type CloseSessionTxn = Decoded<typeof CloseSessionTxn>;

export const ErrorTxn = record('ErrorTxn', { err: 'int' });
export type ErrorTxn = Decoded<typeof ErrorTxn>;

/** One element of MultiTxn on the wire: a sub-txn's type and its serialized record. */
const SubTxn = record('Txn', { type: 'int', data: 'buffer' });
const MultiTxnRecord = record('MultiTxn', { txns: vector(SubTxn) });

/** A transaction body, discriminated by its type (the TxnHeader type). */
export type TxnBody =
  | { type: typeof OpCode.create | typeof OpCode.create2; create: CreateTxn }
  | { type: typeof OpCode.createContainer; createContainer: CreateContainerTxn }
  | { type: typeof OpCode.createTTL; createTTL: CreateTTLTxn }
  | { type: typeof OpCode.delete | typeof OpCode.deleteContainer; delete: DeleteTxn }
  | { type: typeof OpCode.setData; setData: SetDataTxn }
  | { type: typeof OpCode.setACL; setACL: SetACLTxn }
  | { type: typeof OpCode.check; check: CheckVersionTxn }
  | { type: typeof OpCode.error; error: ErrorTxn }
  | { type: typeof OpCode.createSession; createSession: CreateSessionTxn }
  | { type: typeof OpCode.closeSession; closeSession: CloseSessionTxn }
  | { type: typeof OpCode.multi; ops: TxnBody[] };

/** A transaction: who asked (session and xid), its zxid and time, and what it does. */
export interface Txn {
  clientId: bigint;
  cxid: number;
  zxid: number;
  /** Wall-clock milliseconds chosen by the leader; apply never reads a clock. */
  time: number;
  body: TxnBody;
}

function encodeBody(w: JuteWriter, body: TxnBody): void {
  switch (body.type) {
    case OpCode.create:
    case OpCode.create2:
      return CreateTxn.encode(w, body.create);
    case OpCode.createContainer:
      return CreateContainerTxn.encode(w, body.createContainer);
    case OpCode.createTTL:
      return CreateTTLTxn.encode(w, body.createTTL);
    case OpCode.delete:
    case OpCode.deleteContainer:
      return DeleteTxn.encode(w, body.delete);
    case OpCode.setData:
      return SetDataTxn.encode(w, body.setData);
    case OpCode.setACL:
      return SetACLTxn.encode(w, body.setACL);
    case OpCode.check:
      return CheckVersionTxn.encode(w, body.check);
    case OpCode.error:
      return ErrorTxn.encode(w, body.error);
    case OpCode.createSession:
      return CreateSessionTxn.encode(w, body.createSession);
    case OpCode.closeSession:
      return CloseSessionTxn.encode(w, body.closeSession);
    case OpCode.multi: {
      const txns = body.ops.map((op) => {
        const sub = new JuteWriter(256);
        encodeBody(sub, op);
        return { type: op.type, data: sub.take() };
      });
      return MultiTxnRecord.encode(w, { txns });
    }
  }
}

function decodeBody(r: JuteReader, type: number): TxnBody {
  switch (type) {
    case OpCode.create:
    case OpCode.create2:
      return { type, create: CreateTxn.decode(r) };
    case OpCode.createContainer:
      return { type, createContainer: CreateContainerTxn.decode(r) };
    case OpCode.createTTL:
      return { type, createTTL: CreateTTLTxn.decode(r) };
    case OpCode.delete:
    case OpCode.deleteContainer:
      return { type, delete: DeleteTxn.decode(r) };
    case OpCode.setData:
      return { type, setData: SetDataTxn.decode(r) };
    case OpCode.setACL:
      return { type, setACL: SetACLTxn.decode(r) };
    case OpCode.check:
      return { type, check: CheckVersionTxn.decode(r) };
    case OpCode.error:
      return { type, error: ErrorTxn.decode(r) };
    case OpCode.createSession:
      return { type, createSession: CreateSessionTxn.decode(r) };
    case OpCode.closeSession:
      return { type, closeSession: CloseSessionTxn.decode(r) };
    case OpCode.multi: {
      const { txns } = MultiTxnRecord.decode(r);
      return { type, ops: txns.map((sub) => decodeSubTxn(sub.type, sub.data)) };
    }
    default:
      throw new JuteError(`unknown txn type ${type}`);
  }
}

function decodeSubTxn(type: number, data: Buffer | null): TxnBody {
  if (type === OpCode.multi) throw new JuteError('a multi txn cannot nest another multi');
  const r = new JuteReader(data ?? Buffer.alloc(0));
  const body = decodeBody(r, type);
  r.expectEnd(`sub-txn of type ${type}`);
  return body;
}

/** Writes TxnHeader followed by the body record. */
export function encodeTxn(w: JuteWriter, txn: Txn): void {
  TxnHeader.encode(w, { clientId: txn.clientId, cxid: txn.cxid, zxid: txn.zxid, time: txn.time, type: txn.body.type });
  encodeBody(w, txn.body);
}

/** Reads TxnHeader and body; buffers in the result are views into `r`'s input. */
export function decodeTxn(r: JuteReader): Txn {
  const header = TxnHeader.decode(r);
  const body = decodeBody(r, header.type);
  return { clientId: header.clientId, cxid: header.cxid, zxid: header.zxid, time: header.time, body };
}
