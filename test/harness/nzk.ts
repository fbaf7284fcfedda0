/**
 * Promise wrappers around node-zookeeper-client for test scenarios.
 *
 * Failed operations reject with the library's exception, whose `name` is the
 * error code's name: `await assert.rejects(c.create('/a'), { name: 'NODE_EXISTS' })`.
 * Stats come back with 64-bit fields (zxids, times, ephemeralOwner) as bigint.
 * Watches are delivered into an EventCollector passed to getData/exists/getChildren.
 */
import zookeeper from 'node-zookeeper-client';
import { sleep, waitFor, withTimeout } from './process.js';

export interface NzkStat {
  czxid: bigint;
  mzxid: bigint;
  ctime: bigint;
  mtime: bigint;
  version: number;
  cversion: number;
  aversion: number;
  ephemeralOwner: bigint;
  dataLength: number;
  numChildren: number;
  pzxid: bigint;
}

export type CreateModeName = keyof typeof zookeeper.CreateMode;

export interface NzkWatchEvent {
  /** 'NODE_CREATED', 'NODE_DELETED', 'NODE_DATA_CHANGED' or 'NODE_CHILDREN_CHANGED'. */
  type: string;
  path: string;
}

/** Collects watch notifications; pass it as the watch argument of reads. */
export class EventCollector {
  /** Every event received, in order. */
  readonly events: NzkWatchEvent[] = [];
  private taken = 0;

  readonly watcher: zookeeper.Watcher = (event) => {
    this.events.push({ type: event.getName(), path: event.getPath() });
  };

  /** The next event not yet returned by next(), waiting up to timeoutMs for it. */
  async next(timeoutMs = 30_000): Promise<NzkWatchEvent> {
    const event = await waitFor(() => this.events[this.taken], {
      what: `watch event #${this.taken + 1}`,
      timeoutMs,
      diagnostics: () => `events so far: ${JSON.stringify(this.events)}`,
    });
    this.taken++;
    return event;
  }
}

export type NzkOp =
  | { op: 'create'; path: string; data?: Buffer | string; mode?: CreateModeName }
  | { op: 'setData'; path: string; data: Buffer | string; version?: number }
  | { op: 'remove'; path: string; version?: number }
  | { op: 'check'; path: string; version: number };

export interface NzkOpResult {
  type: 'create' | 'remove' | 'setData' | 'check' | 'error';
  path?: string;
  stat?: NzkStat;
  /** Error code of this op in a failed transaction (0 for ops that would have succeeded). */
  err?: number;
}

const OP_TYPES: Record<number, NzkOpResult['type']> = { 1: 'create', 2: 'remove', 5: 'setData', 13: 'check', [-1]: 'error' };

export interface NzkConnectOptions {
  /** Requested session timeout. Default 30 s. */
  sessionTimeoutMs?: number;
  /** How long to wait for the session. Default 30 s. */
  connectTimeoutMs?: number;
}

/** Pause between reconnect rounds; short, so that close() has little to wait out. */
const SPIN_DELAY_MS = 200;
/** How long close() waits for the server to confirm the session's end. */
const CLOSE_WAIT_MS = 5_000;

/** Connects and waits for the session to be established. */
export async function connectNzk(connectString: string, opts: NzkConnectOptions = {}): Promise<NzkClient> {
  const raw = zookeeper.createClient(connectString, {
    sessionTimeout: opts.sessionTimeoutMs ?? 30_000,
    spinDelay: SPIN_DELAY_MS,
    retries: 0, // scenarios see connection loss instead of a silent retry
  });
  const client = new NzkClient(raw);
  const connected = new Promise<true>((resolve) => raw.once('connected', () => resolve(true)));
  raw.connect();
  const timeoutMs = opts.connectTimeoutMs ?? 30_000;
  if ((await withTimeout(connected, timeoutMs)) === undefined) {
    await client.close();
    throw new Error(`node-zookeeper-client: no session with ${connectString} within ${timeoutMs} ms`);
  }
  return client;
}

export class NzkClient {
  private closing: Promise<void> | undefined;

  constructor(readonly raw: zookeeper.Client) {}

  get sessionId(): bigint {
    return this.raw.getSessionId().readBigInt64BE();
  }

  create(path: string, data?: Buffer | string, mode: CreateModeName = 'PERSISTENT'): Promise<string> {
    return new Promise((resolve, reject) => {
      this.raw.create(path, toBuffer(data), zookeeper.CreateMode[mode], (error, createdPath) => (error ? reject(error) : resolve(createdPath)));
    });
  }

  getData(path: string, watch?: EventCollector): Promise<{ data: Buffer | undefined; stat: NzkStat }> {
    return new Promise((resolve, reject) => {
      this.raw.getData(path, watch?.watcher, (error, data, stat) => (error ? reject(error) : resolve({ data, stat: toStat(stat) })));
    });
  }

