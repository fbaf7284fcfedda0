/**
 * Apache ZooKeeper's own on-disk format, read by `zkts import`: the
 * `version-2` directories of its dataDir (snapshots) and dataLogDir (txn logs).
 *
 * Both kinds of file start with a FileHeader (int magic "ZKSN" or "ZKLG",
 * int version 2, long dbid) and use Adler-32 checksums.
 *
 * Snapshot `snapshot.<zxid hex>[.gz|.snappy]` (the extension names the
 * compression; the checksum covers the uncompressed stream): header; session
 * count, then (long id, int timeout) pairs; ACL cache entry count, then
 * (long id, vector<ACL>) entries — nodes refer to a list by id, −1 meaning
 * OPEN_ACL_UNSAFE; then (ustring path, DataNode{buffer data, long acl,
 * StatPersisted}) in depth-first order, the root's path being "" and a path
 * "/" ending the list; then a seal (long Adler-32 of everything before it,
 * ustring "/"). ZooKeeper 3.6+ with digests enabled appends a ZxidDigest and
 * a second seal covering everything before it. The snapshot is fuzzy: taken
 * while transactions were applied, so the log from its zxid on is replayed
 * over it, some transactions a second time.
 *
 * Log `log.<first zxid hex>`: header, then entries, each a long Adler-32 of
 * the txn bytes, the txn bytes as a jute buffer (int length, TxnHeader +
 * record, and since 3.6 possibly a TxnDigest), and a 'B' end-of-record byte.
 * The file is preallocated with zeros, so an entry length of 0 ends it.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { JuteError, JuteReader, record, vector } from '../jute/mod.js';
import { OpCode, opName } from '../protocol/constants.js';
import { ACL } from '../protocol/records.js';
import { SetDataTxn, TxnHeader, decodeTxn, type Txn, type TxnBody } from '../protocol/txn.js';
import { zkSessionPassword } from './java-random.js';
import { SnappyError, decompressSnappyStream } from './snappy.js';

export const ZK_VERSION_DIR = 'version-2';
const SNAPSHOT_MAGIC = 0x5a4b534e; // "ZKSN"
const LOG_MAGIC = 0x5a4b4c47; // "ZKLG"
const ZK_FORMAT_VERSION = 2;
const FILE_HEADER_BYTES = 16;
/** A log entry's checksum (long) and length (int), before the txn bytes. */
const ENTRY_HEADER_BYTES = 12;
const END_OF_RECORD = 0x42; // 'B'
/** TxnDigest: int version, long treeDigest. */
const TXN_DIGEST_BYTES = 12;
/** The ACL cache id ZooKeeper uses for OPEN_ACL_UNSAFE without storing the list. */
export const ZK_OPEN_ACL_ID = -1;

/** Something in a ZooKeeper file that cannot be read; offsets are into the uncompressed stream. */
export class ZkFormatError extends Error {
  override name = 'ZkFormatError';

  constructor(
    readonly file: string,
    readonly offset: number,
    reason: string,
  ) {
    super(`${file}: ${reason} (at offset ${offset})`);
  }
}

const ADLER_MOD = 65521;
/** The most bytes summed before `b` could exceed 2^32 (zlib's NMAX). */
const ADLER_NMAX = 5552;

/** Adler-32 (java.util.zip.Adler32) of buf[start, end). */
export function adler32(buf: Uint8Array, start = 0, end = buf.length): number {
  let a = 1;
  let b = 0;
  for (let i = start; i < end; ) {
    const stop = Math.min(end, i + ADLER_NMAX);
    for (; i < stop; i++) {
      a += buf[i]!;
      b += a;
    }
    a %= ADLER_MOD;
    b %= ADLER_MOD;
  }
  return b * 65536 + a;
}

const FileHeader = record('FileHeader', { magic: 'int', version: 'int', dbid: 'bigLong' });

const StatPersisted = record('StatPersisted', {
  czxid: 'long',
  mzxid: 'long',
  ctime: 'long',
  mtime: 'long',
  version: 'int',
  /** Children created so far; clients see 2*cversion − numChildren (DataNode.copyStat). */
  cversion: 'int',
  aversion: 'int',
  ephemeralOwner: 'bigLong',
  pzxid: 'long',
});
export interface ZkStatPersisted {
  czxid: number;
  mzxid: number;
  ctime: number;
  mtime: number;
  version: number;
  cversion: number;
  aversion: number;
  ephemeralOwner: bigint;
  pzxid: number;
}

