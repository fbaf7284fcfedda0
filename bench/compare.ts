/**
 * The side-by-side benchmark: Apache ZooKeeper 3.8 and zkts on this machine,
 * in the same run, driven by the same load generator (`zkts bench`), one
 * server at a time (never both at once), and prints the ratios zkts / ZooKeeper.
 *
 *   1. Workloads, repeated --reps times with the servers alternating first:
 *      each repetition starts a fresh server (timing spawn → first served
 *      getData on an empty data dir) and runs setData, getData, watch, multi,
 *      session churn and create against it. Medians over the repetitions.
 *   2. The same for --ensemble servers (3; 0 skips it) on 127.0.0.1: each
 *      repetition starts a fresh ensemble of each kind and runs setData,
 *      create and getData against it, sessions spread over the servers.
 *   3. Memory and restart, once per server: RSS of the empty server, then of
 *      the server holding --znodes znodes of 100 bytes (loaded by pipelined
 *      creates); then kill -9 and time start → first served getData of a
 *      loaded znode, a few times.
 *
 * Results go to bench/results/<date>-<host>.json and .md.
 *
 * Usage: npm run bench:compare -- [--quick] [--reps 3] [--znodes 1000000]
 *          [--duration 8] [--warmup 2] [--ensemble 3] [--dir /tmp] [--out bench/results]
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, hostname, loadavg, release, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { formatCount, formatTable } from '../src/cli/bench/report.js';
import { DEFAULT_OPTIONS, runBench, type BenchOptions, type BenchResult, type LatencySummary } from '../src/cli/bench/run.js';
import type { WorkloadName } from '../src/cli/bench/workloads.js';
import { layout } from '../src/cli/bench/znodes.js';
import {
  SERVER_NAMES,
  freezeZktsBuild,
  javaVersion,
  missingPrerequisites,
  startEnsemble,
  zktsNodeFlags,
  zookeeperJvmFlags,
  type BenchServer,
  type ServerKind,
  type ServerSettings,
} from './servers.js';

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url)); // from dist/bench/

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    reps: { type: 'string' },
    znodes: { type: 'string' },
    duration: { type: 'string' },
    warmup: { type: 'string' },
    ensemble: { type: 'string', default: '3' },
    dir: { type: 'string', default: tmpdir() },
    out: { type: 'string', default: join(REPO_ROOT, 'bench', 'results') },
  },
});

/** The full run takes about 10 minutes on a 2-core machine, --quick about 2. */
const PLAN = {
  reps: Number(args.reps ?? 3),
  warmupS: Number(args.warmup ?? (args.quick ? 0.5 : 2)),
  durationS: Number(args.duration ?? (args.quick ? 1.5 : 8)),
  znodes: Number(args.znodes ?? (args.quick ? 100_000 : 1_000_000)),
  restarts: 3,
  /** Servers in the ensemble runs; 0: no ensemble runs. */
  ensembleSize: Number(args.ensemble),
};

/** The load shape of the figures in issue 6: 2 worker processes × 4 sessions × 32 outstanding, 100-byte data. */
const LOAD: Pick<BenchOptions, 'workers' | 'sessions' | 'outstanding' | 'size'> = { workers: 2, sessions: 8, outstanding: 32, size: 100 };

/** create runs last in each repetition, so the znodes it adds do not weigh on the others. */
const WORKLOADS: WorkloadName[] = ['setData', 'getData', 'watch', 'multi', 'churn', 'create'];
/** What an ensemble adds to the picture: replicated writes, and reads spread over the servers. */
const ENSEMBLE_WORKLOADS: WorkloadName[] = ['setData', 'getData', 'create'];

const SETTINGS: ServerSettings = { tickTimeMs: 2000, heapMb: 4096, baseDir: args.dir! };

/** How long a server is left alone before its RSS is read (background snapshots, GC). */
const SETTLE_MS = args.quick ? 2_000 : 5_000;

const KINDS: ServerKind[] = ['zookeeper', 'zkts'];

