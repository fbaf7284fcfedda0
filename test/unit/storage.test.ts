/**
 * The transaction log, snapshots and recovery, on real files in a temp dir:
 * group commit, torn tails cut at any offset, corruption reported, snapshots
 * exact, fallback to an older snapshot, purge keeping what recovery needs.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, truncateSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { JuteWriter } from '../../src/jute/mod.js';
import { CreateMode, OpCode } from '../../src/protocol/constants.js';
import { encodeTxn, type Txn } from '../../src/protocol/txn.js';
import { silentLogger } from '../../src/server/logger.js';
import { RequestPreparer } from '../../src/server/prep.js';
import { listLogSegments, listSnapshots, snapshotFileName } from '../../src/storage/files.js';
import { CorruptionError, scanSegment } from '../../src/storage/log-format.js';
import { purge } from '../../src/storage/purge.js';
import { recover } from '../../src/storage/recovery.js';
import { captureSnapshot, loadSnapshot, writeSnapshot } from '../../src/storage/snapshot.js';
import { Snapshotter } from '../../src/storage/snapshotter.js';
import { treeDigest } from '../../src/tree/digest.js';
import { TxnLog } from '../../src/storage/txn-log.js';
import { OPEN_ACL_UNSAFE, digestOf } from '../../src/tree/acl.js';
import { ZkDatabase } from '../../src/tree/database.js';
import type { DataTree } from '../../src/tree/data-tree.js';

const dirs: string[] = [];
after(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'zkts-storage-'));
  dirs.push(dir);
  return dir;
}

/** A deterministic stream of varied transactions, prepared the way the server prepares them. */
function makeTxns(count: number, seed = 1): { db: ZkDatabase; txns: Txn[] } {
  const db = new ZkDatabase({ extendedTypesEnabled: true });
  const prep = new RequestPreparer(db, { extendedTypesEnabled: true, skipACL: false, reconfigEnabled: false });
  const txns: Txn[] = [];
  let rand = seed;
  const next = (n: number): number => {
    rand = (rand * 1103515245 + 12345) % 2147483648;
    return rand % n;
  };
  const ctx = { sessionId: 0x77n, cxid: 0, authIds: [{ scheme: 'digest', id: digestOf('u:p') }] };
  const apply = (txn: Txn): void => {
    txns.push(txn);
    db.apply(txn);
    prep.applied(txn);
  };
  apply(prep.prepareCreateSession(0x77n, 30000, Buffer.alloc(16, 7), 1000));
  for (let i = 0; txns.length < count; i++) {
    const path = `/n${next(20)}`;
    const data = Buffer.alloc(next(300), i & 0xff);
    switch (next(6)) {
      case 0:
      case 1:
        apply(prep.prepare({ ...ctx, cxid: i }, { type: OpCode.create, req: { path, data, acl: [...OPEN_ACL_UNSAFE], flags: next(4) } }, 2000 + i));
        break;
      case 2:
        apply(prep.prepare({ ...ctx, cxid: i }, { type: OpCode.setData, req: { path, data, version: -1 } }, 2000 + i));
        break;
      case 3:
        apply(prep.prepare({ ...ctx, cxid: i }, { type: OpCode.delete, req: { path, version: -1 } }, 2000 + i));
        break;
      case 4:
        apply(
          prep.prepare(
            { ...ctx, cxid: i },
            {
              type: OpCode.multi,
              ops: [
                { type: OpCode.create, req: { path: `${path}m`, data, acl: [{ perms: 31, id: { scheme: 'auth', id: '' } }], flags: 0 } },
                { type: OpCode.setData, req: { path, data: null, version: -1 } },
              ],
            },
            2000 + i,
          ),
        );
        break;
      default:
        apply(prep.prepare({ ...ctx, cxid: i }, { type: OpCode.createContainer, req: { path: `${path}c`, data: null, acl: [...OPEN_ACL_UNSAFE], flags: CreateMode.CONTAINER } }, 2000 + i));
    }
  }
  return { db, txns };
}

function encoded(txn: Txn): Buffer {
  const w = new JuteWriter(256);
  encodeTxn(w, txn);
  return w.take();
}