const SnapshotSession = record('SnapshotSession', { id: 'bigLong', timeOut: 'int' });
const AclCacheEntry = record('AclCacheEntry', { id: 'long', acls: vector(ACL) });

export type ZkCompression = 'none' | 'gz' | 'snappy';

export interface ZkFile {
  path: string;
  /** The zxid in the file's name: a snapshot's last zxid, a log's first. */
  zxid: number;
  compression: ZkCompression;
}

/** The `version-2` directory of a ZooKeeper data directory (or the directory itself if it is one). */
export function zkVersionDir(dir: string): string {
  if (basename(dir) === ZK_VERSION_DIR) return dir;
  return join(dir, ZK_VERSION_DIR);
}

const SNAPSHOT_NAME = /^snapshot\.([0-9a-fA-F]{1,16})(?:\.(gz|snappy))?$/;
const LOG_NAME = /^log\.([0-9a-fA-F]{1,16})$/;

function listZkFiles(dir: string, pattern: RegExp): ZkFile[] {
  const files: ZkFile[] = [];
  for (const name of readdirSync(dir)) {
    const match = pattern.exec(name);
    if (match === null) continue;
    const compression = (match[2] ?? 'none') as ZkCompression;
    files.push({ path: join(dir, name), zxid: parseInt(match[1]!, 16), compression });
  }
  return files.sort((a, b) => a.zxid - b.zxid);
}

/** Snapshot files in zxid order (as Util.getZxidFromName reads their names). */
export function listZkSnapshots(versionDir: string): ZkFile[] {
  return listZkFiles(versionDir, SNAPSHOT_NAME);
}

/** Log files in zxid order. */
export function listZkLogs(versionDir: string): ZkFile[] {
  return listZkFiles(versionDir, LOG_NAME);
}

/**
 * The logs that can hold transactions after `zxid` (FileTxnLog.getLogFiles):
 * the last one starting at or before it, and every later one.
 */
export function zkLogsAfter(logs: readonly ZkFile[], zxid: number): ZkFile[] {
  let first = 0;
  logs.forEach((log, i) => {
    if (log.zxid <= zxid) first = i;
  });
  return logs.slice(first);
}

// ---- snapshots ----

export interface ZkSnapshotNode {
  /** "" for the root, as ZooKeeper writes it. */
  path: string;
  /** A view into the snapshot's bytes. */
  data: Uint8Array | null;
  /** ACL cache id; ZK_OPEN_ACL_ID for OPEN_ACL_UNSAFE. */
  aclId: number;
  stat: ZkStatPersisted;
}

export interface ZkSnapshot {
  file: string;
  /** From the file name, as ZooKeeper takes it. */
  zxid: number;
  dbid: bigint;
  sessions: { id: bigint; timeoutMs: number }[];
  acls: Map<number, ACL[]>;
  /** Parents before children. */
  nodes: ZkSnapshotNode[];
}

function uncompressed(file: ZkFile, raw: Buffer): Buffer {
  try {
    switch (file.compression) {
      case 'none':
        return raw;
      case 'gz':
        return gunzipSync(raw);
      case 'snappy':
        return decompressSnappyStream(raw);
    }
  } catch (e) {
    if (e instanceof SnappyError || (e as NodeJS.ErrnoException).code?.startsWith('Z_')) {
      throw new ZkFormatError(file.path, 0, `cannot decompress the ${file.compression} snapshot: ${(e as Error).message}`);
    }
    throw e;
  }
}

function readFileHeader(path: string, r: JuteReader, magic: number, what: string): bigint {
  const header = FileHeader.decode(r);
  if (header.magic !== magic) throw new ZkFormatError(path, 0, `not a ZooKeeper ${what} (bad magic)`);
  if (header.version !== ZK_FORMAT_VERSION) throw new ZkFormatError(path, 4, `unsupported ${what} format version ${header.version}`);
  return header.dbid;
}