interface WorkloadSample {
  kind: ServerKind;
  /** 1: standalone; more: an ensemble of that many servers. */
  servers: number;
  rep: number;
  workload: WorkloadName;
  opsPerSec: number;
  latencyMs: LatencySummary;
  errors: number;
  /** The servers' CPU use over the measured time, in % of one core (summed over an ensemble's servers). */
  serverCpuPercent: number;
  clientCpuPercent: number[];
  hostCpuPercent: number | undefined;
  /** The machine's 1-minute load average at the end: how much else was running (a 2-core machine is full at 2). */
  loadAverage: number;
  warnings: string[];
}

interface MemorySample {
  kind: ServerKind;
  znodes: number;
  loadOpsPerSec: number;
  rssEmptyBytes: number;
  rssLoadedBytes: number;
  bytesPerZnode: number;
  restartMs: number[];
  /**
   * RSS of the server restarted from disk with the same znodes: without the
   * garbage of loading them (a JVM keeps its heap grown), so closer to what
   * the data itself takes.
   */
  rssRestartedBytes: number;
  bytesPerZnodeRestarted: number;
}

interface Row {
  metric: string;
  zookeeper: number | undefined;
  zkts: number | undefined;
  format: (v: number) => string;
  target?: { text: string; met: (ratio: number, zkts: number) => boolean };
}

function log(line: string): void {
  process.stderr.write(line + '\n');
}

async function runWorkload(servers: BenchServer[], connect: string, workload: WorkloadName, rep: number): Promise<WorkloadSample> {
  const cpuMs = (): number => servers.reduce((sum, server) => sum + server.cpuMs(), 0);
  let cpuAtStart = 0;
  let startedAt = 0;
  let serverCpuPercent = 0;
  const result: BenchResult = await runBench(
    { ...DEFAULT_OPTIONS, ...LOAD, connect, workload, durationS: PLAN.durationS, warmupS: PLAN.warmupS, ops: undefined, cleanup: false },
    {
      measuring: (edge) => {
        if (edge === 'start') {
          cpuAtStart = cpuMs();
          startedAt = performance.now();
        } else {
          serverCpuPercent = Math.round(((cpuMs() - cpuAtStart) / (performance.now() - startedAt)) * 100);
        }
      },
    },
  );
  return {
    kind: servers[0]!.kind,
    servers: servers.length,
    rep,
    workload,
    opsPerSec: result.opsPerSec,
    latencyMs: result.latencyMs,
    errors: Object.values(result.errors).reduce((a, b) => a + b, 0),
    serverCpuPercent,
    clientCpuPercent: result.client.workerCpuPercent,
    hostCpuPercent: result.client.hostCpuPercent,
    loadAverage: loadavg()[0]!,
    warnings: result.warnings,
  };
}

async function workloadRepetition(
  kind: ServerKind,
  rep: number,
  servers: number,
  workloads: WorkloadName[],
): Promise<{ startMs: number; samples: WorkloadSample[] }> {
  const ensemble = await startEnsemble(kind, servers, SETTINGS);
  const name = servers === 1 ? SERVER_NAMES[kind] : `${SERVER_NAMES[kind]} ×${servers}`;
  try {
    log(`[rep ${rep + 1}/${PLAN.reps}] ${name}: serving ${Math.round(ensemble.startMs)} ms after spawn`);
    const samples: WorkloadSample[] = [];
    for (const workload of workloads) {
      const sample = await runWorkload(ensemble.servers, ensemble.connectString, workload, rep);
      log(
        `[rep ${rep + 1}/${PLAN.reps}] ${name} ${workload}: ${formatCount(sample.opsPerSec)} ops/s, ` +
          `p50 ${sample.latencyMs.p50} ms, p99 ${sample.latencyMs.p99} ms; server CPU ${sample.serverCpuPercent}%, ` +
          `client CPU ${sample.clientCpuPercent.join('%/')}%` +
          sample.warnings.map((w) => `\n    warning: ${w}`).join(''),
      );
      samples.push(sample);
    }
    return { startMs: ensemble.startMs, samples };
  } finally {
    await ensemble.destroy();
  }
}