/** Writes txns through a TxnLog; resolves with the highest zxid reported durable. */
async function writeLog(
  dir: string,
  txns: Txn[],
  options: { perTurn?: number; preAllocBytes?: number; maxBatchSize?: number } = {},
): Promise<{ durable: number; log: TxnLog }> {
  let durable = 0;
  const log = new TxnLog({
    dir,
    preAllocBytes: options.preAllocBytes ?? 1 << 20,
    forceSync: true,
    maxBatchSize: options.maxBatchSize ?? 1000,
    fsyncWarningMs: 1000,
    logger: silentLogger(),
    onDurable: (zxid) => (durable = zxid),
    onFatal: (e) => assert.fail(e),
  });
  const perTurn = options.perTurn ?? txns.length;
  for (let i = 0; i < txns.length; i += perTurn) {
    for (const txn of txns.slice(i, i + perTurn)) log.append(txn.zxid, encoded(txn));
    await new Promise((resolve) => setImmediate(resolve));
  }
  await log.close();
  return { durable, log };
}

function treeDump(tree: DataTree): string[] {
  const out: string[] = [];
  const walk = (path: string): void => {
    const node = tree.lookup(path);
    out.push(JSON.stringify({ path, stat: tree.statOf(node), data: tree.dataOf(node), acl: tree.aclOf(node), owner: String(tree.ownerOf(node)) }, (_k, v) => (typeof v === 'bigint' ? String(v) : v)));
    for (const child of tree.childrenOf(node).sort()) walk(path === '/' ? `/${child}` : `${path}/${child}`);
  };
  walk('/');
  return out;
}

function dbDump(db: ZkDatabase): string {
  const sessions = [...db.sessions.values()].map((s) => `${s.id}:${s.timeoutMs}:${s.password.toString('hex')}`).sort();
  const ephemerals = [...db.tree.ephemerals].map(([id, paths]) => `${id}:${[...paths].sort().join(',')}`).sort();
  return JSON.stringify({
    zxid: db.lastZxid,
    tree: treeDump(db.tree),
    sessions,
    ephemerals,
    containers: [...db.tree.containers].sort(),
    size: db.tree.approximateDataSize,
  });
}

const recoverFrom = (dir: string): ZkDatabase =>
  recover({ snapshotDir: dir, logDir: dir, tree: { extendedTypesEnabled: true }, logger: silentLogger() }).db;

