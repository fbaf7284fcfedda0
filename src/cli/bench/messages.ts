/** Messages between `zkts bench` (the parent) and its worker processes, over the fork IPC channel. */
import type { HistogramSnapshot } from './histogram.js';
import type { WorkerPlan } from './workloads.js';

export type ToWorker =
  | { type: 'plan'; plan: WorkerPlan }
  /** Begin at this wall-clock time (Date.now()), so all workers start together. */
  | { type: 'start'; at: number }
  | { type: 'finish'; cleanup: boolean };

/** Operations that completed in one interval of the measured time. */
export interface IntervalReport {
  /** 0 for the first second of measured time. */
  index: number;
  /** The interval's actual length (the last one may be shorter). */
  ms: number;
  ops: number;
  /** Error code → count. */
  errors: Record<string, number>;
  histogram: HistogramSnapshot;
}

export type FromWorker =
  | { type: 'ready' }
  | { type: 'warmedUp' }
  | ({ type: 'interval' } & IntervalReport)
  | {
      type: 'done';
      /** Measured wall time. */
      ms: number;
      /** CPU time (user + system) this worker used in that time. */
      cpuMs: number;
    }
  | { type: 'finished' }
  | { type: 'failed'; message: string };
