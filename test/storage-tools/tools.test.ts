/**
 * `zkts log`, `zkts snapshot` and `zkts verify` on zkts data written by the
 * storage layer itself: what they print (readable and JSON), and how they
 * report torn tails (exit 0), corruption (exit 1, file and offset) and gaps.
 */
import assert from 'node:assert/strict';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, test } from 'node:test';
import { JuteWriter } from '../../src/jute/mod.js';
import { OpCode } from '../../src/protocol/constants.js';
import { encodeTxn, type Txn, type TxnBody } from '../../src/protocol/txn.js';
import { silentLogger } from '../../src/server/logger.js';
import { ensureDir, listLogSegments, listSnapshots, snapshotFileName, storageDir } from '../../src/storage/files.js';
import { FRAME_MAGIC } from '../../src/storage/log-format.js';
import { captureSnapshot, writeSnapshot } from '../../src/storage/snapshot.js';
import { dataPreview, describeAcl, hexSession, isoTime, permsString } from '../../src/storage/tools/describe.js';
import { runLogTool } from '../../src/storage/tools/log-tool.js';
import { runSnapshotTool } from '../../src/storage/tools/snapshot-tool.js';
import { runVerify, verifyDataDir } from '../../src/storage/tools/verify.js';
import { TxnLog } from '../../src/storage/txn-log.js';
import { OPEN_ACL_UNSAFE, digestOf } from '../../src/tree/acl.js';
import { ZkDatabase } from '../../src/tree/database.js';
import { runProcess } from '../harness/process.js';
import { captureOutput, tempDir } from './helpers.js';

const ZKTS_MAIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const SESSION = 0x100000000000abcn;
const T0 = Date.UTC(2024, 0, 2, 3, 4, 5);
const DIGEST_ACL = [{ perms: 31, id: { scheme: 'digest', id: digestOf('alice:secret') } }];

/** A varied, valid history: zxid i+1 for bodies[i]. */
function history(): Txn[] {
  const bodies: TxnBody[] = [
    { type: OpCode.createSession, createSession: { timeOut: 30000, passwd: Buffer.alloc(16, 9) } },
    { type: OpCode.create, create: { path: '/app', data: Buffer.from('hello'), acl: [...OPEN_ACL_UNSAFE], ephemeral: false, parentCVersion: 1 } },
    { type: OpCode.create, create: { path: '/app/bin', data: Buffer.from([0, 1, 2, 255]), acl: DIGEST_ACL, ephemeral: true, parentCVersion: 1 } },
    { type: OpCode.setData, setData: { path: '/app', data: Buffer.from('hello again'), version: 1 } },
    {
      type: OpCode.multi,
      ops: [
        { type: OpCode.create, create: { path: '/app/m', data: null, acl: [...OPEN_ACL_UNSAFE], ephemeral: false, parentCVersion: 2 } },
        { type: OpCode.setData, setData: { path: '/app/m', data: Buffer.from('x'.repeat(100)), version: 1 } },
      ],
    },
    { type: OpCode.setACL, setACL: { path: '/app', acl: DIGEST_ACL, version: 1 } },
    { type: OpCode.delete, delete: { path: '/app/m' } },
    { type: OpCode.createTTL, createTTL: { path: '/ttl', data: Buffer.from('t'), acl: [...OPEN_ACL_UNSAFE], parentCVersion: 2, ttl: 60000 } },
  ];
  return bodies.map((body, i) => ({ clientId: SESSION, cxid: i, zxid: i + 1, time: T0 + i * 1000, body }));
}

function encoded(txn: Txn): Buffer {
  const w = new JuteWriter(256);
  encodeTxn(w, txn);
  return w.take();
}

/** Writes txns through a TxnLog, two per frame, starting a new segment before each zxid in `rollBefore`. */
async function writeLog(dir: string, txns: Txn[], rollBefore: number[] = []): Promise<void> {
  const log = new TxnLog({
    dir,
    preAllocBytes: 64 * 1024,
    forceSync: false,
    maxBatchSize: 2,
    fsyncWarningMs: 1000,
    logger: silentLogger(),
    onDurable: () => undefined,
    onFatal: (e) => assert.fail(e),
  });
  for (const txn of txns) {
    if (rollBefore.includes(txn.zxid)) {
      await new Promise((resolve) => setImmediate(resolve));
      log.roll();
    }
    log.append(txn.zxid, encoded(txn));
  }
  await log.close();
}