async function memoryAndRestart(kind: ServerKind): Promise<MemorySample> {
  const ensemble = await startEnsemble(kind, 1, SETTINGS);
  const server = ensemble.servers[0]!;
  try {
    await sleep(SETTLE_MS);
    const rssEmptyBytes = server.rssBytes();
    log(`[memory] ${SERVER_NAMES[kind]}: empty RSS ${mb(rssEmptyBytes)}; loading ${formatCount(PLAN.znodes)} znodes of ${LOAD.size} bytes`);
    let seconds = 0;
    const load = await runBench(
      { ...DEFAULT_OPTIONS, ...LOAD, connect: ensemble.connectString, workload: 'create', durationS: undefined, ops: PLAN.znodes, warmupS: 0, cleanup: false },
      { progress: (line) => ++seconds % 10 === 0 && log(`[memory] ${SERVER_NAMES[kind]} ${line}`) },
    );
    if (load.ops !== PLAN.znodes) throw new Error(`${kind}: only ${load.ops} of ${PLAN.znodes} creates succeeded: ${JSON.stringify(load.errors)}`);
    await sleep(SETTLE_MS);
    const rssLoadedBytes = server.rssBytes();
    const bytesPerZnode = (rssLoadedBytes - rssEmptyBytes) / PLAN.znodes;
    log(`[memory] ${SERVER_NAMES[kind]}: ${formatCount(load.opsPerSec)} creates/s; RSS ${mb(rssLoadedBytes)}, ${Math.round(bytesPerZnode)} B per znode`);
    const probe = layout.created(load.run, 0, 0, 0);
    const restartMs: number[] = [];
    for (let i = 0; i < PLAN.restarts; i++) {
      await server.kill();
      restartMs.push(await server.start(probe));
      log(`[restart] ${SERVER_NAMES[kind]}: kill -9, serving ${probe} ${Math.round(restartMs[i]!)} ms after spawn`);
    }
    await sleep(SETTLE_MS);
    const rssRestartedBytes = server.rssBytes();
    const bytesPerZnodeRestarted = (rssRestartedBytes - rssEmptyBytes) / PLAN.znodes;
    log(`[memory] ${SERVER_NAMES[kind]}: after restart RSS ${mb(rssRestartedBytes)}, ${Math.round(bytesPerZnodeRestarted)} B per znode`);
    return {
      kind,
      znodes: PLAN.znodes,
      loadOpsPerSec: load.opsPerSec,
      rssEmptyBytes,
      rssLoadedBytes,
      bytesPerZnode,
      restartMs,
      rssRestartedBytes,
      bytesPerZnodeRestarted,
    };
  } finally {
    await ensemble.destroy();
  }
}

function median(values: number[]): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

