/**
 * The workloads, as run inside one worker process: each opens the worker's
 * sessions, creates the znodes only it uses, then keeps `outstanding` chains
 * of operations going on every session (closed loop: a chain issues its next
 * operation when the previous one completes) for as long as the gate lets it.
 */
import { performance } from 'node:perf_hooks';
import type { JuteWriter } from '../../jute/mod.js';
import { EventType, OpCode } from '../../protocol/constants.js';
import { ErrorCode } from '../../protocol/errors.js';
import { encodeMultiRequest } from '../../protocol/multi.js';
import { PathWatchRequest, SetDataRequest } from '../../protocol/records.js';
import { BenchSession, encodeBody, type ReplyHandler, type ServerAddress } from './session.js';
import { createAll, createSuffix, deleteAll, layout } from './znodes.js';

export const WORKLOADS = ['create', 'setData', 'getData', 'mixed', 'watch', 'churn', 'multi'] as const;
export type WorkloadName = (typeof WORKLOADS)[number];

/** Workloads that read or write the shared read set (`--znodes` of them). */
export function usesReadSet(workload: WorkloadName): boolean {
  return workload === 'getData' || workload === 'setData' || workload === 'mixed' || workload === 'multi';
}

/** What one worker process is asked to do. */
export interface WorkerPlan {
  workload: WorkloadName;
  /** This worker's number, from 0. */
  worker: number;
  servers: ServerAddress[];
  /** Run-wide number of this worker's first session: sessions are spread over the servers by it. */
  firstSession: number;
  sessions: number;
  outstanding: number;
  /** Bytes of data per create and setData. */
  size: number;
  znodes: number;
  /** Fraction of reads in the mixed workload. */
  reads: number;
  /** Operations per multi. */
  multiSize: number;
  /** The run path (see znodes.ts). */
  run: string;
  sessionTimeoutMs: number;
  warmupMs: number;
  /** Measure for this long, or until `ops` operations are done. */
  durationMs: number | undefined;
  ops: number | undefined;
}

/** Admits operations and takes their outcomes. */
export interface OpGate {
  /** True if one more operation may start. */
  begin(): boolean;
  /** An operation completed with this error code (0: success) and latency in µs. */
  end(err: number, micros: number): void;
}

export interface WorkloadDriver {
  /** Opens the sessions and creates the znodes this worker alone uses. */
  setup(): Promise<void>;
  /** Starts the chains; they stop when the gate says no. */
  start(gate: OpGate): void;
  /** Deletes this worker's znodes if asked, and closes its sessions. */
  finish(cleanup: boolean): Promise<void>;
}

type Done = (err: number, micros: number) => void;
/** Builds the function that issues a chain's next operation, which reports to `done` when it completes. */
type MakeIssuer = (session: BenchSession, sessionIndex: number, chainIndex: number, done: Done) => () => void;

const CONNECT_TIMEOUT_MS = 10_000;

export function createDriver(plan: WorkerPlan, onLost: (reason: string) => void): WorkloadDriver {
  return plan.workload === 'churn' ? new ChurnDriver(plan) : new SessionsDriver(plan, onLost);
}

/** Every workload except churn: long-lived sessions with pipelined requests. */
class SessionsDriver implements WorkloadDriver {
  private sessions: BenchSession[] = [];
  private readonly data: Buffer;
  /** Per session, how many create paths were handed out (all are deleted on cleanup). */
  private readonly createdCount: number[] = [];

  constructor(
    private readonly plan: WorkerPlan,
    private readonly onLost: (reason: string) => void,
  ) {
    this.data = Buffer.alloc(plan.size, 0x78);
  }

  async setup(): Promise<void> {
    const { plan } = this;
    this.sessions = await Promise.all(
      Array.from({ length: plan.sessions }, async (_, s) => {
        const server = plan.servers[(plan.firstSession + s) % plan.servers.length]!;
        const session = await BenchSession.open(server, { sessionTimeoutMs: plan.sessionTimeoutMs, connectTimeoutMs: CONNECT_TIMEOUT_MS });
        session.onLost = (reason) => this.onLost(`session to ${server.host}:${server.port} lost: ${reason}`);
        return session;
      }),
    );
    await Promise.all(this.sessions.map((session, s) => createAll(session, this.ownZnodes(s), this.data)));
  }

