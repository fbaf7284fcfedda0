/**
 * A `zkts bench` worker process (forked by run.ts): runs its share of the
 * sessions, and reports each second of measured time to the parent as an
 * operation count and a latency histogram, then its own CPU use, so the
 * parent can tell when the load generator rather than the server is the limit.
 */
import { performance } from 'node:perf_hooks';
import { errorName } from '../../protocol/errors.js';
import { LatencyHistogram } from './histogram.js';
import type { FromWorker, ToWorker } from './messages.js';
import { createDriver, type OpGate, type WorkerPlan, type WorkloadDriver } from './workloads.js';

/** In-flight operations at the end of a timed run get this long to complete before the sessions are closed. */
const DRAIN_TIMEOUT_MS = 30_000;

function send(message: FromWorker): void {
  process.send!(message);
}

function fail(error: unknown): void {
  const message = error instanceof Error ? error.message : String(error);
  process.send!({ type: 'failed', message } satisfies FromWorker, () => process.exit(1));
}

/**
 * Admits operations until the run is over and records the ones that complete
 * in the measured time (after the warm-up, before the end).
 */
class Measurement implements OpGate {
  private measuring = false;
  private stopped = false;
  private inFlight = 0;
  /** Operations still to start: counts down with --ops, unlimited with --duration. */
  private opsLeft: number;
  private readonly histogram = new LatencyHistogram();
  private ops = 0;
  private readonly errors = new Map<number, number>();
  private index = 0;
  private startedAt = 0;
  private intervalStartedAt = 0;
  private cpuAtStart: NodeJS.CpuUsage | undefined;
  private tickTimer: NodeJS.Timeout | undefined;
  private drained: () => void = () => {};
  /** Resolves when the run is over and nothing is in flight. */
  readonly idle: Promise<void>;

  constructor(private readonly plan: WorkerPlan) {
    this.opsLeft = plan.ops ?? Infinity;
    this.idle = new Promise((resolve) => (this.drained = resolve));
  }

  run(driver: WorkloadDriver): void {
    if (this.plan.warmupMs > 0) {
      setTimeout(() => {
        this.beginMeasuring();
        send({ type: 'warmedUp' });
      }, this.plan.warmupMs);
    } else {
      this.beginMeasuring();
    }
    driver.start(this);
    // A worker whose share of --ops is zero starts nothing, so no completion would end it.
    if (this.inFlight === 0) this.stop();
  }

  begin(): boolean {
    if (this.stopped || this.opsLeft === 0) return false;
    this.opsLeft--;
    this.inFlight++;
    return true;
  }

  end(err: number, micros: number): void {
    this.inFlight--;
    if (this.measuring) {
      if (err === 0) {
        this.ops++;
        this.histogram.record(micros);
      } else {
        this.errors.set(err, (this.errors.get(err) ?? 0) + 1);
      }
    }
    if (this.inFlight > 0) return;
    if (this.opsLeft === 0 && !this.stopped) this.stop();
    if (this.stopped) this.drained();
  }

  private beginMeasuring(): void {
    this.measuring = true;
    this.startedAt = this.intervalStartedAt = performance.now();
    this.cpuAtStart = process.cpuUsage();
    this.scheduleTick();
  }

  /** The next interval ends on the next whole second of measured time, or at the end of a timed run. */
  private scheduleTick(): void {
    const end = this.plan.durationMs === undefined ? Infinity : this.startedAt + this.plan.durationMs;
    const next = Math.min(this.startedAt + (this.index + 1) * 1000, end);
    this.tickTimer = setTimeout(() => {
      if (performance.now() >= end - 1) this.stop();
      else {
        this.reportInterval();
        this.scheduleTick();
      }
    }, next - performance.now());
  }

  private reportInterval(): void {
    const now = performance.now();
    const errors: Record<string, number> = {};
    for (const [code, count] of this.errors) errors[errorName(code)] = count;
    send({ type: 'interval', index: this.index++, ms: now - this.intervalStartedAt, ops: this.ops, errors, histogram: this.histogram.snapshot() });
    this.intervalStartedAt = now;
    this.ops = 0;
    this.errors.clear();
    this.histogram.reset();
  }

  /** Ends the measured time: what completes later is not counted. */
  private stop(): void {
    clearTimeout(this.tickTimer);
    this.reportInterval();
    const cpu = process.cpuUsage(this.cpuAtStart);
    send({ type: 'done', ms: performance.now() - this.startedAt, cpuMs: (cpu.user + cpu.system) / 1000 });
    this.measuring = false;
    this.stopped = true;
    if (this.inFlight === 0) this.drained();
  }
}

let driver: WorkloadDriver | undefined;
let measurement: Measurement | undefined;

async function handle(message: ToWorker): Promise<void> {
  switch (message.type) {
    case 'plan':
      driver = createDriver(message.plan, (reason) => fail(new Error(reason)));
      measurement = new Measurement(message.plan);
      await driver.setup();
      send({ type: 'ready' });
      return;
    case 'start': {
      const [run, gate] = [driver!, measurement!];
      setTimeout(() => gate.run(run), Math.max(0, message.at - Date.now()));
      return;
    }
    case 'finish': {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<void>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`requests still unanswered ${DRAIN_TIMEOUT_MS} ms after the end of the run`)), DRAIN_TIMEOUT_MS);
      });
      await Promise.race([measurement!.idle, timeout]);
      clearTimeout(timer);
      await driver!.finish(message.cleanup);
      process.send!({ type: 'finished' } satisfies FromWorker, () => process.exit(0));
      return;
    }
  }
}

process.on('message', (message: ToWorker) => {
  handle(message).catch(fail);
});
// The parent went away (killed, or failed): there is no one to report to.
process.on('disconnect', () => process.exit(1));
