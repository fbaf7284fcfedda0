/**
 * The parent side of `zkts bench`: creates the run's shared znodes, forks the
 * worker processes, starts them together, merges what they report into one
 * latency histogram and a per-second timeline, and cleans up.
 *
 * Usable as a library too: bench/compare.ts calls runBench directly.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ErrorCode } from '../../protocol/errors.js';
import { LatencyHistogram } from './histogram.js';
import type { FromWorker, IntervalReport, ToWorker } from './messages.js';
import { BenchSession, parseServers } from './session.js';
import { usesReadSet, type WorkerPlan, type WorkloadName } from './workloads.js';
import { createAll, deleteAll, layout, pathAndAncestors } from './znodes.js';

export interface BenchOptions {
  /** "host:port,host:port" */
  connect: string;
  workload: WorkloadName;
  /** Worker processes the sessions are spread over. */
  workers: number;
  /** Sessions in all (for churn: concurrent connect+close loops). */
  sessions: number;
  /** Requests in flight per session. */
  outstanding: number;
  /** Bytes of data per create and setData (and of each read-set znode). */
  size: number;
  /** Measure for this long... */
  durationS: number | undefined;
  /** ...or until this many operations completed (then there is no warm-up). */
  ops: number | undefined;
  /** Run the load this long before measuring. */
  warmupS: number;
  /** Size of the read set. */
  znodes: number;
  /** Fraction of getData in the mixed workload. */
  reads: number;
  multiSize: number;
  /** Parent of the run paths. */
  root: string;
  /** Delete the run's znodes afterwards. */
  cleanup: boolean;
  sessionTimeoutMs: number;
}

export const DEFAULT_OPTIONS: Omit<BenchOptions, 'connect' | 'workload'> = {
  workers: 2,
  sessions: 8,
  outstanding: 32,
  size: 100,
  durationS: 10,
  ops: undefined,
  warmupS: 1,
  znodes: 1000,
  reads: 0.9,
  multiSize: 10,
  root: '/zkts-bench',
  cleanup: true,
  sessionTimeoutMs: 30_000,
};

export interface LatencySummary {
  min: number;
  mean: number;
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  max: number;
}

export interface TimelinePoint {
  /** Seconds of measured time at the end of this interval. */
  t: number;
  opsPerSec: number;
  p50: number;
  p99: number;
  p999: number;
}

export interface BenchResult {
  workload: WorkloadName;
  connect: string;
  settings: Omit<BenchOptions, 'connect' | 'workload'>;
  startedAt: string;
  /** The run path its znodes were under. */
  run: string;
  /** Successful operations in the measured time. */
  ops: number;
  /** Failed operations by error name. */
  errors: Record<string, number>;
  elapsedS: number;
  opsPerSec: number;
  /** Latency in milliseconds (watch: setData sent → notification; churn: connect + close). */
  latencyMs: LatencySummary;
  timeline: TimelinePoint[];
  client: {
    /** Each worker's CPU use as a percentage of one core over the measured time. */
    workerCpuPercent: number[];
    /** The whole machine's CPU use (all cores, every process) in the measured time; absent where /proc/stat is not readable. */
    hostCpuPercent: number | undefined;
    /** A worker was above CLIENT_LIMIT_PERCENT: the numbers may describe the load generator, not the server. */
    limited: boolean;
  };
  warnings: string[];
}

export interface BenchHooks {
  /** Progress lines while running (each second of measured time). */
  progress?: (line: string) => void;
  /** Called as the measured time starts and ends (e.g. to sample the server's own CPU use). */
  measuring?: (edge: 'start' | 'end') => void;
}

/** Above this share of a core, a worker is likely the bottleneck. */
const CLIENT_LIMIT_PERCENT = 90;
const HOST_BUSY_PERCENT = 95;
/** Workers start this long after the start message, so they all get it first. */
const START_DELAY_MS = 200;
const CONNECT_TIMEOUT_MS = 10_000;

