/**
 * How the storage tools print what they find: zxids and session ids in hex,
 * times in ISO 8601, data as a length and a short preview, ACLs as
 * `scheme:id=cdrwa` like zkCli, and transactions either as one readable
 * line (plus one per multi op) or as a JSON object.
 */
import { TextDecoder } from 'node:util';
import { OpCode, Perms, opName } from '../../protocol/constants.js';
import type { ACL } from '../../protocol/records.js';
import type { Txn, TxnBody } from '../../protocol/txn.js';

/** Where a tool writes: `out` for what it reports, `err` for problems. */
export interface ToolOutput {
  out(line: string): void;
  err(line: string): void;
}

export function hexZxid(zxid: number): string {
  return `0x${zxid.toString(16)}`;
}

/** A session id (or ephemeral owner) as ZooKeeper prints it: unsigned hex. */
export function hexSession(id: bigint): string {
  return `0x${BigInt.asUintN(64, id).toString(16)}`;
}

export function isoTime(ms: number): string {
  const date = new Date(ms);
  return Number.isNaN(date.getTime()) ? String(ms) : date.toISOString();
}

const PREVIEW_BYTES = 48;
const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/** Control characters other than tab, newline and carriage return make data binary for a preview. */
function hasControlChars(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if ((c < 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) || c === 0x7f) return true;
  }
  return false;
}

function asBytes(data: Uint8Array): Buffer {
  return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}

/** `bytes` as text if they are printable UTF-8 (a character cut at the end of a preview is dropped), else null. */
function printableText(bytes: Buffer, cut: boolean): string | null {
  for (let drop = 0; drop <= (cut ? 3 : 0) && drop < bytes.length; drop++) {
    try {
      const text = strictUtf8.decode(bytes.subarray(0, bytes.length - drop));
      return hasControlChars(text) ? null : text;
    } catch {
      // Not valid UTF-8 (yet): try without the last byte, which may be a cut character.
    }
  }
  return bytes.length === 0 ? '' : null;
}

/** The first bytes of znode data: a quoted string if they are printable UTF-8, else hex; an ellipsis marks a cut. */
export function dataPreview(data: Uint8Array | null): string {
  if (data === null) return 'null';
  const bytes = asBytes(data);
  const cut = bytes.length > PREVIEW_BYTES;
  const head = bytes.subarray(0, PREVIEW_BYTES);
  const more = cut ? '…' : '';
  const text = printableText(head, cut);
  return text === null ? `0x${head.toString('hex')}${more}` : JSON.stringify(text) + more;
}

export function dataLength(data: Uint8Array | null): number {
  return data === null ? 0 : data.length;
}

/** `12B "hello"`: length and preview. */
export function describeData(data: Uint8Array | null): string {
  return data === null ? 'null' : `${data.length}B ${dataPreview(data)}`;
}

/** Permissions as zkCli prints them: letters of create, delete, read, write, admin. */
export function permsString(perms: number): string {
  const letters: [number, string][] = [
    [Perms.CREATE, 'c'],
    [Perms.DELETE, 'd'],
    [Perms.READ, 'r'],
    [Perms.WRITE, 'w'],
    [Perms.ADMIN, 'a'],
  ];
  return letters.map(([bit, letter]) => (perms & bit ? letter : '')).join('');
}

export function describeAcl(acl: readonly ACL[]): string {
  return `[${acl.map((a) => `${a.id.scheme}:${a.id.id}=${permsString(a.perms)}`).join(', ')}]`;
}

export function aclJson(acl: readonly ACL[]): { scheme: string; id: string; perms: string }[] {
  return acl.map((a) => ({ scheme: a.id.scheme, id: a.id.id, perms: permsString(a.perms) }));
}

