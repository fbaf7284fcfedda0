/**
 * What the ensemble tests share: a stream of writes from several clients
 * (node-zookeeper-client and the zkts client) that records exactly what was
 * acknowledged, and the checks that every server holds all of it.
 *
 * Each writer owns a counter node and sets it to 1, 2, 3, ... with the
 * expected version (so its data always equals its version), and now and then
 * creates a node of its own. A write that fails (the server died, the
 * connection broke) may or may not have been applied: the writer reads its
 * counter back once its client has reconnected and goes on from there. What
 * must hold: an acknowledged write is never lost, a value never goes
 * backwards, and every server ends with the same tree.
 */
import assert from 'node:assert/strict';
import { ZkClient } from '../../src/client/mod.js';
import type { Ensemble } from '../harness/ensemble.js';
import { connectNzk, type NzkClient } from '../harness/nzk.js';
import { sleep, waitFor, withTimeout } from '../harness/process.js';

/** The session timeout clients ask for; with tickTime 500 the servers grant at most 20 ticks. */
export const SESSION_TIMEOUT_MS = 10_000;
/** How long a writer may take to get its client back after a failure. */
const RECOVERY_LIMIT_MS = 60_000;
const READ_ATTEMPT_MS = 5_000;
/** ZooKeeper's `hash` lists the tree's digest at every 128th zxid. */
const DIGEST_INTERVAL = 128n;
const DIGEST_PAD_NODE = '/digest-pad';

/** The operations a writer needs, over either client library. */
interface WriterClient {
  setData(path: string, data: string, version: number): Promise<{ version: number; mzxid: bigint }>;
  create(path: string): Promise<void>;
  getData(path: string): Promise<{ data: string; version: number }>;
  close(): Promise<void>;
}

function nzkWriterClient(client: NzkClient, problems: string[], label: string): WriterClient {
  client.raw.on('expired', () => problems.push(`${label}: the session expired`));
  return {
    setData: (path, data, version) => client.setData(path, data, version),
    create: async (path) => void (await client.create(path)),
    getData: async (path) => {
      const { data, stat } = await client.getData(path);
      return { data: data?.toString() ?? '', version: stat.version };
    },
    close: () => client.close(),
  };
}

function zktsWriterClient(client: ZkClient, problems: string[], label: string): WriterClient {
  client.on('expired', ({ reason }) => problems.push(`${label}: the session expired (${reason})`));
  return {
    setData: async (path, data, version) => {
      const stat = await client.setData(path, data, { version });
      return { version: stat.version, mzxid: BigInt(stat.mzxid) };
    },
    create: async (path) => void (await client.create(path)),
    getData: async (path) => {
      const { data, stat } = await client.getData(path, { timeoutMs: READ_ATTEMPT_MS });
      return { data: data?.toString() ?? '', version: stat.version };
    },
    close: () => client.close(),
  };
}

class Writer {
  /** The highest value acknowledged (or read back since), and the highest ever sent. */
  acked = 0;
  attempted = 0;
  /** Acknowledgements received (setData and create). */
  acks = 0;
  /** The zxids of acknowledged setData calls, in order. */
  readonly ackedZxids: bigint[] = [];
  readonly ackedCreates: string[] = [];
  /** Writes that failed, so might or might not have been applied. */
  failures = 0;
  private stopping = false;
  private loop: Promise<void> | undefined;

  constructor(
    readonly label: string,
    readonly node: string,
    private readonly client: WriterClient,
    private readonly root: string,
    private readonly problems: string[],
  ) {}

  start(): void {
    this.loop = this.run();
  }

  /** Ends the loop after the write in flight, leaving `acked` at a value read back if that write failed. */
  async stop(): Promise<void> {
    this.stopping = true;
    await this.loop;
    await this.client.close();
  }