export async function runBench(options: BenchOptions, hooks: BenchHooks = {}): Promise<BenchResult> {
  validate(options);
  const servers = parseServers(options.connect);
  const run = `${options.root === '/' ? '' : options.root}/r${Date.now().toString(36)}-${process.pid}`;
  const data = Buffer.alloc(options.size, 0x78);
  const control = await BenchSession.open(servers[0]!, { sessionTimeoutMs: options.sessionTimeoutMs, connectTimeoutMs: CONNECT_TIMEOUT_MS });
  const shared = sharedZnodes(options, run);
  const fleet = new Fleet();
  try {
    await createAll(control, pathAndAncestors(options.root), Buffer.alloc(0), [ErrorCode.Ok, ErrorCode.NodeExists]);
    await createAll(control, [run, ...shared], data);
    fleet.spawn(workerPlans(options, servers, run));
    await fleet.all('ready');

    const startedAt = new Date();
    const collector = new Collector(options.workers, hooks, options.workload);
    fleet.onInterval = (report) => collector.add(report);
    fleet.broadcast({ type: 'start', at: Date.now() + START_DELAY_MS });
    if (options.ops === undefined && options.warmupS > 0) hooks.progress?.(`${options.workload} warming up for ${options.warmupS} s`);
    await (options.ops === undefined && options.warmupS > 0 ? fleet.all('warmedUp') : delay(START_DELAY_MS));
    const hostCpuAtStart = hostCpuTimes();
    hooks.measuring?.('start');
    const done = await fleet.all('done');
    const hostCpuAtEnd = hostCpuTimes();
    hooks.measuring?.('end');
    fleet.broadcast({ type: 'finish', cleanup: options.cleanup });
    await fleet.all('finished');
    await fleet.exited();
    if (options.cleanup) await deleteAll(control, [...shared.reverse(), run]);
    return collector.result(options, run, startedAt, done, hostCpuPercent(hostCpuAtStart, hostCpuAtEnd));
  } finally {
    fleet.kill();
    // The root goes too once no other run uses it; its ancestors may be someone else's.
    if (options.cleanup && control.alive) await deleteAll(control, [options.root], [ErrorCode.Ok, ErrorCode.NoNode, ErrorCode.NotEmpty]).catch(() => {});
    await control.close();
  }
}

function validate(o: BenchOptions): void {
  const positiveInt = (name: string, v: number): void => {
    if (!Number.isInteger(v) || v < 1) throw new Error(`--${name} must be a positive integer (got ${v})`);
  };
  positiveInt('workers', o.workers);
  positiveInt('sessions', o.sessions);
  positiveInt('outstanding', o.outstanding);
  positiveInt('znodes', o.znodes);
  positiveInt('multi-size', o.multiSize);
  if (!Number.isInteger(o.size) || o.size < 0) throw new Error(`--size must be a whole number of bytes (got ${o.size})`);
  if (o.sessions < o.workers) throw new Error(`--sessions (${o.sessions}) must be at least --workers (${o.workers})`);
  if ((o.durationS === undefined) === (o.ops === undefined)) throw new Error('give --duration or --ops');
  if (o.durationS !== undefined && !(o.durationS > 0)) throw new Error(`--duration must be positive (got ${o.durationS})`);
  if (o.ops !== undefined) positiveInt('ops', o.ops);
  if (!(o.warmupS >= 0)) throw new Error(`--warmup must not be negative (got ${o.warmupS})`);
  if (!(o.reads >= 0 && o.reads <= 1)) throw new Error(`--reads must be between 0 and 1 (got ${o.reads})`);
  if (!o.root.startsWith('/')) throw new Error(`--root must be an absolute path (got ${o.root})`);
}

/** The znodes every worker uses, created by the parent before the workers start (parents first). */
function sharedZnodes(o: BenchOptions, run: string): string[] {
  if (usesReadSet(o.workload)) return [layout.dataDir(run), ...Array.from({ length: o.znodes }, (_, i) => layout.dataNode(run, i))];
  if (o.workload === 'create') return [layout.createDir(run)];
  if (o.workload === 'watch') return [layout.watchDir(run)];
  return [];
}