function summaryRows(samples: WorkloadSample[], starts: { kind: ServerKind; ms: number }[], memory: MemorySample[]): Row[] {
  const of = (kind: ServerKind, servers: number, workload: WorkloadName, pick: (s: WorkloadSample) => number): number | undefined =>
    median(samples.filter((s) => s.kind === kind && s.servers === servers && s.workload === workload).map(pick));
  const across = (servers: number, workload: WorkloadName, pick: (s: WorkloadSample) => number): Pick<Row, 'zookeeper' | 'zkts'> => ({
    zookeeper: of('zookeeper', servers, workload, pick),
    zkts: of('zkts', servers, workload, pick),
  });
  const both = (workload: WorkloadName, pick: (s: WorkloadSample) => number): Pick<Row, 'zookeeper' | 'zkts'> => across(1, workload, pick);
  const n = PLAN.ensembleSize;
  const ensembleRows: Row[] =
    n === 0
      ? []
      : [
          { metric: `${n}-server ensemble: create ops/s`, ...across(n, 'create', (s) => s.opsPerSec), format: formatCount, target: atLeastX(2) },
          { metric: `${n}-server ensemble: create p99`, ...across(n, 'create', (s) => s.latencyMs.p99), format: formatMillis, target: NO_WORSE },
          { metric: `${n}-server ensemble: setData ops/s`, ...across(n, 'setData', (s) => s.opsPerSec), format: formatCount, target: atLeastX(2) },
          { metric: `${n}-server ensemble: setData p99`, ...across(n, 'setData', (s) => s.latencyMs.p99), format: formatMillis, target: NO_WORSE },
          { metric: `${n}-server ensemble: getData ops/s`, ...across(n, 'getData', (s) => s.opsPerSec), format: formatCount, target: atLeastX(1.5) },
          { metric: `${n}-server ensemble: getData p99`, ...across(n, 'getData', (s) => s.latencyMs.p99), format: formatMillis, target: NO_WORSE },
        ];
  const mem = (kind: ServerKind): MemorySample | undefined => memory.find((m) => m.kind === kind);
  const opsPerSec = formatCount;
  const millis = formatMillis;
  const atLeast = atLeastX;
  const noWorse = NO_WORSE;
  return [
    { metric: 'create ops/s', ...both('create', (s) => s.opsPerSec), format: opsPerSec, target: atLeast(2) },
    { metric: 'create p99', ...both('create', (s) => s.latencyMs.p99), format: millis, target: noWorse },
    { metric: 'setData ops/s', ...both('setData', (s) => s.opsPerSec), format: opsPerSec, target: atLeast(2) },
    { metric: 'setData p99', ...both('setData', (s) => s.latencyMs.p99), format: millis, target: noWorse },
    { metric: 'getData ops/s', ...both('getData', (s) => s.opsPerSec), format: opsPerSec, target: atLeast(1.5) },
    { metric: 'getData p99', ...both('getData', (s) => s.latencyMs.p99), format: millis, target: noWorse },
    { metric: 'watch latency p50', ...both('watch', (s) => s.latencyMs.p50), format: millis },
    { metric: 'watch latency p99', ...both('watch', (s) => s.latencyMs.p99), format: millis },
    { metric: 'session churn (connect+close)/s', ...both('churn', (s) => s.opsPerSec), format: opsPerSec },
    { metric: `multi (${DEFAULT_OPTIONS.multiSize} setData) ops/s`, ...both('multi', (s) => s.opsPerSec), format: opsPerSec },
    {
      metric: `RSS per znode (${formatCount(PLAN.znodes)} × ${LOAD.size} B)`,
      zookeeper: mem('zookeeper')?.bytesPerZnode,
      zkts: mem('zkts')?.bytesPerZnode,
      format: (v) => `${Math.round(v)} B`,
      target: { text: '≤ 0.33x', met: (ratio) => ratio <= 1 / 3 },
    },
    {
      metric: '  the same, restarted from disk',
      zookeeper: mem('zookeeper')?.bytesPerZnodeRestarted,
      zkts: mem('zkts')?.bytesPerZnodeRestarted,
      format: (v) => `${Math.round(v)} B`,
    },
    {
      metric: `restart to serving (${formatCount(PLAN.znodes)} znodes)`,
      zookeeper: median(mem('zookeeper')?.restartMs ?? []),
      zkts: median(mem('zkts')?.restartMs ?? []),
      format: (v) => `${(v / 1000).toFixed(2)} s`,
      target: { text: '< 1x, < 3 s', met: (ratio, zkts) => ratio < 1 && zkts < 3000 },
    },
    {
      metric: 'start to first served request',
      zookeeper: median(starts.filter((s) => s.kind === 'zookeeper').map((s) => s.ms)),
      zkts: median(starts.filter((s) => s.kind === 'zkts').map((s) => s.ms)),
      format: (v) => `${Math.round(v)} ms`,
      target: { text: 'zkts < 0.3 s', met: (_ratio, zkts) => zkts < 300 },
    },
    ...ensembleRows,
  ];
}