  start(gate: OpGate): void {
    const makeIssuer = this.issuerFactory();
    this.sessions.forEach((session, s) => {
      for (let c = 0; c < this.plan.outstanding; c++) {
        let issue: () => void = () => {};
        const done: Done = (err, micros) => {
          gate.end(err, micros);
          if (gate.begin()) issue();
        };
        issue = makeIssuer(session, s, c, done);
        if (gate.begin()) issue();
      }
    });
  }

  async finish(cleanup: boolean): Promise<void> {
    if (cleanup) {
      await Promise.all(
        this.sessions.map((session, s) => {
          const created = Array.from({ length: this.createdCount[s] ?? 0 }, (_, n) => layout.created(this.plan.run, this.plan.worker, s, n));
          return deleteAll(session, [...created, ...this.ownZnodes(s).reverse()]);
        }),
      );
    }
    await Promise.all(this.sessions.map((session) => session.close()));
  }

  /** The znodes session `s` creates in setup: its create parent, or its watched znodes. */
  private ownZnodes(s: number): string[] {
    const { plan } = this;
    if (plan.workload === 'create') return [layout.createParent(plan.run, plan.worker, s)];
    if (plan.workload === 'watch') return Array.from({ length: plan.outstanding }, (_, m) => layout.watchNode(plan.run, plan.worker, s, m));
    return [];
  }

  private issuerFactory(): MakeIssuer {
    const { plan } = this;
    const readPaths = Array.from({ length: plan.znodes }, (_, i) => layout.dataNode(plan.run, i));
    const getBodies = () => readPaths.map((path) => encodeBody((w) => PathWatchRequest.encode(w, { path, watch: false })));
    const setBodies = () => readPaths.map((path) => encodeBody((w) => SetDataRequest.encode(w, { path, data: this.data, version: -1 })));
    switch (plan.workload) {
      case 'getData':
        return roundRobin(OpCode.getData, getBodies());
      case 'setData':
        return roundRobin(OpCode.setData, setBodies());
      case 'multi':
        return roundRobin(OpCode.multi, this.multiBodies(readPaths));
      case 'mixed':
        return mixed(getBodies(), setBodies(), plan.reads);
      case 'create':
        return this.creates();
      case 'watch':
        return this.watches();
      case 'churn':
        throw new Error('churn has no long-lived sessions');
    }
  }

  /** Distinct multi bodies, each setting `multiSize` consecutive znodes of the read set. */
  private multiBodies(readPaths: string[]): Buffer[] {
    const { multiSize } = this.plan;
    return Array.from({ length: Math.min(readPaths.length, 256) }, (_, b) =>
      encodeBody((w) =>
        encodeMultiRequest(
          w,
          Array.from({ length: multiSize }, (_, k) => ({
            type: OpCode.setData,
            req: { path: readPaths[(b * multiSize + k) % readPaths.length]!, data: this.data, version: -1 },
          })),
        ),
      ),
    );
  }

  /** Creates of fresh paths: each session numbers its own. */
  private creates(): MakeIssuer {
    const suffix = createSuffix(this.data);
    return (session, s, _c, done) => {
      this.createdCount[s] ??= 0;
      const prefix = layout.createParent(this.plan.run, this.plan.worker, s) + '/';
      let path = '';
      const encode = (w: JuteWriter): void => {
        w.writeString(path);
        w.writeBytes(suffix);
      };
      const onReply = timed(done);
      return () => {
        path = prefix + this.createdCount[s]!++;
        session.sendEncoded(OpCode.create, encode, onReply);
      };
    };
  }