/** Splits sessions (and --ops) as evenly as possible over the workers. */
function workerPlans(o: BenchOptions, servers: WorkerPlan['servers'], run: string): WorkerPlan[] {
  const share = (total: number, k: number): number => Math.floor(total / o.workers) + (k < total % o.workers ? 1 : 0);
  let firstSession = 0;
  return Array.from({ length: o.workers }, (_, k) => {
    const plan: WorkerPlan = {
      workload: o.workload,
      worker: k,
      servers,
      firstSession,
      sessions: share(o.sessions, k),
      outstanding: o.outstanding,
      size: o.size,
      znodes: o.znodes,
      reads: o.reads,
      multiSize: o.multiSize,
      run,
      sessionTimeoutMs: o.sessionTimeoutMs,
      warmupMs: o.ops === undefined ? o.warmupS * 1000 : 0,
      durationMs: o.durationS === undefined ? undefined : o.durationS * 1000,
      ops: o.ops === undefined ? undefined : share(o.ops, k),
    };
    firstSession += plan.sessions;
    return plan;
  });
}

type DoneMessage = Extract<FromWorker, { type: 'done' }>;

/** The worker processes, and waiting until every one has sent a given message. */
class Fleet {
  onInterval: (report: IntervalReport) => void = () => {};
  private readonly children: ChildProcess[] = [];
  /** Per message type, each worker's message. */
  private readonly received = new Map<string, Map<number, FromWorker>>();
  private readonly waiters = new Set<() => void>();
  private failure: Error | undefined;

