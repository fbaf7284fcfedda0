/**
 * The zkts client library next to node-zookeeper-client, against the same
 * server: one Node process, one session, a fixed number of requests in flight
 * (closed loop: each reply issues the next request), getData and setData of
 * 100-byte znodes. It shows whether the client library can keep a server busy,
 * and prints the process's own CPU use, since in this test the client is
 * meant to be the limit.
 *
 * Without --connect it starts a standalone zkts server (as bench:compare does)
 * and stops it afterwards. Libraries and workloads alternate, repeated --rounds
 * times; the table shows medians.
 *
 * Usage: npm run bench:clients -- [--outstanding 256] [--duration 5] [--rounds 3] [--connect host:port]
 */
import { tmpdir } from 'node:os';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import zookeeper from 'node-zookeeper-client';
import { ZkClient } from '../src/client/mod.js';
import { freezeZktsBuild, startEnsemble, type Ensemble } from './servers.js';

const { values: args } = parseArgs({
  options: {
    outstanding: { type: 'string', default: '256' },
    duration: { type: 'string', default: '5' },
    rounds: { type: 'string', default: '3' },
    znodes: { type: 'string', default: '1000' },
    connect: { type: 'string' },
  },
});
const OUTSTANDING = Number(args.outstanding);
const DURATION_MS = Number(args.duration) * 1000;
const ROUNDS = Number(args.rounds);
const ZNODES = Number(args.znodes);
const ROOT = `/zkts-bench-clients-${process.pid}`;
const DATA = Buffer.alloc(100, 'x');
const SESSION_TIMEOUT_MS = 30_000;

type Workload = 'getData' | 'setData';
const WORKLOADS: Workload[] = ['getData', 'setData'];

/** One library's way to issue a request; resolves when its reply came. */
interface Driver {
  name: string;
  op(workload: Workload, path: string): Promise<unknown>;
  close(): Promise<void>;
}

async function zktsDriver(connectString: string): Promise<Driver> {
  const client = await ZkClient.connect(connectString, { sessionTimeoutMs: SESSION_TIMEOUT_MS });
  return {
    name: 'zkts client',
    op: (workload, path) => (workload === 'getData' ? client.getData(path) : client.setData(path, DATA)),
    close: () => client.close(),
  };
}

async function nzkDriver(connectString: string): Promise<Driver> {
  const client = zookeeper.createClient(connectString, { sessionTimeout: SESSION_TIMEOUT_MS });
  await new Promise<void>((resolve) => {
    client.once('connected', () => resolve());
    client.connect();
  });
  const settle = (resolve: () => void, reject: (e: Error) => void) => (error: Error | null) => (error ? reject(error) : resolve());
  return {
    name: 'node-zookeeper-client',
    op: (workload, path) =>
      new Promise<void>((resolve, reject) => {
        if (workload === 'getData') client.getData(path, undefined, settle(resolve, reject));
        else client.setData(path, DATA, -1, settle(resolve, reject));
      }),
    close: async () => {
      client.close();
    },
  };
}

interface Sample {
  opsPerSec: number;
  /** The process's CPU over the run, % of one core. */
  cpuPercent: number;
}

/** Keeps OUTSTANDING requests in flight for DURATION_MS over the read set. */
async function run(driver: Driver, workload: Workload): Promise<Sample> {
  let completed = 0;
  let next = 0;
  const startedAt = performance.now();
  const cpuBefore = process.cpuUsage();
  const deadline = startedAt + DURATION_MS;
  const loop = async (): Promise<void> => {
    while (performance.now() < deadline) {
      await driver.op(workload, `${ROOT}/n${next++ % ZNODES}`);
      completed++;
    }
  };
  await Promise.all(Array.from({ length: OUTSTANDING }, loop));
  const elapsedMs = performance.now() - startedAt;
  const cpu = process.cpuUsage(cpuBefore);
  return { opsPerSec: (completed * 1000) / elapsedMs, cpuPercent: ((cpu.user + cpu.system) / 1000 / elapsedMs) * 100 };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

async function main(): Promise<void> {
  let ensemble: Ensemble | null = null;
  let connectString = args.connect;
  if (connectString === undefined) {
    freezeZktsBuild();
    ensemble = await startEnsemble('zkts', 1, { tickTimeMs: 2000, heapMb: 4096, baseDir: tmpdir() });
    connectString = ensemble.connectString;
  }
  const setup = await ZkClient.connect(connectString, { sessionTimeoutMs: SESSION_TIMEOUT_MS });
  try {
    await setup.create(ROOT, '');
    for (let i = 0; i < ZNODES; i++) await setup.create(`${ROOT}/n${i}`, DATA);
    process.stderr.write(`bench:clients: ${connectString}, one session per library, ${OUTSTANDING} in flight, ${DURATION_MS / 1000} s per run\n`);
    const samples = new Map<string, Sample[]>();
    for (let round = 0; round < ROUNDS; round++) {
      const makers = round % 2 === 0 ? [zktsDriver, nzkDriver] : [nzkDriver, zktsDriver];
      for (const make of makers) {
        const driver = await make(connectString);
        try {
          for (const workload of WORKLOADS) {
            const sample = await run(driver, workload);
            const key = `${workload}\t${driver.name}`;
            samples.set(key, [...(samples.get(key) ?? []), sample]);
            process.stderr.write(
              `[round ${round + 1}/${ROUNDS}] ${driver.name} ${workload}: ${Math.round(sample.opsPerSec)} ops/s, ` +
                `client CPU ${Math.round(sample.cpuPercent)}%\n`,
            );
          }
        } finally {
          await driver.close();
        }
      }
    }
    process.stdout.write('| workload | client | ops/s (median) | client CPU |\n| --- | --- | ---: | ---: |\n');
    for (const [key, list] of samples) {
      const [workload, name] = key.split('\t');
      const ops = Math.round(median(list.map((s) => s.opsPerSec)));
      const cpu = Math.round(median(list.map((s) => s.cpuPercent)));
      process.stdout.write(`| ${workload} | ${name} | ${ops.toLocaleString('en-US')} | ${cpu}% |\n`);
    }
    await Promise.all(Array.from({ length: ZNODES }, (_, i) => setup.delete(`${ROOT}/n${i}`)));
    await setup.delete(ROOT);
  } finally {
    await setup.close();
    await ensemble?.destroy();
  }
}

await main();
process.exit(0);
