/**
 * Storage benchmark (not a test): prints, for this machine,
 *   - raw fdatasync latency,
 *   - durable write throughput with 1, 8 and 64 concurrent writers through
 *     the TxnLog (each writer waits for its write to be durable before the next),
 *   - snapshot capture pause, write time and the longest event-loop stall
 *     while writing, for N znodes of 100 bytes,
 *   - recovery time (load that snapshot, then replay a log tail).
 *
 * Usage: node dist/bench/storage.js [--znodes 1000000] [--dir /tmp] [--json]
 */
import { closeSync, fdatasyncSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { JuteWriter } from '../src/jute/mod.js';
import { OpCode } from '../src/protocol/constants.js';
import { encodeTxn, type Txn } from '../src/protocol/txn.js';
import { silentLogger } from '../src/server/logger.js';
import { snapshotFileName, storageDir, ensureDir } from '../src/storage/files.js';
import { recover } from '../src/storage/recovery.js';
import { captureSnapshot, writeSnapshot } from '../src/storage/snapshot.js';
import { TxnLog } from '../src/storage/txn-log.js';
import { OPEN_ACL_UNSAFE } from '../src/tree/acl.js';
import { ZkDatabase } from '../src/tree/database.js';

const { values: args } = parseArgs({
  options: {
    znodes: { type: 'string', default: '1000000' },
    dir: { type: 'string', default: tmpdir() },
    json: { type: 'boolean', default: false },
  },
});
const ZNODES = Number(args.znodes);
const DATA = Buffer.alloc(100, 0x61);

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

function fdatasyncLatencyUs(dir: string): number {
  const file = join(dir, 'fsync-probe');
  const fd = openSync(file, 'w');
  const block = Buffer.alloc(4096, 1);
  const samples: number[] = [];
  for (let i = 0; i < 300; i++) {
    writeSync(fd, block, 0, block.length, i * block.length);
    const t = performance.now();
    fdatasyncSync(fd);
    samples.push((performance.now() - t) * 1000);
  }
  closeSync(fd);
  rmSync(file);
  return median(samples);
}

function setDataTxn(zxid: number): Buffer {
  const txn: Txn = {
    clientId: 0x1234n,
    cxid: zxid,
    zxid,
    time: Date.now(),
    body: { type: OpCode.setData, setData: { path: `/bench/node-${zxid % 1000}`, data: DATA, version: zxid } },
  };
  const w = new JuteWriter(256);
  encodeTxn(w, txn);
  return w.take();
}

/** Closed-loop writers: each appends, waits until durable, repeats, for `seconds`. */
async function durableThroughput(dir: string, writers: number, seconds: number): Promise<{ opsPerSec: number; fsyncs: number }> {
  const waiting = new Map<number, () => void>();
  let durable = 0;
  const log = new TxnLog({
    dir,
    preAllocBytes: 64 << 20,
    forceSync: true,
    maxBatchSize: 1000,
    fsyncWarningMs: 1000,
    logger: silentLogger(),
    onDurable: (zxid) => {
      durable = zxid;
      for (const [z, done] of waiting) {
        if (z <= durable) {
          waiting.delete(z);
          done();
        }
      }
    },
    onFatal: (e) => {
      throw e;
    },
  });
  let zxid = 0;
  let completed = 0;
  const deadline = performance.now() + seconds * 1000;
  const writer = async (): Promise<void> => {
    while (performance.now() < deadline) {
      const mine = ++zxid;
      log.append(mine, setDataTxn(mine));
      await new Promise<void>((resolve) => waiting.set(mine, resolve));
      completed++;
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: writers }, writer));
  const elapsed = (performance.now() - started) / 1000;
  await log.close();
  return { opsPerSec: completed / elapsed, fsyncs: log.stats.fsyncs };
}

function buildTree(count: number): ZkDatabase {
  const db = new ZkDatabase({ extendedTypesEnabled: false });
  const fanout = 1000;
  let zxid = 0;
  const create = (path: string): void => {
    zxid++;
    db.apply({
      clientId: 0n,
      cxid: 0,
      zxid,
      time: 1_700_000_000_000 + zxid,
      body: { type: OpCode.create, create: { path, data: DATA, acl: [...OPEN_ACL_UNSAFE], ephemeral: false, parentCVersion: -1 } },
    });
  };
  for (let p = 0; p * fanout < count; p++) {
    create(`/bench${p}`);
    for (let c = 0; c < fanout && p * fanout + c < count; c++) create(`/bench${p}/node-${String(c).padStart(10, '0')}`);
  }
  return db;
}

/** The longest gap between timer ticks while `work` runs: how long requests would have waited. */
async function longestStall<T>(work: () => Promise<T>): Promise<{ result: T; stallMs: number }> {
  let last = performance.now();
  let stallMs = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    stallMs = Math.max(stallMs, now - last);
    last = now;
  }, 1);
  const result = await work();
  clearInterval(timer);
  return { result, stallMs };
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(args.dir!, 'zkts-bench-storage-'));
  try {
    const report: Record<string, number | string> = {};
    report['fdatasync_median_us'] = Math.round(fdatasyncLatencyUs(dir));
    for (const writers of [1, 8, 64]) {
      const logDir = join(dir, `log-${writers}`);
      ensureDir(logDir);
      const { opsPerSec, fsyncs } = await durableThroughput(logDir, writers, 3);
      report[`durable_writes_per_sec_${writers}_writers`] = Math.round(opsPerSec);
      report[`fsyncs_${writers}_writers`] = fsyncs;
    }
    report['one_over_fsync_latency_per_sec'] = Math.round(1e6 / (report['fdatasync_median_us'] as number));

    let t = performance.now();
    const db = buildTree(ZNODES);
    report['znodes'] = db.tree.nodeCount;
    report['build_tree_ms'] = Math.round(performance.now() - t);
    const snapDir = storageDir(join(dir, 'data'));
    ensureDir(snapDir);
    t = performance.now();
    const capture = captureSnapshot(db);
    report['snapshot_capture_pause_ms'] = Number((performance.now() - t).toFixed(1));
    t = performance.now();
    const { result, stallMs } = await longestStall(() => writeSnapshot(capture, join(snapDir, snapshotFileName(capture.zxid))));
    report['snapshot_write_ms'] = Math.round(performance.now() - t);
    report['snapshot_bytes'] = result.bytes;
    report['snapshot_longest_event_loop_stall_ms'] = Number(stallMs.toFixed(1));

    t = performance.now();
    const recovered = recover({ snapshotDir: snapDir, logDir: snapDir, tree: { extendedTypesEnabled: false }, logger: silentLogger() });
    report['recovery_ms'] = Math.round(performance.now() - t);
    report['recovered_znodes'] = recovered.db.tree.nodeCount;
    if (args.json) {
      console.log(JSON.stringify(report));
    } else {
      for (const [key, value] of Object.entries(report)) console.log(`${key.padEnd(42)} ${value}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