  spawn(plans: WorkerPlan[]): void {
    const workerPath = fileURLToPath(new URL('./worker.js', import.meta.url));
    for (const plan of plans) {
      // No inherited execArgv: a `node --cpu-prof` of the parent must not profile every worker.
      const child = fork(workerPath, [], { execArgv: [], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
      child.on('message', (message: FromWorker) => this.onMessage(plan.worker, message));
      child.on('exit', (code, signal) => {
        if (code !== 0) this.fail(new Error(`bench worker ${plan.worker} exited ${signal ?? `with code ${code}`}`));
        this.wake();
      });
      child.send({ type: 'plan', plan } satisfies ToWorker);
      this.children.push(child);
    }
  }

  broadcast(message: ToWorker): void {
    for (const child of this.children) child.send(message);
  }

  /** Resolves with every worker's message of this type (in worker order), or rejects when one fails. */
  all<T extends FromWorker['type']>(type: T): Promise<Extract<FromWorker, { type: T }>[]> {
    return this.until(() => {
      const got = this.received.get(type);
      if (got === undefined || got.size < this.children.length) return undefined;
      return this.children.map((_, worker) => got.get(worker) as Extract<FromWorker, { type: T }>);
    });
  }

  async exited(): Promise<void> {
    await this.until(() => (this.children.every((c) => c.exitCode !== null || c.signalCode !== null) ? true : undefined));
  }

  kill(): void {
    for (const child of this.children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }

  private until<T>(check: () => T | undefined): Promise<T> {
    return new Promise((resolve, reject) => {
      const poll = (): void => {
        if (this.failure !== undefined) {
          this.waiters.delete(poll);
          reject(this.failure);
          return;
        }
        const value = check();
        if (value !== undefined) {
          this.waiters.delete(poll);
          resolve(value);
        }
      };
      this.waiters.add(poll);
      poll();
    });
  }

  private onMessage(worker: number, message: FromWorker): void {
    if (message.type === 'failed') {
      this.fail(new Error(`bench worker ${worker}: ${message.message}`));
    } else if (message.type === 'interval') {
      this.onInterval(message);
    } else {
      const byWorker = this.received.get(message.type) ?? new Map<number, FromWorker>();
      byWorker.set(worker, message);
      this.received.set(message.type, byWorker);
    }
    this.wake();
  }

  private fail(error: Error): void {
    this.failure ??= error;
  }

  private wake(): void {
    for (const waiter of [...this.waiters]) waiter();
  }
}

/** Merges the workers' interval reports into the timeline and the run's histogram. */
class Collector {
  private readonly total = new LatencyHistogram();
  private readonly errors: Record<string, number> = {};
  private readonly pending = new Map<number, { reports: number; ops: number; ms: number; histogram: LatencyHistogram }>();
  private readonly timeline: TimelinePoint[] = [];
  private ops = 0;
  private elapsedMs = 0;

  constructor(
    private readonly workers: number,
    private readonly hooks: BenchHooks,
    private readonly workload: WorkloadName,
  ) {}

  add(report: IntervalReport): void {
    this.total.add(report.histogram);
    for (const [name, count] of Object.entries(report.errors)) this.errors[name] = (this.errors[name] ?? 0) + count;
    let interval = this.pending.get(report.index);
    if (interval === undefined) {
      interval = { reports: 0, ops: 0, ms: 0, histogram: new LatencyHistogram() };
      this.pending.set(report.index, interval);
    }
    interval.reports++;
    interval.ops += report.ops;
    interval.ms = Math.max(interval.ms, report.ms);
    interval.histogram.add(report.histogram);
    if (interval.reports < this.workers) return;
    this.pending.delete(report.index);
    this.ops += interval.ops;
    this.elapsedMs += interval.ms;
    const point: TimelinePoint = {
      t: round(this.elapsedMs / 1000, 3),
      opsPerSec: Math.round(interval.ms > 0 ? (interval.ops * 1000) / interval.ms : 0),
      p50: ms(interval.histogram.percentile(50)),
      p99: ms(interval.histogram.percentile(99)),
      p999: ms(interval.histogram.percentile(99.9)),
    };
    this.timeline.push(point);
    this.hooks.progress?.(
      `${this.workload} ${point.t.toFixed(0).padStart(4)} s  ${point.opsPerSec.toLocaleString('en-US').padStart(9)} ops/s` +
        `  (so far ${Math.round((this.ops * 1000) / this.elapsedMs).toLocaleString('en-US')} ops/s)  p50 ${point.p50} ms  p99 ${point.p99} ms`,
    );
  }

  result(o: BenchOptions, run: string, startedAt: Date, done: DoneMessage[], hostCpu: number | undefined): BenchResult {
    const elapsedMs = Math.max(...done.map((d) => d.ms));
    const workerCpuPercent = done.map((d) => Math.round((d.cpuMs / d.ms) * 100));
    const limited = workerCpuPercent.some((p) => p > CLIENT_LIMIT_PERCENT);
    const warnings: string[] = [];
    if (limited) {
      warnings.push(
        `the load generator is the limit: worker CPU ${workerCpuPercent.map((p) => `${p}%`).join(', ')} of a core ` +
          `(above ${CLIENT_LIMIT_PERCENT}%); use more --workers or less load`,
      );
    }
    if (hostCpu !== undefined && hostCpu > HOST_BUSY_PERCENT) {
      warnings.push(`the machine's CPUs were ${hostCpu}% busy: the server and the load generator competed for them`);
    }
    const failed = Object.values(this.errors).reduce((a, b) => a + b, 0);
    if (failed > 0) warnings.push(`${failed} operations failed: ${JSON.stringify(this.errors)}`);
    if (this.total.count === 0) warnings.push('no operation completed in the measured time');
    const { connect, workload, ...settings } = o;
    return {
      workload,
      connect,
      settings,
      startedAt: startedAt.toISOString(),
      run,
      ops: this.total.count,
      errors: this.errors,
      elapsedS: round(elapsedMs / 1000, 3),
      opsPerSec: Math.round((this.total.count * 1000) / elapsedMs),
      latencyMs: {
        min: ms(this.total.min),
        mean: ms(this.total.mean),
        p50: ms(this.total.percentile(50)),
        p90: ms(this.total.percentile(90)),
        p99: ms(this.total.percentile(99)),
        p999: ms(this.total.percentile(99.9)),
        max: ms(this.total.max),
      },
      timeline: this.timeline,
      client: { workerCpuPercent, hostCpuPercent: hostCpu, limited },
      warnings,
    };
  }
}

/** µs → ms, rounded to 1 µs. */
function ms(micros: number): number {
  return round(micros / 1000, 3);
}

function round(value: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

function delay(msToWait: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, msToWait));
}

interface CpuTimes {
  busy: number;
  total: number;
}

/** The machine's CPU time so far, from the first line of /proc/stat. */
function hostCpuTimes(): CpuTimes | undefined {
  try {
    const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
    const total = fields.reduce((a, b) => a + b, 0);
    const idle = (fields[3] ?? 0) + (fields[4] ?? 0); // idle + iowait
    return { busy: total - idle, total };
  } catch {
    return undefined;
  }
}

function hostCpuPercent(start: CpuTimes | undefined, end: CpuTimes | undefined): number | undefined {
  if (start === undefined || end === undefined || end.total === start.total) return undefined;
  return Math.round(((end.busy - start.busy) / (end.total - start.total)) * 100);
}