  private async run(): Promise<void> {
    for (let step = 0; !this.stopping; step++) {
      try {
        if (step % 4 === 3) {
          const path = `${this.root}/${this.label}-${step}`;
          await this.client.create(path);
          this.ackedCreates.push(path);
        } else {
          const value = this.acked + 1;
          this.attempted = Math.max(this.attempted, value);
          const stat = await this.client.setData(this.node, String(value), this.acked);
          if (stat.version !== value) this.problems.push(`${this.label}: set ${value} but the version is ${stat.version}`);
          const previous = this.ackedZxids.at(-1);
          if (previous !== undefined && stat.mzxid <= previous) {
            this.problems.push(`${this.label}: zxid 0x${stat.mzxid.toString(16)} acknowledged after 0x${previous.toString(16)}`);
          }
          this.ackedZxids.push(stat.mzxid);
          this.acked = value;
        }
        this.acks++;
      } catch {
        this.failures++;
        if (!(await this.readBack())) return;
      }
    }
  }

  /** After a failed write: the counter as the ensemble has it, once the client is back. */
  private async readBack(): Promise<boolean> {
    const deadline = Date.now() + RECOVERY_LIMIT_MS;
    while (Date.now() < deadline) {
      try {
        const read = await withTimeout(this.client.getData(this.node), READ_ATTEMPT_MS);
        if (read === undefined) continue;
        const value = Number(read.data);
        if (!(value >= this.acked && value <= this.attempted)) {
          this.problems.push(`${this.label}: read back ${read.data}, outside [${this.acked}, ${this.attempted}]`);
        }
        if (read.version !== value) this.problems.push(`${this.label}: data ${read.data} with version ${read.version}`);
        // `attempted` stays: the failed write may still be applied after this read, served by a server a moment behind.
        this.acked = value;
        return true;
      } catch {
        await sleep(100);
      }
    }
    this.problems.push(`${this.label}: no successful read for ${RECOVERY_LIMIT_MS} ms after a failed write`);
    return false;
  }
}

export interface WriteStreamOptions {
  /** Where the writers connect (default: every server). */
  connectString?: string;
  /** Writers using node-zookeeper-client, and the zkts client. */
  nzk: number;
  zkts: number;
  /** The writers' parent node, created by start(). */
  root: string;
}

/** Several writers, each on its own client and session, writing until stopped. */
export class WriteStream {
  /** Anything a writer saw that must not happen; a test asserts this stays empty. */
  readonly problems: string[];

  private constructor(
    readonly writers: readonly Writer[],
    readonly root: string,
    problems: string[],
  ) {
    this.problems = problems;
  }

  static async start(ensemble: Ensemble, options: WriteStreamOptions): Promise<WriteStream> {
    const connectString = options.connectString ?? ensemble.connectString;
    const problems: string[] = [];
    const clients: { label: string; client: WriterClient }[] = [];
    try {
      for (let i = 0; i < options.nzk; i++) {
        const label = `nzk${i}`;
        const nzk = await connectNzk(connectString, { sessionTimeoutMs: SESSION_TIMEOUT_MS });
        clients.push({ label, client: nzkWriterClient(nzk, problems, label) });
      }
      for (let i = 0; i < options.zkts; i++) {
        const label = `zkts${i}`;
        const zk = await ZkClient.connect(connectString, { sessionTimeoutMs: SESSION_TIMEOUT_MS });
        clients.push({ label, client: zktsWriterClient(zk, problems, label) });
      }
      const setup = await ZkClient.connect(connectString, { sessionTimeoutMs: SESSION_TIMEOUT_MS });
      try {
        await setup.create(options.root);
        for (const { label } of clients) await setup.create(`${options.root}/${label}`, '0');
      } finally {
        await setup.close();
      }
    } catch (error) {
      await Promise.all(clients.map(({ client }) => client.close()));
      throw error;
    }
    const writers = clients.map(({ label, client }) => new Writer(label, `${options.root}/${label}`, client, options.root, problems));
    for (const writer of writers) writer.start();
    return new WriteStream(writers, options.root, problems);
  }

  /** The fewest acknowledgements any writer has. */
  get minAcks(): number {
    return Math.min(...this.writers.map((w) => w.acks));
  }