const formatMillis = (v: number): string => `${Number(v.toPrecision(3))} ms`;
const atLeastX = (x: number): NonNullable<Row['target']> => ({ text: `≥ ${x}x`, met: (ratio) => ratio >= x });
const NO_WORSE: NonNullable<Row['target']> = { text: '≤ 1x', met: (ratio) => ratio <= 1 };

interface Ratio {
  metric: string;
  zookeeper: number | undefined;
  zkts: number | undefined;
  /** zkts / ZooKeeper */
  ratio: number | undefined;
  target: string | undefined;
  met: boolean | undefined;
}

function ratios(rows: Row[]): Ratio[] {
  return rows.map((row) => {
    const ratio = row.zookeeper !== undefined && row.zkts !== undefined && row.zookeeper > 0 ? row.zkts / row.zookeeper : undefined;
    return {
      metric: row.metric,
      zookeeper: row.zookeeper,
      zkts: row.zkts,
      ratio,
      target: row.target?.text,
      met: row.target === undefined || ratio === undefined ? undefined : row.target.met(ratio, row.zkts!),
    };
  });
}

/** The ratio table: [header, rows]. */
function ratioTable(rows: Row[]): [string[], string[][]] {
  const header = ['metric', SERVER_NAMES.zookeeper, SERVER_NAMES.zkts, 'zkts / ZooKeeper', 'target', 'met'];
  return [
    header,
    ratios(rows).map((r, i) => [
      r.metric,
      r.zookeeper === undefined ? 'failed' : rows[i]!.format(r.zookeeper),
      r.zkts === undefined ? 'failed' : rows[i]!.format(r.zkts),
      r.ratio === undefined ? '' : `${r.ratio.toFixed(2)}x`,
      r.target ?? '',
      r.met === undefined ? '' : r.met ? 'yes' : 'no',
    ]),
  ];
}

/** Per workload and server: the medians behind the ratios, and where the CPU went. */
function detailTable(samples: WorkloadSample[]): [string[], string[][]] {
  const header = ['workload', 'server', 'ops/s', 'p50 ms', 'p99 ms', 'p99.9 ms', 'server CPU', 'client CPU', 'machine CPU', 'load avg'];
  const rows: string[][] = [];
  const groups: [number, WorkloadName][] = [
    ...WORKLOADS.map((w): [number, WorkloadName] => [1, w]),
    ...(PLAN.ensembleSize > 0 ? ENSEMBLE_WORKLOADS.map((w): [number, WorkloadName] => [PLAN.ensembleSize, w]) : []),
  ];
  for (const [servers, workload] of groups) {
    for (const kind of KINDS) {
      const mine = samples.filter((s) => s.kind === kind && s.servers === servers && s.workload === workload);
      if (mine.length === 0) continue;
      const m = (pick: (s: WorkloadSample) => number): number => median(mine.map(pick))!;
      rows.push([
        workload,
        servers === 1 ? SERVER_NAMES[kind] : `${SERVER_NAMES[kind]} ×${servers}`,
        formatCount(m((s) => s.opsPerSec)),
        String(m((s) => s.latencyMs.p50)),
        String(m((s) => s.latencyMs.p99)),
        String(m((s) => s.latencyMs.p999)),
        `${m((s) => s.serverCpuPercent)}%`,
        `${m((s) => Math.max(...s.clientCpuPercent))}%`,
        `${m((s) => s.hostCpuPercent ?? 0)}%`,
        m((s) => s.loadAverage).toFixed(1),
      ]);
    }
  }
  return [header, rows];
}

function markdownTable([header, rows]: [string[], string[][]]): string {
  const line = (cells: string[]): string => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map((_, i) => (i === 0 ? '---' : '---:'))), ...rows.map(line)].join('\n');
}

/** The commit zkts was built from, and whether its sources had uncommitted changes (a shared working tree often has). */
function zktsRevision(): string {
  const git = (...gitArgs: string[]): string => spawnSync('git', gitArgs, { cwd: REPO_ROOT, encoding: 'utf8' }).stdout?.trim() ?? '';
  const commit = git('rev-parse', '--short', 'HEAD') || 'unknown';
  return git('status', '--porcelain', '--', 'src') === '' ? commit : `${commit} + uncommitted changes in src/`;
}