/** A data dir with a snapshot after zxid `snapshotAt` and the log of all of `txns` in segments. */
async function dataDir(txns: Txn[], options: { snapshotAt?: number; rollBefore?: number[] } = {}): Promise<string> {
  const dir = tempDir();
  await writeLog(storageDir(dir), txns, options.rollBefore ?? []);
  if (options.snapshotAt !== undefined) {
    const db = new ZkDatabase({ extendedTypesEnabled: true });
    for (const txn of txns.filter((t) => t.zxid <= options.snapshotAt!)) db.apply(txn);
    ensureDir(storageDir(dir));
    await writeSnapshot(captureSnapshot(db), join(storageDir(dir), snapshotFileName(db.lastZxid)));
  }
  return dir;
}

function onlySegment(dir: string): string {
  const segments = listLogSegments(storageDir(dir));
  assert.equal(segments.length, 1);
  return segments[0]!.path;
}

describe('describe', () => {
  test('data previews: printable UTF-8 quoted, binary in hex, long data cut', () => {
    assert.equal(dataPreview(null), 'null');
    assert.equal(dataPreview(Buffer.from('héllo "q"')), '"héllo \\"q\\""');
    assert.equal(dataPreview(Buffer.from([0, 1, 255])), '0x0001ff');
    assert.equal(dataPreview(Buffer.from('a'.repeat(60))), `"${'a'.repeat(48)}"…`);
    // A two-byte character cut by the preview's end is dropped, not shown as hex.
    assert.equal(dataPreview(Buffer.from('a'.repeat(47) + 'é')), `"${'a'.repeat(47)}"…`);
    assert.equal(dataPreview(Buffer.from('ab\ncd')), '"ab\\ncd"');
  });

  test('permissions, ACLs, session ids and times', () => {
    assert.equal(permsString(31), 'cdrwa');
    assert.equal(permsString(1 | 16), 'ra');
    assert.equal(describeAcl(OPEN_ACL_UNSAFE), '[world:anyone=cdrwa]');
    assert.equal(hexSession(-1n), '0xffffffffffffffff');
    assert.equal(isoTime(T0), '2024-01-02T03:04:05.000Z');
  });
});

describe('zkts log', () => {
  test('prints the header, each frame and each transaction', async () => {
    const file = onlySegment(await dataDir(history()));
    const io = captureOutput();
    assert.equal(runLogTool(file, { json: false }, io), 0);
    const out = io.stdout.join('\n');
    assert.match(io.stdout[0]!, /zkts log segment, format 1, first zxid 0x1, 65536 bytes on disk$/);
    assert.match(out, /^frame @16: \d+ bytes, crc ok, 2 txns$/m);
    assert.match(out, /^ {2}zxid 0x1 2024-01-02T03:04:05.000Z session 0x100000000000abc cxid 0 createSession timeout=30000ms passwd=16B$/m);
    assert.match(out, /^ {2}zxid 0x2 .* create \/app data=5B "hello" acl=\[world:anyone=cdrwa\] parentCVersion=1$/m);
    assert.match(out, /^ {2}zxid 0x3 .* create \/app\/bin data=4B 0x000102ff acl=\[digest:alice:\S+=cdrwa\] ephemeral parentCVersion=1$/m);
    assert.match(out, /^ {2}zxid 0x5 .* multi \(2 ops\)\n {6}op 1: create \/app\/m data=null .*\n {6}op 2: setData \/app\/m data=100B "x+"… version=1$/m);
    assert.match(out, /^ {2}zxid 0x8 .* createTTL \/ttl data=1B "t" .* ttl=60000ms$/m);
    assert.match(out, /^4 valid frames, 8 txns, zxid 0x1\.\.0x8$/m);
    assert.match(out, /^the segment ends cleanly at offset \d+$/m);
    assert.deepEqual(io.stderr, []);
  });

  test('--json prints one object per transaction on stdout', async () => {
    const file = onlySegment(await dataDir(history()));
    const io = captureOutput();
    assert.equal(runLogTool(file, { json: true }, io), 0);
    const txns = io.stdout.map((line) => JSON.parse(line) as Record<string, unknown>);
    assert.equal(txns.length, 8);
    assert.deepEqual(txns[1], {
      frameOffset: 16,
      zxid: '0x2',
      time: '2024-01-02T03:04:06.000Z',
      session: '0x100000000000abc',
      cxid: 1,
      type: 'create',
      path: '/app',
      dataLength: 5,
      data: '"hello"',
      acl: [{ scheme: 'world', id: 'anyone', perms: 'cdrwa' }],
      ephemeral: false,
      parentCVersion: 1,
    });
    assert.deepEqual(
      (txns[4]!.ops as { type: string }[]).map((op) => op.type),
      ['create', 'setData'],
    );
    assert.match(io.stderr.join('\n'), /ends cleanly/);
  });

  test('a torn tail is reported with its offset, and is not an error', async () => {
    const file = onlySegment(await dataDir(history()));
    const validEnd = Number(/ends cleanly at offset (\d+)/.exec(captureAndRun(file).stdout.join('\n'))![1]);
    // A frame header promising more than was written before the "crash": the rest is still zeros.
    const bytes = readFileSync(file);
    bytes.writeUInt32BE(FRAME_MAGIC, validEnd);
    bytes.writeUInt32BE(2000, validEnd + 4);
    bytes.writeUInt32BE(0xdeadbeef, validEnd + 8);
    bytes.fill(0x55, validEnd + 12, validEnd + 40);
    writeFileSync(file, bytes);
    const io = captureAndRun(file);
    assert.equal(io.code, 0);
    assert.match(io.stdout.join('\n'), new RegExp(`torn tail at offset ${validEnd}: frame checksum mismatch: an interrupted write`));
    assert.match(io.stdout.join('\n'), /^8 txns|8 txns/m);
  });

  test('corruption before the tail is reported with file and offset, exit 1', async () => {
    const file = onlySegment(await dataDir(history()));
    const bytes = readFileSync(file);
    bytes[16 + 12 + 20]! ^= 0x40; // inside the first frame's payload; valid frames follow
    writeFileSync(file, bytes);
    const io = captureAndRun(file);
    assert.equal(io.code, 1);
    assert.match(io.stdout.join('\n'), /^frame @16: \d+ bytes, CRC MISMATCH$/m);
    assert.match(io.stderr.join('\n'), new RegExp(`CORRUPT: ${file} is corrupt at offset 16: frame checksum mismatch, followed by a valid frame`));
  });
});