/** Checks a seal (SnapStream.sealStream): the Adler-32 of everything before it, then "/". */
function checkSeal(path: string, buf: Buffer, r: JuteReader): void {
  const at = r.offset;
  const expected = adler32(buf, 0, at);
  const stored = r.readLong();
  if (r.readString() !== '/') throw new ZkFormatError(path, at, 'snapshot seal is malformed');
  if (stored !== expected) throw new ZkFormatError(path, at, 'snapshot checksum mismatch');
}

/** Reads and checks a whole snapshot; throws ZkFormatError if it is damaged. */
export function readZkSnapshot(file: ZkFile): ZkSnapshot {
  const buf = uncompressed(file, readFileSync(file.path));
  const r = new JuteReader(buf);
  try {
    const dbid = readFileHeader(file.path, r, SNAPSHOT_MAGIC, 'snapshot');
    const sessions: ZkSnapshot['sessions'] = [];
    for (let n = r.readInt(); n > 0; n--) {
      const s = SnapshotSession.decode(r);
      sessions.push({ id: s.id, timeoutMs: s.timeOut });
    }
    const acls = new Map<number, ACL[]>();
    for (let n = r.readInt(); n > 0; n--) {
      const entry = AclCacheEntry.decode(r);
      acls.set(entry.id, entry.acls);
    }
    const nodes: ZkSnapshotNode[] = [];
    for (let path = r.readString(); path !== '/'; path = r.readString()) {
      const data = r.readBuffer();
      const aclId = r.readLong();
      nodes.push({ path, data, aclId, stat: StatPersisted.decode(r) });
    }
    checkSeal(file.path, buf, r);
    // A ZxidDigest (long zxid, int version, digest: a long, or a hex string
    // before version 2) and a second seal. Anything after is ignored, as
    // ZooKeeper 3.8 ignores it.
    if (r.remaining > 0) {
      r.readLong();
      if (r.readInt() >= 2) r.readLong();
      else r.readString();
      checkSeal(file.path, buf, r);
    }
    return { file: file.path, zxid: file.zxid, dbid, sessions, acls, nodes };
  } catch (e) {
    if (e instanceof JuteError) throw new ZkFormatError(file.path, r.offset, `malformed snapshot: ${e.message}`);
    throw e;
  }
}

// ---- transaction logs ----

/** A logged ZooKeeper transaction, converted to the zkts Txn. */
export interface ZkLogEntry {
  /** Offset of the entry (its checksum) in the file. */
  offset: number;
  txn: Txn;
  /** Whether a TxnDigest (which zkts does not keep) followed the record. */
  hasDigest: boolean;
}

export interface ZkLogScan {
  file: string;
  dbid: bigint;
  entries: ZkLogEntry[];
  /** Set when the file ends in a partial entry (ZooKeeper stops reading the file there). */
  torn: { offset: number; reason: string } | null;
}

function isAllZero(buf: Buffer, start: number): boolean {
  for (let i = start; i < buf.length; i++) if (buf[i] !== 0) return false;
  return true;
}

/**
 * Reads a txn log the way FileTxnLog's iterator does: up to the zeros of
 * preallocation, or up to a partial last entry (reported in `torn`). A
 * checksum mismatch or an undecodable transaction throws ZkFormatError.
 */
export function readZkLog(path: string): ZkLogScan {
  const buf = readFileSync(path);
  if (buf.length < FILE_HEADER_BYTES && isAllZero(buf, 0)) {
    return { file: path, dbid: 0n, entries: [], torn: { offset: 0, reason: 'the file header was never written' } };
  }
  let dbid: bigint;
  try {
    dbid = readFileHeader(path, new JuteReader(buf), LOG_MAGIC, 'txn log');
  } catch (e) {
    if (e instanceof JuteError) throw new ZkFormatError(path, 0, 'the file header is truncated');
    throw e;
  }
  const entries: ZkLogEntry[] = [];
  const torn = (offset: number, reason: string): ZkLogScan => ({ file: path, dbid, entries, torn: { offset, reason } });
  let at = FILE_HEADER_BYTES;
  for (;;) {
    if (buf.length - at < ENTRY_HEADER_BYTES) {
      if (isAllZero(buf, at)) break;
      return torn(at, 'truncated entry header');
    }
    const checksum = buf.readUInt32BE(at) * 0x100000000 + buf.readUInt32BE(at + 4);
    const length = buf.readInt32BE(at + 8);
    if (length === 0) break;
    const start = at + ENTRY_HEADER_BYTES;
    if (length < 0 || length >= buf.length - start) return torn(at, `entry length ${length} runs past the end of the file`);
    if (buf[start + length] !== END_OF_RECORD) return torn(at, 'the entry has no end-of-record byte (a partial write)');
    const bytes = buf.subarray(start, start + length);
    if (adler32(bytes) !== checksum) throw new ZkFormatError(path, at, 'txn checksum mismatch');
    try {
      entries.push({ offset: at, ...decodeZkTxn(bytes) });
    } catch (e) {
      if (e instanceof JuteError) throw new ZkFormatError(path, at, `undecodable transaction: ${e.message}`);
      throw e;
    }
    at = start + length + 1;
  }
  return { file: path, dbid, entries, torn: null };
}