  /**
   * exists with a watch, then setData of the same znode; the latency is from
   * sending setData to the notification's arrival. Each chain has its own znode.
   */
  private watches(): MakeIssuer {
    const { plan } = this;
    /** Per session, the chain waiting for each watched path's notification. */
    const waitingBySession = new Map<BenchSession, Map<string, (now: number) => void>>();
    return (session, s, c, done) => {
      let waiting = waitingBySession.get(session);
      if (waiting === undefined) {
        const byPath = new Map<string, (now: number) => void>();
        session.onNotification = (type, path, now) => {
          if (type === EventType.NodeDataChanged) byPath.get(path)?.(now);
        };
        waitingBySession.set(session, byPath);
        waiting = byPath;
      }
      const path = layout.watchNode(plan.run, plan.worker, s, c);
      const existsBody = encodeBody((w) => PathWatchRequest.encode(w, { path, watch: true }));
      const setBody = encodeBody((w) => SetDataRequest.encode(w, { path, data: this.data, version: -1 }));
      let setSentAt = 0;
      let eventMicros = -1;
      let replied = false;
      const complete = (err: number, micros: number): void => {
        setSentAt = 0;
        eventMicros = -1;
        replied = false;
        done(err, micros);
      };
      waiting.set(path, (now) => {
        if (setSentAt === 0) return;
        eventMicros = (now - setSentAt) * 1000;
        if (replied) complete(ErrorCode.Ok, eventMicros);
      });
      const onSetReply: ReplyHandler = (err) => {
        if (err !== ErrorCode.Ok) return complete(err, 0);
        replied = true;
        if (eventMicros >= 0) complete(ErrorCode.Ok, eventMicros);
      };
      const onExistsReply: ReplyHandler = (err) => {
        if (err !== ErrorCode.Ok) return complete(err, 0);
        setSentAt = performance.now();
        session.send(OpCode.setData, setBody, onSetReply);
      };
      return () => session.send(OpCode.exists, existsBody, onExistsReply);
    };
  }
}

/** A reply handler that reports the request's latency. */
function timed(done: Done): ReplyHandler {
  return (err, sentAt, now) => done(err, (now - sentAt) * 1000);
}

/** Each chain walks the bodies from its own random starting point. */
function roundRobin(opcode: number, bodies: Buffer[]): MakeIssuer {
  return (session, _s, _c, done) => {
    let next = Math.floor(Math.random() * bodies.length);
    const onReply = timed(done);
    return () => {
      session.send(opcode, bodies[next]!, onReply);
      next = next + 1 === bodies.length ? 0 : next + 1;
    };
  };
}

function mixed(getBodies: Buffer[], setBodies: Buffer[], reads: number): MakeIssuer {
  return (session, _s, _c, done) => {
    let next = Math.floor(Math.random() * getBodies.length);
    const onReply = timed(done);
    return () => {
      if (Math.random() < reads) session.send(OpCode.getData, getBodies[next]!, onReply);
      else session.send(OpCode.setData, setBodies[next]!, onReply);
      next = next + 1 === getBodies.length ? 0 : next + 1;
    };
  };
}

/**
 * Session churn: each of the worker's `sessions` loops opens a new
 * connection and session and closes it again; the latency is the whole cycle.
 * `outstanding` does not apply (a server allows 60 connections per client
 * address by default).
 */
class ChurnDriver implements WorkloadDriver {
  constructor(private readonly plan: WorkerPlan) {}

  async setup(): Promise<void> {}

  start(gate: OpGate): void {
    const { plan } = this;
    for (let s = 0; s < plan.sessions; s++) {
      const server = plan.servers[(plan.firstSession + s) % plan.servers.length]!;
      const cycle = (): void => {
        if (!gate.begin()) return;
        const started = performance.now();
        BenchSession.open(server, { sessionTimeoutMs: plan.sessionTimeoutMs, connectTimeoutMs: CONNECT_TIMEOUT_MS })
          .then((session) => session.close())
          .then(
            () => gate.end(ErrorCode.Ok, (performance.now() - started) * 1000),
            () => gate.end(ErrorCode.ConnectionLoss, 0),
          )
          .then(cycle);
      };
      cycle();
    }
  }

  async finish(): Promise<void> {}
}