  /** Waits until every writer has at least `more` acknowledgements more than now: writes are going through. */
  async progress(more: number, timeoutMs = RECOVERY_LIMIT_MS): Promise<void> {
    const targets = this.writers.map((w) => w.acks + more);
    await waitFor(() => this.writers.every((w, i) => w.acks >= targets[i]!), {
      what: `${more} more acknowledged writes from every writer`,
      timeoutMs,
      diagnostics: () => `acks: ${this.writers.map((w) => `${w.label}=${w.acks}`).join(' ')}; problems: ${this.problems.join('; ')}`,
    });
  }

  /** The highest zxid acknowledged to any writer. */
  get maxAckedZxid(): bigint {
    return this.writers.flatMap((w) => w.ackedZxids).reduce((a, b) => (b > a ? b : a), 0n);
  }

  /** Stops every writer and closes their sessions. */
  async stop(): Promise<void> {
    await Promise.all(this.writers.map((w) => w.stop()));
  }
}

/**
 * Checks every server in `ids` on its own (a client connected to it alone,
 * after sync): each counter has the value acknowledged last (or the one
 * written after it, if that write's outcome was unknown), with a matching
 * version; every acknowledged create is there; and all servers list the
 * same children.
 */
export async function verifyWrites(ensemble: Ensemble, stream: WriteStream, ids: readonly number[]): Promise<void> {
  let expected: Map<string, number> | undefined;
  let expectedChildren: string[] | undefined;
  for (const id of ids) {
    const client = await ZkClient.connect(ensemble.server(id).connectString, { sessionTimeoutMs: SESSION_TIMEOUT_MS });
    try {
      await client.sync(stream.root);
      const values = new Map<string, number>();
      for (const writer of stream.writers) {
        const { data, stat } = await client.getData(writer.node);
        const value = Number(data?.toString());
        assert.equal(stat.version, value, `server ${id}: ${writer.node} holds ${value} at version ${stat.version}`);
        assert.ok(value >= writer.acked && value <= writer.attempted, `server ${id}: ${writer.node} is ${value}, acknowledged ${writer.acked}, last sent ${writer.attempted}`);
        values.set(writer.node, value);
      }
      const children = (await client.getChildren(stream.root)).sort();
      const present = new Set(children);
      for (const writer of stream.writers) {
        for (const path of writer.ackedCreates) assert.ok(present.has(path.slice(stream.root.length + 1)), `server ${id}: acknowledged ${path} is missing`);
      }
      if (expected === undefined) {
        expected = values;
        expectedChildren = children;
      } else {
        assert.deepEqual(values, expected, `server ${id} disagrees with server ${ids[0]} on the counters`);
        assert.deepEqual(children, expectedChildren, `server ${id} disagrees with server ${ids[0]} on the children of ${stream.root}`);
      }
    } finally {
      await client.close();
    }
  }
}

/**
 * Writes (through `client`) until the last zxid is a multiple of 128, so
 * that every server lists its digest at that zxid in `hash` and
 * Ensemble.waitConverged can compare the final trees. Nothing else may write
 * meanwhile. Returns that zxid.
 */
export async function alignDigestZxid(client: ZkClient): Promise<bigint> {
  if ((await client.exists(DIGEST_PAD_NODE)) === null) await client.create(DIGEST_PAD_NODE);
  let zxid = BigInt((await client.setData(DIGEST_PAD_NODE, '')).mzxid);
  while (zxid % DIGEST_INTERVAL !== 0n) {
    const missing = Number(DIGEST_INTERVAL - (zxid % DIGEST_INTERVAL));
    const stats = await Promise.all(Array.from({ length: missing }, () => client.setData(DIGEST_PAD_NODE, '')));
    zxid = stats.map((s) => BigInt(s.mzxid)).reduce((a, b) => (b > a ? b : a));
  }
  return zxid;
}

/** The epoch of a zxid: its high 32 bits. */
export function epochOf(zxid: bigint): bigint {
  return zxid >> 32n;
}