  setData(path: string, data: Buffer | string, version = -1): Promise<NzkStat> {
    return new Promise((resolve, reject) => {
      this.raw.setData(path, toBuffer(data) ?? Buffer.alloc(0), version, (error, stat) => (error ? reject(error) : resolve(toStat(stat))));
    });
  }

  /** The node's stat, or null if it does not exist. */
  exists(path: string, watch?: EventCollector): Promise<NzkStat | null> {
    return new Promise((resolve, reject) => {
      this.raw.exists(path, watch?.watcher, (error, stat) => (error ? reject(error) : resolve(stat ? toStat(stat) : null)));
    });
  }

  /** Children in the server's order. */
  getChildren(path: string, watch?: EventCollector): Promise<{ children: string[]; stat: NzkStat }> {
    return new Promise((resolve, reject) => {
      this.raw.getChildren(path, watch?.watcher, (error, children, stat) => (error ? reject(error) : resolve({ children, stat: toStat(stat) })));
    });
  }

  remove(path: string, version = -1): Promise<void> {
    return new Promise((resolve, reject) => {
      this.raw.remove(path, version, (error) => (error ? reject(error) : resolve()));
    });
  }

  /**
   * Runs ops as one multi. On failure rejects with the first failing op's
   * exception, carrying every op's outcome in `results`.
   */
  transaction(ops: NzkOp[]): Promise<NzkOpResult[]> {
    const tx = this.raw.transaction();
    for (const op of ops) {
      switch (op.op) {
        case 'create':
          tx.create(op.path, toBuffer(op.data), zookeeper.CreateMode[op.mode ?? 'PERSISTENT']);
          break;
        case 'setData':
          tx.setData(op.path, toBuffer(op.data) ?? Buffer.alloc(0), op.version ?? -1);
          break;
        case 'remove':
          tx.remove(op.path, op.version ?? -1);
          break;
        case 'check':
          tx.check(op.path, op.version);
          break;
      }
      // The library turns version 0 into -1 (`version || -1`); put back what was asked.
      if (op.op !== 'create') {
        const queued = tx.ops.at(-1);
        if (queued) queued.version = op.version ?? -1;
      }
    }
    return new Promise((resolve, reject) => {
      tx.commit((error, results) => {
        const outcomes = (results ?? []).map(toOpResult);
        if (error) reject(Object.assign(error, { results: outcomes }));
        else resolve(outcomes);
      });
    });
  }

  /** Ends the session. Safe to call more than once and when the server is gone. */
  close(): Promise<void> {
    this.closing ??= this.closeOnce();
    return this.closing;
  }

  private async closeOnce(): Promise<void> {
    const connected = this.raw.getState() === zookeeper.State.SYNC_CONNECTED;
    const disconnected = new Promise<true>((resolve) => this.raw.once('disconnected', () => resolve(true)));
    this.raw.close();
    if (connected && (await withTimeout(disconnected, CLOSE_WAIT_MS)) !== undefined) return;
    await this.stopReconnecting();
  }

  /**
   * If the server is down or frozen, the library's close() never completes and
   * it keeps reconnecting, which would keep the test process alive. Disable
   * reconnects, drop the socket, and drop it again once a reconnect already
   * scheduled (at most one spin delay away) has made a new one.
   */
  private async stopReconnecting(): Promise<void> {
    const manager = this.raw.connectionManager;
    manager.connect = () => {};
    for (let round = 0; round < 2; round++) {
      clearTimeout(manager.connectTimeoutHandler);
      manager.socket?.destroy();
      if (round === 0) await sleep(SPIN_DELAY_MS + 100);
    }
  }
}

function toBuffer(data: Buffer | string | undefined): Buffer | undefined {
  return typeof data === 'string' ? Buffer.from(data) : data;
}

function toStat(stat: zookeeper.Stat): NzkStat {
  return {
    czxid: stat.czxid.readBigInt64BE(),
    mzxid: stat.mzxid.readBigInt64BE(),
    ctime: stat.ctime.readBigInt64BE(),
    mtime: stat.mtime.readBigInt64BE(),
    version: stat.version,
    cversion: stat.cversion,
    aversion: stat.aversion,
    ephemeralOwner: stat.ephemeralOwner.readBigInt64BE(),
    dataLength: stat.dataLength,
    numChildren: stat.numChildren,
    pzxid: stat.pzxid.readBigInt64BE(),
  };
}

function toOpResult(result: zookeeper.TransactionResult): NzkOpResult {
  const type = OP_TYPES[result.type];
  if (type === undefined) throw new Error(`unknown op type ${result.type} in multi result`);
  return {
    type,
    ...(result.path !== undefined && { path: result.path }),
    ...(result.stat !== undefined && { stat: toStat(result.stat) }),
    ...(result.err !== undefined && { err: result.err }),
  };
}