describe('transaction log', () => {
  it('reads back what it wrote, and batches concurrent appends into few fsyncs', async () => {
    const dir = tempDir();
    const { db, txns } = makeTxns(500);
    const { durable, log } = await writeLog(dir, txns);
    assert.equal(durable, txns.at(-1)!.zxid);
    assert.ok(log.stats.fsyncs < 5, `500 appends in one turn took ${log.stats.fsyncs} fsyncs`);
    const scan = scanSegment(listLogSegments(dir)[0]!.path, true);
    assert.equal(scan.records.length, 500);
    assert.equal(scan.tornAt, null);
    assert.equal(dbDump(recoverFrom(dir)), dbDump(db));
  });

  it('writes zeros over the preallocated space ahead of its appends, which read as the end of the log', async () => {
    const dir = tempDir();
    const { db, txns } = makeTxns(300);
    await writeLog(dir, txns, { preAllocBytes: 4 << 20 });
    const segment = listLogSegments(dir)[0]!.path;
    const { size, blocks } = statSync(segment);
    assert.equal(size, 4 << 20);
    // A hole allocates nothing: without the zeros, only the few KB appended would be on disk.
    assert.ok(blocks * 512 >= 1 << 20, `${blocks * 512} bytes allocated`);
    assert.equal(scanSegment(segment, true).records.length, 300);
    assert.equal(dbDump(recoverFrom(dir)), dbDump(db));
  });

  it('rolls to a new segment when one is full, and recovers across segments', async () => {
    const dir = tempDir();
    const { db, txns } = makeTxns(400);
    await writeLog(dir, txns, { perTurn: 7, preAllocBytes: 8 * 1024, maxBatchSize: 7 });
    assert.ok(listLogSegments(dir).length > 3);
    assert.equal(dbDump(recoverFrom(dir)), dbDump(db));
  });

  it('cuts a torn tail at any offset and keeps every frame before it', async () => {
    const base = tempDir();
    const { txns } = makeTxns(120);
    await writeLog(base, txns, { perTurn: 10 });
    const segment = listLogSegments(base)[0]!;
    const original = readFileSync(segment.path);
    const frames = scanSegment(segment.path, true).records.map((r) => r.frameOffset);
    const frameStarts = [...new Set(frames)];
    const used = original.indexOf(Buffer.alloc(12), frameStarts.at(-1)!);
    for (let trial = 0; trial < 60; trial++) {
      const cut = 16 + Math.floor(((trial * 7919) % 997) / 997 * (used - 16));
      const dir = tempDir();
      const file = join(dir, segment.path.slice(base.length + 1));
      writeFileSync(file, original.subarray(0, cut));
      const db = recoverFrom(dir);
      // Every frame that ends at or before the cut survives; nothing after it does.
      const survivingFrames = frameStarts.filter((_start, i) => (frameStarts[i + 1] ?? used) <= cut);
      const expected = frames.filter((f) => survivingFrames.includes(f)).length;
      assert.equal(db.lastZxid, expected === 0 ? 0 : txns[expected - 1]!.zxid, `cut at ${cut}`);
      // The tear is gone: a second recovery finds a clean log.
      assert.equal(recoverFrom(dir).lastZxid, db.lastZxid);
    }
  });

  it('treats zeroed unwritten sectors in the last frame as a torn write', async () => {
    const dir = tempDir();
    const { txns } = makeTxns(60);
    await writeLog(dir, txns, { perTurn: 30 });
    const segment = listLogSegments(dir)[0]!;
    const bytes = readFileSync(segment.path);
    const frames = [...new Set(scanSegment(segment.path, true).records.map((r) => r.frameOffset))];
    const last = frames.at(-1)!;
    const sector = (Math.floor(last / 512) + 2) * 512;
    bytes.fill(0, sector, sector + 512);
    writeFileSync(segment.path, bytes);
    const db = recoverFrom(dir);
    assert.equal(db.lastZxid, txns[29]!.zxid);
  });

  it('reports corruption before the tail instead of dropping data', async () => {
    const base = tempDir();
    const { txns } = makeTxns(100);
    await writeLog(base, txns, { perTurn: 10 });
    const segment = listLogSegments(base)[0]!;
    const original = readFileSync(segment.path);
    const frameStarts = [...new Set(scanSegment(segment.path, true).records.map((r) => r.frameOffset))];
    for (let trial = 0; trial < 40; trial++) {
      // A byte inside any frame but the last, flipped.
      const frame = trial % (frameStarts.length - 1);
      const at = frameStarts[frame]! + 1 + ((trial * 131) % (frameStarts[frame + 1]! - frameStarts[frame]! - 1));
      const bytes = Buffer.from(original);
      bytes[at] = bytes[at]! ^ (1 << trial % 8);
      const dir = tempDir();
      writeFileSync(join(dir, segment.path.slice(base.length + 1)), bytes);
      assert.throws(
        () => recoverFrom(dir),
        (e: unknown) => e instanceof CorruptionError && e.message.includes(segment.path.slice(base.length + 1)),
        `flip at ${at}`,
      );
    }
  });

  it('reports a flipped byte in the last frame when no sector of it is unwritten', async () => {
    const dir = tempDir();
    const { txns } = makeTxns(40);
    await writeLog(dir, txns, { perTurn: 20 });
    const segment = listLogSegments(dir)[0]!;
    const bytes = readFileSync(segment.path);
    const last = [...new Set(scanSegment(segment.path, true).records.map((r) => r.frameOffset))].at(-1)!;
    bytes[last + 20] = bytes[last + 20]! ^ 0x10;
    writeFileSync(segment.path, bytes);
    assert.throws(() => recoverFrom(dir), CorruptionError);
  });
});

