/**
 * Leader failover time of a 3-server ensemble, zkts and Apache ZooKeeper 3.8
 * side by side: a client writes one setData after another through every
 * server; the leader's process is killed (SIGKILL); the time from the kill to
 * the first write acknowledged in the new leader's epoch is the failover time.
 * It includes everything a client sees: the followers noticing, the
 * election, the new leader syncing its followers, and the client
 * reconnecting (zkts's client, back-off starting at 100 ms).
 *
 * Usage: npm run bench:failover -- [--rounds 5] [--servers 3] [--tick 2000] [--kinds zkts,zookeeper]
 */
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { ZkClient } from '../src/client/mod.js';
import { SERVER_NAMES, freezeZktsBuild, missingPrerequisites, startEnsemble, type BenchServer, type ServerKind } from './servers.js';

const { values: args } = parseArgs({
  options: {
    rounds: { type: 'string', default: '5' },
    servers: { type: 'string', default: '3' },
    tick: { type: 'string', default: '2000' },
    kinds: { type: 'string', default: 'zkts,zookeeper' },
  },
});
const ROUNDS = Number(args.rounds);
const SERVERS = Number(args.servers);
const TICK_MS = Number(args.tick);
const KINDS = args.kinds!.split(',') as ServerKind[];
/** The client's session outlives any failover measured here. */
const SESSION_TIMEOUT_MS = 30_000;
/** A failover slower than this is reported as failed. */
const GIVE_UP_MS = 60_000;

function log(line: string): void {
  process.stderr.write(line + '\n');
}

/** The server's Mode line from srvr (ZooKeeper's default whitelist has srvr), or null if it does not answer. */
function mode(server: BenchServer): Promise<string | null> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port: server.port });
    let text = '';
    const done = (value: string | null): void => {
      socket.destroy();
      resolve(value);
    };
    socket.setTimeout(2_000, () => done(null));
    socket.on('connect', () => socket.write('srvr'));
    socket.on('data', (chunk) => (text += chunk.toString()));
    socket.on('end', () => done(/^Mode: (\S+)$/m.exec(text)?.[1] ?? null));
    socket.on('error', () => done(null));
  });
}

async function findLeader(servers: BenchServer[]): Promise<BenchServer> {
  const deadline = performance.now() + GIVE_UP_MS;
  while (performance.now() < deadline) {
    const modes = await Promise.all(servers.map(mode));
    const leaders = servers.filter((_, i) => modes[i] === 'leader');
    if (leaders.length === 1 && modes.every((m) => m !== null)) return leaders[0]!;
    await sleep(100);
  }
  throw new Error('no single leader');
}

/** One failover: the milliseconds from killing the leader to the first write acknowledged in a later epoch. */
async function failoverOnce(kind: ServerKind, round: number): Promise<number> {
  const ensemble = await startEnsemble(kind, SERVERS, { tickTimeMs: TICK_MS, heapMb: 1024, baseDir: tmpdir() });
  const client = await ZkClient.connect(ensemble.connectString, { sessionTimeoutMs: SESSION_TIMEOUT_MS });
  try {
    await client.create('/failover', 'x');
    const leader = await findLeader(ensemble.servers);
    const before = await client.setData('/failover', 'before');
    const oldEpoch = Math.floor(before.mzxid / 2 ** 32);
    let killedAt = 0;
    let recoveredAt = 0;
    const writer = (async () => {
      while (recoveredAt === 0 && (killedAt === 0 || performance.now() - killedAt < GIVE_UP_MS)) {
        try {
          const stat = await client.setData('/failover', 'after', { timeoutMs: 5_000 });
          if (killedAt > 0 && Math.floor(stat.mzxid / 2 ** 32) > oldEpoch) recoveredAt = performance.now();
        } catch {
          // ConnectionLoss and the like while the ensemble changes leader: try again at once.
        }
      }
    })();
    await sleep(500);
    killedAt = performance.now();
    await leader.kill();
    await writer;
    if (recoveredAt === 0) throw new Error(`${kind}: no write was acknowledged within ${GIVE_UP_MS} ms of killing the leader`);
    const ms = recoveredAt - killedAt;
    log(`[${SERVER_NAMES[kind]} round ${round + 1}/${ROUNDS}] leader ${leader.port} killed; first write in the new epoch after ${Math.round(ms)} ms`);
    return ms;
  } finally {
    await client.close();
    await ensemble.destroy();
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function main(): Promise<void> {
  const missing = missingPrerequisites().filter((m) => KINDS.includes('zookeeper') || m.startsWith('zkts'));
  if (missing.length > 0) {
    for (const m of missing) log(`bench:failover: ${m}`);
    process.exit(1);
  }
  freezeZktsBuild();
  log(`bench:failover: ${SERVERS}-server ensembles on 127.0.0.1, tickTime ${TICK_MS}, ${ROUNDS} rounds each`);
  const results = new Map<ServerKind, number[]>();
  for (let round = 0; round < ROUNDS; round++) {
    for (const kind of round % 2 === 0 ? KINDS : [...KINDS].reverse()) {
      const times = results.get(kind) ?? [];
      times.push(await failoverOnce(kind, round));
      results.set(kind, times);
    }
  }
  for (const [kind, times] of results) {
    const sorted = [...times].sort((a, b) => a - b).map((ms) => Math.round(ms));
    process.stdout.write(`${SERVER_NAMES[kind].padEnd(17)} failover median ${Math.round(median(times))} ms (all: ${sorted.join(', ')} ms)\n`);
  }
}

await main();
process.exit(0);