const ZkCreateSessionTxn = record('ZkCreateSessionTxn', { timeOut: 'int' });
/** CreateTxn as written before parentCVersion existed; replayed with parentCVersion −1 (increment). */
const CreateTxnV0 = record('CreateTxnV0', { path: 'ustring', data: 'buffer', acl: vector(ACL), ephemeral: 'bool' });

/**
 * Decodes a ZooKeeper txn (TxnHeader, record, optional TxnDigest) into the
 * zkts Txn. Most records are the same; the differences are handled here.
 */
export function decodeZkTxn(bytes: Buffer): { txn: Txn; hasDigest: boolean } {
  const r = new JuteReader(bytes);
  const header = TxnHeader.decode(r);
  const txnOf = (body: TxnBody): Txn => ({ clientId: header.clientId, cxid: header.cxid, zxid: header.zxid, time: header.time, body });
  switch (header.type) {
    case OpCode.createSession: {
      // ZooKeeper logs only the timeout; the password is derived from the session id.
      const { timeOut } = ZkCreateSessionTxn.decode(r);
      const body: TxnBody = { type: OpCode.createSession, createSession: { timeOut, passwd: zkSessionPassword(header.clientId) } };
      return { txn: txnOf(body), hasDigest: digestFollows(r, header.type) };
    }
    case OpCode.reconfig: {
      // A reconfig is logged as the SetDataTxn of /zookeeper/config.
      const setData = SetDataTxn.decode(r);
      return { txn: txnOf({ type: OpCode.setData, setData }), hasDigest: digestFollows(r, header.type) };
    }
    case OpCode.closeSession:
      // With zookeeper.closeSessionTxn.enabled=false the txn has no record.
      if (r.remaining === 0 || r.remaining === TXN_DIGEST_BYTES) {
        const full = tryDecode(bytes);
        if (full !== null) return full;
        return { txn: txnOf({ type: OpCode.closeSession, closeSession: { paths2Delete: [] } }), hasDigest: r.remaining > 0 };
      }
      break;
    case OpCode.create: {
      const full = tryDecode(bytes);
      if (full !== null) return full;
      const v0 = CreateTxnV0.decode(r);
      const body: TxnBody = { type: OpCode.create, create: { ...v0, parentCVersion: -1 } };
      return { txn: txnOf(body), hasDigest: digestFollows(r, header.type) };
    }
  }
  const full = new JuteReader(bytes);
  const txn = decodeTxn(full);
  return { txn, hasDigest: digestFollows(full, header.type) };
}

/** The txn decoded with the zkts schemas, or null if they do not fit it exactly. */
function tryDecode(bytes: Buffer): { txn: Txn; hasDigest: boolean } | null {
  try {
    const r = new JuteReader(bytes);
    const txn = decodeTxn(r);
    return { txn, hasDigest: digestFollows(r, txn.body.type) };
  } catch (e) {
    if (e instanceof JuteError) return null;
    throw e;
  }
}

/** After the record: nothing, or a TxnDigest (skipped: zkts does not keep tree digests). */
function digestFollows(r: JuteReader, type: number): boolean {
  if (r.remaining === 0) return false;
  if (r.remaining === TXN_DIGEST_BYTES) return true;
  throw new JuteError(`${r.remaining} unexpected bytes after the ${opName(type)} txn`);
}