function captureAndRun(file: string): ReturnType<typeof captureOutput> & { code: number } {
  const io = captureOutput();
  return Object.assign(io, { code: runLogTool(file, { json: false }, io) });
}

describe('zkts snapshot', () => {
  test('prints the header, sessions, ACL lists and every znode', async () => {
    const dir = await dataDir(history(), { snapshotAt: 8 });
    const [snapshot] = listSnapshots(storageDir(dir));
    const io = captureOutput();
    assert.equal(runSnapshotTool(snapshot!.path, { json: false }, io), 0);
    const out = io.stdout.join('\n');
    assert.match(io.stdout[0]!, /zkts snapshot at zxid 0x8, written .*: 1 sessions, \d ACL lists, 7 znodes$/);
    assert.match(out, /^ {2}0x100000000000abc timeout 30000ms passwd 16B$/m);
    assert.match(out, /^ {2}#\d+ \[digest:alice:[^\]]+=cdrwa\]$/m);
    assert.match(
      out,
      /^ {2}\/app czxid=0x2 mzxid=0x4 pzxid=0x7 ctime=2024-01-02T03:04:06.000Z mtime=2024-01-02T03:04:08.000Z version=1 cversion=3 aversion=1 ephemeralOwner=0x0 dataLength=11 numChildren=1 persistent acl=#\d+ data="hello again"$/m,
    );
    assert.match(out, /^ {2}\/app\/bin .* ephemeralOwner=0x100000000000abc .* ephemeral of 0x100000000000abc acl=#\d+ data=0x000102ff$/m);
    assert.match(out, /^ {2}\/ttl .* ttl 60000ms /m);
  });

  test('--json prints JSON lines told apart by kind', async () => {
    const dir = await dataDir(history(), { snapshotAt: 8 });
    const [snapshot] = listSnapshots(storageDir(dir));
    const io = captureOutput();
    assert.equal(runSnapshotTool(snapshot!.path, { json: true }, io), 0);
    const items = io.stdout.map((line) => JSON.parse(line) as { kind: string; path?: string });
    assert.deepEqual(
      items.map((i) => i.kind),
      ['snapshot', 'session', 'acl', 'acl', 'acl', 'znode', 'znode', 'znode', 'znode', 'znode', 'znode', 'znode'],
    );
    assert.deepEqual(
      items.filter((i) => i.kind === 'znode').map((i) => i.path),
      ['/', '/app', '/app/bin', '/ttl', '/zookeeper', '/zookeeper/config', '/zookeeper/quota'],
    );
    assert.equal((items[0] as unknown as { zxid: string }).zxid, '0x8');
  });

  test('a damaged snapshot is a clear error, exit 1', async () => {
    const dir = await dataDir(history(), { snapshotAt: 8 });
    const [snapshot] = listSnapshots(storageDir(dir));
    const bytes = readFileSync(snapshot!.path);
    bytes[40]! ^= 0x01;
    writeFileSync(snapshot!.path, bytes);
    const io = captureOutput();
    assert.equal(runSnapshotTool(snapshot!.path, { json: false }, io), 1);
    assert.deepEqual(io.stdout, []);
    assert.match(io.stderr.join('\n'), /CORRUPT: .*snapshot\.0000000000000008 is corrupt at offset \d+: snapshot checksum mismatch/);
  });
});

describe('zkts verify', () => {
  test('a sound directory: every file and the recovery from every snapshot check out', async () => {
    const dir = await dataDir(history(), { snapshotAt: 5, rollBefore: [4, 7] });
    const io = captureOutput();
    assert.equal(runVerify(dir, {}, io), 0);
    const out = io.stdout.join('\n');
    assert.match(out, /^snapshot .*snapshot\.0000000000000005: ok, zxid 0x5, \d+ znodes, 1 sessions$/m);
    assert.match(out, /^log .*log\.0000000000000001: ok, 3 txns, zxid 0x1\.\.0x3$/m);
    assert.match(out, /^log .*log\.0000000000000007: ok, 2 txns, zxid 0x7\.\.0x8$/m);
    assert.match(out, /^recovery from snapshot 0x5: ok, replays 3 txns up to 0x8$/m);
    assert.match(out, /^OK: 1 snapshots, 3 log segments, 8 txns; no corruption$/m);
    assert.deepEqual(io.stderr, []);
  });

  test('a torn tail in the last segment is reported, not failed', async () => {
    const dir = await dataDir(history(), { rollBefore: [5] });
    const last = listLogSegments(storageDir(dir)).at(-1)!.path;
    const end = Number(/ends cleanly at offset (\d+)/.exec(captureAndRun(last).stdout.join('\n'))![1]);
    const bytes = readFileSync(last);
    bytes.writeUInt32BE(FRAME_MAGIC, end);
    bytes.writeUInt32BE(5000, end + 4);
    writeFileSync(last, bytes);
    const io = captureOutput();
    assert.equal(runVerify(dir, {}, io), 0);
    assert.match(io.stdout.join('\n'), new RegExp(`log\\.0000000000000005: torn tail at offset ${end} .*not an error`));
    assert.match(io.stdout.join('\n'), /^OK: .*\(a torn tail, which recovery cuts off\)$/m);
  });

  test('corruption fails, naming file and offset', async () => {
    const dir = await dataDir(history(), { rollBefore: [5] });
    const first = listLogSegments(storageDir(dir))[0]!.path;
    const bytes = readFileSync(first);
    bytes[16 + 12 + 5]! ^= 0x01;
    writeFileSync(first, bytes);
    const io = captureOutput();
    assert.equal(runVerify(dir, {}, io), 1);
    assert.match(io.stderr.join('\n'), new RegExp(`PROBLEM: ${first} is corrupt at offset 16: frame checksum mismatch in a segment that is not the last`));
    assert.match(io.stderr.join('\n'), /^FAILED: \d+ problems/m);
  });

  test('a missing segment is a gap in the zxids, and recovery from an older snapshot lacks its log', async () => {
    const dir = await dataDir(history(), { snapshotAt: 4, rollBefore: [4, 7] });
    rmSync(listLogSegments(storageDir(dir))[1]!.path);
    const report = verifyDataDir(dir);
    assert.equal(report.problems.length, 2, report.problems.join('\n'));
    assert.match(report.problems[0]!, /log\.0000000000000007: zxid 0x7 does not follow 0x3 \(the end of .*log\.0000000000000001\): transactions are missing/);
    assert.match(report.problems[1]!, /recovery from snapshot 0x4 needs the log from zxid 0x5, but the first logged transaction after it is 0x7/);
  });

  test('a separate dataLogDir is honoured', async () => {
    const logs = await dataDir(history());
    const snapshots = await dataDir(history(), { snapshotAt: 8 });
    rmSync(listLogSegments(storageDir(snapshots))[0]!.path);
    const io = captureOutput();
    assert.equal(runVerify(snapshots, { dataLogDir: logs }, io), 0);
    assert.match(io.stdout.join('\n'), /recovery from snapshot 0x8: ok, replays 0 txns/);
  });
});

describe('the zkts command', () => {
  test('log --json and verify run as subcommands with their exit codes', async () => {
    const dir = await dataDir(history(), { rollBefore: [5] });
    const [first] = listLogSegments(storageDir(dir));
    const log = await runProcess(process.execPath, [ZKTS_MAIN, 'log', first!.path, '--json'], { name: 'zkts log', timeoutMs: 30_000 });
    assert.equal(log.code, 0, log.stderr);
    assert.equal(log.stdout.trim().split('\n').length, 4);
    const ok = await runProcess(process.execPath, [ZKTS_MAIN, 'verify', dir], { name: 'zkts verify', timeoutMs: 30_000 });
    assert.equal(ok.code, 0, ok.stderr);
    const bytes = readFileSync(first!.path);
    bytes[40]! ^= 0x01;
    writeFileSync(first!.path, bytes);
    const bad = await runProcess(process.execPath, [ZKTS_MAIN, 'verify', dir], { name: 'zkts verify', timeoutMs: 30_000 });
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /is corrupt at offset 16/);
  });
});