describe('snapshots', () => {
  it('restore exactly the database they captured', async () => {
    const dir = tempDir();
    const { db } = makeTxns(3000, 7);
    const file = join(dir, snapshotFileName(db.lastZxid));
    await writeSnapshot(captureSnapshot(db), file);
    const restored = loadSnapshot(file, { extendedTypesEnabled: true });
    assert.equal(dbDump(restored), dbDump(db));
    // The digest is rebuilt while nodes are restored, from path hashes built parent to child.
    assert.equal(restored.tree.digest, db.tree.digest);
    assert.equal(restored.tree.digest, treeDigest(restored.tree));
  });

  it('of a large tree are written by the writer thread, and restore exactly what they captured', async () => {
    const dir = tempDir();
    const db = new ZkDatabase({ extendedTypesEnabled: true });
    let zxid = 0;
    const create = (path: string, data: string): void => {
      zxid++;
      db.apply({
        clientId: 0n,
        cxid: 0,
        zxid,
        time: 1_700_000_000_000 + zxid,
        body: { type: OpCode.create, create: { path, data: Buffer.from(data), acl: [...OPEN_ACL_UNSAFE], ephemeral: false, parentCVersion: -1 } },
      });
    };
    // Past the writer thread's threshold (100,000 znodes), with varied names and data.
    for (let p = 0; p < 101; p++) {
      create(`/p${p}`, '');
      for (let c = 0; c < 1000; c++) create(`/p${p}/n\u00e9-${c}`, 'x'.repeat(c % 200));
    }
    const writeAndCheck = async (): Promise<void> => {
      const file = join(dir, snapshotFileName(db.lastZxid));
      const { nodes } = await writeSnapshot(captureSnapshot(db), file);
      assert.equal(nodes, db.tree.nodeCount);
      const restored = loadSnapshot(file, { extendedTypesEnabled: true });
      assert.equal(restored.tree.nodeCount, db.tree.nodeCount);
      assert.equal(restored.tree.digest, db.tree.digest);
      assert.equal(restored.tree.digest, treeDigest(restored.tree));
      assert.equal(restored.lastZxid, db.lastZxid);
    };
    await writeAndCheck();
    // The thread is kept for the next snapshots; one that fails does not stop the next.
    create('/more', 'after the first snapshot');
    await assert.rejects(writeSnapshot(captureSnapshot(db), join(dir, 'missing', 'snapshot')), /ENOENT/);
    create('/more/again', 'after the failed one');
    await writeAndCheck();
    // Idle for longer than the thread is kept (1 s): whether it has ended or not, the next works.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    create('/more/later', 'after the thread was idle');
    await writeAndCheck();
  });

  it('load a window at a time, whatever records the window cuts or cannot hold', async () => {
    const dir = tempDir();
    const { db } = makeTxns(3000, 5);
    const file = join(dir, snapshotFileName(db.lastZxid));
    await writeSnapshot(captureSnapshot(db), file);
    for (const windowBytes of [16, 100, 4096]) {
      assert.equal(dbDump(loadSnapshot(file, { extendedTypesEnabled: true }, windowBytes)), dbDump(db), `window ${windowBytes}`);
    }
  });

  it('report any flipped byte or cut tail as corruption, read whole or a window at a time', async () => {
    const dir = tempDir();
    const { db } = makeTxns(200, 9);
    const file = join(dir, snapshotFileName(db.lastZxid));
    await writeSnapshot(captureSnapshot(db), file);
    const intact = readFileSync(file);
    const damaged = join(dir, 'damaged');
    let seed = 12345;
    const random = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    for (let trial = 0; trial < 150; trial++) {
      const bytes = Buffer.from(intact);
      if (trial % 5 === 4) {
        writeFileSync(damaged, bytes.subarray(0, random(bytes.length)));
      } else {
        const at = random(bytes.length);
        bytes[at] = bytes[at]! ^ (1 + random(255));
        writeFileSync(damaged, bytes);
      }
      for (const windowBytes of [64, 8 << 20]) {
        assert.throws(() => loadSnapshot(damaged, { extendedTypesEnabled: true }, windowBytes), CorruptionError, `trial ${trial}`);
      }
    }
  });

  it('are not disturbed by changes made while they are written', async () => {
    const dir = tempDir();
    const { db, txns } = makeTxns(2000, 3);
    const { db: later, txns: more } = makeTxns(2600, 3);
    const capture = captureSnapshot(db);
    const expected = dbDump(db);
    const writing = writeSnapshot(capture, join(dir, snapshotFileName(db.lastZxid)));
    for (const txn of more.slice(txns.length)) db.apply(txn);
    await writing;
    assert.equal(dbDump(db), dbDump(later));
    assert.equal(dbDump(loadSnapshot(join(dir, snapshotFileName(capture.zxid)), { extendedTypesEnabled: true })), expected);
  });

  it('recover from snapshot plus log, falling back to an older snapshot when the newest is damaged', async () => {
    const dir = tempDir();
    const { db, txns } = makeTxns(900, 11);
    const replay = new ZkDatabase({ extendedTypesEnabled: true });
    for (const txn of txns.slice(0, 300)) replay.apply(txn);
    await writeSnapshot(captureSnapshot(replay), join(dir, snapshotFileName(replay.lastZxid)));
    for (const txn of txns.slice(300, 600)) replay.apply(txn);
    const newest = join(dir, snapshotFileName(replay.lastZxid));
    await writeSnapshot(captureSnapshot(replay), newest);
    await writeLog(dir, txns, { perTurn: 50 });
    assert.equal(dbDump(recoverFrom(dir)), dbDump(db));
    const bytes = readFileSync(newest);
    bytes[bytes.length >> 1] = bytes[bytes.length >> 1]! ^ 1;
    writeFileSync(newest, bytes);
    assert.equal(dbDump(recoverFrom(dir)), dbDump(db));
    truncateSync(newest, 10);
    assert.equal(dbDump(recoverFrom(dir)), dbDump(db));
  });

  it('skip one that falls due while the last is still being written, and count again from there', async () => {
    const dir = tempDir();
    const { db } = makeTxns(300, 13);
    let rolls = 0;
    // snapCount 2: a snapshot is due after exactly 2 transactions (1 + 1 + a random 0).
    const snapshotter = new Snapshotter({ dir, snapCount: 2, snapSizeLimitBytes: 0, logger: silentLogger(), rollLog: () => rolls++ });
    snapshotter.noteCommitted(db, 10);
    snapshotter.noteCommitted(db, 10);
    assert.ok(snapshotter.inProgress, 'due after 2');
    snapshotter.noteCommitted(db, 10);
    snapshotter.noteCommitted(db, 10);
    await snapshotter.idle();
    snapshotter.noteCommitted(db, 10);
    assert.equal(snapshotter.inProgress, false, 'the skipped one does not start late, nor one after a single transaction');
    snapshotter.noteCommitted(db, 10);
    assert.ok(snapshotter.inProgress, 'due again 2 transactions after the skip');
    await snapshotter.idle();
    // Two snapshots taken (each starts a new log segment); the skipped one took nothing.
    assert.equal(rolls, 2);
  });

  it('purge keeps the retained snapshots and the log they need', async () => {
    const dir = tempDir();
    const { db, txns } = makeTxns(600, 5);
    const replay = new ZkDatabase({ extendedTypesEnabled: true });
    let written = 0;
    let durable = 0;
    const log = new TxnLog({
      dir,
      preAllocBytes: 1 << 20,
      forceSync: true,
      maxBatchSize: 1000,
      fsyncWarningMs: 1000,
      logger: silentLogger(),
      onDurable: (zxid) => (durable = zxid),
      onFatal: (e) => assert.fail(e),
    });
    for (const [i, txn] of txns.entries()) {
      log.append(txn.zxid, encoded(txn));
      replay.apply(txn);
      if (i % 100 === 99) {
        await new Promise((resolve) => setImmediate(resolve));
        log.roll();
        await writeSnapshot(captureSnapshot(replay), join(dir, snapshotFileName(replay.lastZxid)));
        written++;
      }
    }
    await log.close();
    assert.equal(durable, txns.at(-1)!.zxid);
    assert.equal(listSnapshots(dir).length, written);
    const before = listLogSegments(dir).length;
    const { deletedSnapshots, deletedSegments } = purge(dir, dir, 3);
    assert.equal(deletedSnapshots.length, written - 3);
    assert.ok(deletedSegments.length > 0 && deletedSegments.length < before);
    assert.equal(dbDump(recoverFrom(dir)), dbDump(db));
    // With no snapshot at all, nothing is purged.
    const bare = tempDir();
    await writeLog(bare, txns.slice(0, 50));
    assert.deepEqual(purge(bare, bare, 1), { deletedSnapshots: [], deletedSegments: [] });
    assert.ok(readdirSync(bare).length > 0);
    assert.ok(statSync(listLogSegments(bare)[0]!.path).size > 0);
  });
});