/** The fields of a transaction body, for JSON. */
export function bodyJson(body: TxnBody): Record<string, unknown> {
  const type = opName(body.type);
  switch (body.type) {
    case OpCode.create:
    case OpCode.create2: {
      const c = body.create;
      return { type, path: c.path, ...dataJson(c.data), acl: aclJson(c.acl), ephemeral: c.ephemeral, parentCVersion: c.parentCVersion };
    }
    case OpCode.createContainer: {
      const c = body.createContainer;
      return { type, path: c.path, ...dataJson(c.data), acl: aclJson(c.acl), parentCVersion: c.parentCVersion };
    }
    case OpCode.createTTL: {
      const c = body.createTTL;
      return { type, path: c.path, ...dataJson(c.data), acl: aclJson(c.acl), parentCVersion: c.parentCVersion, ttl: c.ttl };
    }
    case OpCode.delete:
    case OpCode.deleteContainer:
      return { type, path: body.delete.path };
    case OpCode.setData:
      return { type, path: body.setData.path, ...dataJson(body.setData.data), version: body.setData.version };
    case OpCode.setACL:
      return { type, path: body.setACL.path, acl: aclJson(body.setACL.acl), version: body.setACL.version };
    case OpCode.check:
      return { type, path: body.check.path, version: body.check.version };
    case OpCode.error:
      return { type, err: body.error.err };
    case OpCode.createSession:
      return { type, timeout: body.createSession.timeOut, passwdLength: dataLength(body.createSession.passwd) };
    case OpCode.closeSession:
      return { type, paths2Delete: body.closeSession.paths2Delete };
    case OpCode.multi:
      return { type, ops: body.ops.map(bodyJson) };
  }
}

function dataJson(data: Uint8Array | null): { dataLength: number; data: string } {
  return { dataLength: dataLength(data), data: dataPreview(data) };
}

/** A transaction as one JSON object (header fields, then the body's). */
export function txnJson(txn: Txn): Record<string, unknown> {
  return {
    zxid: hexZxid(txn.zxid),
    time: isoTime(txn.time),
    session: hexSession(txn.clientId),
    cxid: txn.cxid,
    ...bodyJson(txn.body),
  };
}

/** The body in one line: its type name, then its fields. */
export function describeBody(body: TxnBody): string {
  const type = opName(body.type);
  switch (body.type) {
    case OpCode.create:
    case OpCode.create2: {
      const c = body.create;
      return `${type} ${c.path} data=${describeData(c.data)} acl=${describeAcl(c.acl)}${c.ephemeral ? ' ephemeral' : ''} parentCVersion=${c.parentCVersion}`;
    }
    case OpCode.createContainer: {
      const c = body.createContainer;
      return `${type} ${c.path} data=${describeData(c.data)} acl=${describeAcl(c.acl)} parentCVersion=${c.parentCVersion}`;
    }
    case OpCode.createTTL: {
      const c = body.createTTL;
      return `${type} ${c.path} data=${describeData(c.data)} acl=${describeAcl(c.acl)} parentCVersion=${c.parentCVersion} ttl=${c.ttl}ms`;
    }
    case OpCode.delete:
    case OpCode.deleteContainer:
      return `${type} ${body.delete.path}`;
    case OpCode.setData:
      return `${type} ${body.setData.path} data=${describeData(body.setData.data)} version=${body.setData.version}`;
    case OpCode.setACL:
      return `${type} ${body.setACL.path} acl=${describeAcl(body.setACL.acl)} version=${body.setACL.version}`;
    case OpCode.check:
      return `${type} ${body.check.path} version=${body.check.version}`;
    case OpCode.error:
      return `${type} err=${body.error.err}`;
    case OpCode.createSession:
      return `${type} timeout=${body.createSession.timeOut}ms passwd=${dataLength(body.createSession.passwd)}B`;
    case OpCode.closeSession:
      return `${type} paths2Delete=[${body.closeSession.paths2Delete.join(', ')}]`;
    case OpCode.multi:
      return `${type} (${body.ops.length} ops)`;
  }
}

/** A transaction as readable lines: the header and body, then one indented line per multi op. */
export function describeTxn(txn: Txn, indent = ''): string[] {
  const head = `${indent}zxid ${hexZxid(txn.zxid)} ${isoTime(txn.time)} session ${hexSession(txn.clientId)} cxid ${txn.cxid} ${describeBody(txn.body)}`;
  if (txn.body.type !== OpCode.multi) return [head];
  return [head, ...txn.body.ops.map((op, i) => `${indent}    op ${i + 1}: ${describeBody(op)}`)];
}