function mb(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(0)} MiB`;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function main(): Promise<void> {
  const missing = missingPrerequisites();
  if (missing.length > 0) {
    for (const m of missing) log(`bench:compare: ${m}`);
    process.exit(1);
  }
  if (!Number.isInteger(PLAN.ensembleSize) || PLAN.ensembleSize < 0 || PLAN.ensembleSize === 1) {
    log(`bench:compare: --ensemble takes the number of servers of the ensemble runs (3, 5, …) or 0 for none, not ${args.ensemble}`);
    process.exit(2);
  }
  freezeZktsBuild();
  const began = performance.now();
  const loadAtStart = loadavg()[0]!;
  const date = new Date().toISOString().slice(0, 10);
  const host = {
    hostname: hostname(),
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model ?? 'unknown',
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    kernel: release(),
    node: process.version,
    java: javaVersion(),
    zkts: zktsRevision(),
  };
  const jvmFlags = zookeeperJvmFlags(SETTINGS);
  const nodeFlags = zktsNodeFlags(SETTINGS);
  log(`bench:compare ${args.quick ? '(quick) ' : ''}on ${host.hostname}: ${host.cpus} × ${host.cpuModel}; ${host.java}; node ${host.node}; zkts ${host.zkts}`);
  log(`  ZooKeeper JVM flags: ${jvmFlags.join(' ')}; zkts node flags: ${nodeFlags.join(' ')}`);
  log(
    `  ${PLAN.reps} repetitions × ${WORKLOADS.join(', ')}: ${PLAN.warmupS} s warm-up + ${PLAN.durationS} s each; ` +
      `load ${LOAD.workers} workers × ${LOAD.sessions / LOAD.workers} sessions × ${LOAD.outstanding} outstanding, ${LOAD.size}-byte data`,
  );

  const samples: WorkloadSample[] = [];
  const starts: { kind: ServerKind; ms: number }[] = [];
  for (let rep = 0; rep < PLAN.reps; rep++) {
    // Alternate which server goes first, so neither always runs on a machine the other just warmed (or heated).
    for (const kind of rep % 2 === 0 ? KINDS : [...KINDS].reverse()) {
      const { startMs, samples: mine } = await workloadRepetition(kind, rep, 1, WORKLOADS);
      starts.push({ kind, ms: startMs });
      samples.push(...mine);
    }
  }
  for (let rep = 0; rep < PLAN.reps && PLAN.ensembleSize > 0; rep++) {
    for (const kind of rep % 2 === 0 ? KINDS : [...KINDS].reverse()) {
      samples.push(...(await workloadRepetition(kind, rep, PLAN.ensembleSize, ENSEMBLE_WORKLOADS)).samples);
    }
  }
  const memory: MemorySample[] = [];
  for (const kind of KINDS) memory.push(await memoryAndRestart(kind));

  const rows = summaryRows(samples, starts, memory);
  const table = ratioTable(rows);
  const details = detailTable(samples);
  const elapsedS = Math.round((performance.now() - began) / 1000);
  // The machine being busy is the normal state here (the server and the load share 2 cores; the
  // machine CPU column shows it); what makes a figure doubtful is a saturated client or failed requests.
  const warnings = samples
    .filter((s) => s.errors > 0 || s.clientCpuPercent.some((p) => p > 90))
    .map((s) => `${SERVER_NAMES[s.kind]}${s.servers > 1 ? ` ×${s.servers}` : ''} ${s.workload} (repetition ${s.rep + 1}): ${s.warnings.join('; ')}`);
  const setup = [
    `${host.cpus} × ${host.cpuModel}, ${host.memoryGiB} GiB, Linux ${host.kernel}; ${host.java}; Node ${host.node}; zkts ${host.zkts}.`,
    `Standalone servers on 127.0.0.1, one at a time, each with a fresh data dir under ${SETTINGS.baseDir}; zoo.cfg: tickTime=${SETTINGS.tickTimeMs}, forceSync=yes, other settings default (snapCount 100000).` +
      (PLAN.ensembleSize > 0
        ? ` Ensembles: ${PLAN.ensembleSize} servers of one kind on 127.0.0.1 (so on the same 2 cores and disk), the same settings plus initLimit=10, syncLimit=5; ` +
          `the load's sessions spread over the servers; server CPU is summed over them.`
        : ''),
    `ZooKeeper JVM flags: \`${jvmFlags.join(' ')}\`; zkts Node flags: \`${nodeFlags.join(' ')}\`; both log at INFO to a file.`,
    `Load (zkts bench): ${LOAD.workers} worker processes × ${LOAD.sessions / LOAD.workers} sessions × ${LOAD.outstanding} outstanding requests, ${LOAD.size}-byte data, ` +
      `${DEFAULT_OPTIONS.znodes} znodes in the read set; churn: ${LOAD.sessions} concurrent connect+close loops. ` +
      `Each workload: ${PLAN.warmupS} s warm-up, ${PLAN.durationS} s measured; ${PLAN.reps} repetitions alternating which server goes first; medians.`,
    `Memory: RSS (/proc/<pid>/status VmRSS) ${SETTLE_MS / 1000} s after loading ${formatCount(PLAN.znodes)} znodes of ${LOAD.size} bytes, minus the RSS of the empty server ` +
      `(and the same after the restarts, when the server holds the znodes as read back from disk); ` +
      `restart: kill -9, then spawn → first successful getData of a loaded znode (median of ${PLAN.restarts}); start: spawn → first getData on an empty data dir.`,
    `The machine is shared (other work ran alongside): 1-minute load average ${loadAtStart.toFixed(1)} at the start, ${loadavg()[0]!.toFixed(1)} at the end.`,
  ];

  process.stdout.write(`\n${formatTable(...table)}\n\n${formatTable(...details)}\n\n`);
  for (const w of warnings) process.stdout.write(`warning: ${w}\n`);
  process.stdout.write(`(${elapsedS} s in all)\n`);

  mkdirSync(args.out!, { recursive: true });
  const base = join(args.out!, `${date}-${host.hostname}`);
  writeFileSync(
    `${base}.json`,
    JSON.stringify({ date, quick: args.quick, host, plan: PLAN, load: LOAD, jvmFlags, nodeFlags, elapsedS, summary: ratios(rows), samples, starts, memory }, null, 2) + '\n',
  );
  const memoryLines = memory.map(
    (m) =>
      `- ${SERVER_NAMES[m.kind]}: empty ${mb(m.rssEmptyBytes)}, with ${formatCount(m.znodes)} znodes ${mb(m.rssLoadedBytes)} ` +
      `(loaded at ${formatCount(m.loadOpsPerSec)} creates/s), after restarting ${mb(m.rssRestartedBytes)}; ` +
      `restarts took ${m.restartMs.map((ms) => `${(ms / 1000).toFixed(2)} s`).join(', ')}`,
  );
  writeFileSync(
    `${base}.md`,
    [
      `# zkts vs Apache ZooKeeper 3.8: ${date} on ${host.hostname}${args.quick ? ' (quick run)' : ''}`,
      '',
      ...setup.map((s) => `- ${s}`),
      '',
      markdownTable(table),
      '',
      '## Medians per workload',
      '',
      'Server CPU is the server process over the measured time (100% = one core); client CPU the busiest load-generator worker; ' +
        'machine CPU all cores, every process; load avg the 1-minute load average after the run (2 fills this machine: more means other work was running).',
      '',
      markdownTable(details),
      '',
      '## Memory and restart',
      '',
      ...memoryLines,
      ...(warnings.length > 0 ? ['', '## Warnings', '', ...warnings.map((w) => `- ${w}`)] : []),
      '',
      `The whole comparison took ${elapsedS} s.`,
      '',
    ].join('\n'),
  );
  log(`results: ${base}.json, ${base}.md`);
}

await main();
