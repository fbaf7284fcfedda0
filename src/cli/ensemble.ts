/**
 * `zkts ensemble`: a local ensemble on 127.0.0.1, in the foreground, for
 * trying zkts out (kill a server and watch another take over).
 *
 * It writes one zoo.cfg and myid per server under --dir, exactly as one
 * would by hand, starts `zkts server <zoo.cfg>` for each as a child process
 * with its output prefixed by its id, and stops them all (SIGTERM, waiting
 * for each) on Ctrl-C or SIGTERM. The data dirs are kept: a second run on
 * the same dir goes on with the same data.
 *
 * Server N (from 1) takes client port base+N-1, quorum port base+1000+N-1
 * and election port base+2000+N-1. Observers come after the voters.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { InvalidArgumentError, type Command } from 'commander';

export interface EnsembleOptions {
  servers: number;
  observers: number;
  basePort: number;
  dir: string;
}

interface PlannedServer {
  id: number;
  observer: boolean;
  clientPort: number;
  quorumPort: number;
  electionPort: number;
  dir: string;
}

const MAIN_SCRIPT = fileURLToPath(new URL('./main.js', import.meta.url));
const QUORUM_PORT_OFFSET = 1000;
const ELECTION_PORT_OFFSET = 2000;
/** How long a server may take to shut down cleanly before it is killed. */
const STOP_GRACE_MS = 15_000;
const STATUS_POLL_MS = 500;

export function registerEnsembleCommand(program: Command): void {
  program
    .command('ensemble')
    .description('run a local ensemble on 127.0.0.1 in the foreground (Ctrl-C stops it; data is kept in --dir)')
    .option('--servers <n>', 'voting servers', count(1), 3)
    .option('--observers <n>', 'observers, besides the voters', count(0), 0)
    .option('--base-port <port>', 'client port of server 1 (server N: base+N-1; quorum ports from base+1000, election ports from base+2000)', port, 2181)
    .option('--dir <dir>', 'where the configs and data go', './zkts-ensemble')
    .action(async (options: EnsembleOptions) => {
      process.exitCode = await runEnsemble(options);
    });
}

/** Runs until stopped by a signal (0), or until every server has exited on its own (1). */
export async function runEnsemble(options: EnsembleOptions): Promise<number> {
  const plan = planServers(options);
  const highest = plan.at(-1)!.electionPort;
  if (highest > 65535) {
    process.stderr.write(`zkts ensemble: --base-port ${options.basePort} leaves no room for ${plan.length} servers (port ${highest} needed)\n`);
    return 2;
  }
  for (const server of plan) writeServerFiles(server, plan);

  const children = new Map<number, ChildProcess>();
  let stopping = false;
  const exited = plan.map((server) => {
    const child = startServer(server);
    children.set(server.id, child);
    return new Promise<void>((done) => {
      child.once('exit', (code, signal) => {
        children.delete(server.id);
        if (!stopping) say(`server ${server.id} exited ${signal === null ? `with code ${code}` : `by ${signal}`}`);
        done();
      });
    });
  });
  // Last resort if this process dies of an error: no server outlives it.
  process.on('exit', () => {
    for (const child of children.values()) child.kill('SIGKILL');
  });

  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) {
      say(`${signal} again: killing the servers`);
      for (const child of children.values()) child.kill('SIGKILL');
      return;
    }
    stopping = true;
    say(`${signal}: stopping the servers (pids ${[...children.values()].map((c) => c.pid).join(', ')})`);
    for (const child of children.values()) child.kill('SIGTERM');
    setTimeout(() => {
      for (const child of children.values()) child.kill('SIGKILL');
    }, STOP_GRACE_MS).unref();
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));

  const connectString = plan.map((s) => `127.0.0.1:${s.clientPort}`).join(',');
  say(`servers started: ${plan.map((s) => `${s.id} (pid ${children.get(s.id)?.pid})`).join(', ')}`);
  say(`connect string: ${connectString}`);
  void reportLeader(plan, (id) => children.has(id), () => stopping || children.size === 0);

  await Promise.all(exited);
  if (stopping) {
    say('all servers stopped');
    return 0;
  }
  say('every server has exited');
  return 1;
}

function planServers(options: EnsembleOptions): PlannedServer[] {
  const dir = resolve(options.dir);
  return Array.from({ length: options.servers + options.observers }, (_, i) => ({
    id: i + 1,
    observer: i >= options.servers,
    clientPort: options.basePort + i,
    quorumPort: options.basePort + QUORUM_PORT_OFFSET + i,
    electionPort: options.basePort + ELECTION_PORT_OFFSET + i,
    dir: join(dir, `server${i + 1}`),
  }));
}

/** zoo.cfg (rewritten each run, as the ports may differ) and data/myid; existing data is left alone. */
function writeServerFiles(server: PlannedServer, plan: readonly PlannedServer[]): void {
  const dataDir = join(server.dir, 'data');
  if (existsSync(dataDir)) say(`server ${server.id}: reusing the data in ${dataDir}`);
  mkdirSync(dataDir, { recursive: true });
  writeFileSync(join(dataDir, 'myid'), `${server.id}\n`);
  const lines = [
    'tickTime=2000',
    'initLimit=10',
    'syncLimit=5',
    `dataDir=${dataDir}`,
    `clientPort=${server.clientPort}`,
    'clientPortAddress=127.0.0.1',
    '4lw.commands.whitelist=*',
    ...(server.observer ? ['peerType=observer'] : []),
    ...plan.map((s) => `server.${s.id}=127.0.0.1:${s.quorumPort}:${s.electionPort}${s.observer ? ':observer' : ''}`),
  ];
  writeFileSync(join(server.dir, 'zoo.cfg'), lines.join('\n') + '\n');
}

function startServer(server: PlannedServer): ChildProcess {
  const child = spawn(process.execPath, [MAIN_SCRIPT, 'server', join(server.dir, 'zoo.cfg')], {
    cwd: server.dir,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const prefix = `[server ${server.id}] `;
  createInterface({ input: child.stdout! }).on('line', (line) => process.stdout.write(prefix + line + '\n'));
  createInterface({ input: child.stderr! }).on('line', (line) => process.stderr.write(prefix + line + '\n'));
  return child;
}

/** Says which server leads once the running servers have settled (and again whenever that changes). */
async function reportLeader(plan: readonly PlannedServer[], isRunning: (id: number) => boolean, done: () => boolean): Promise<void> {
  let reported: number | undefined;
  while (!done()) {
    const running = plan.filter((s) => isRunning(s.id));
    const modes = await Promise.all(running.map((s) => srvrMode(s.clientPort)));
    const leaders = running.filter((_, i) => modes[i] === 'leader');
    const settled = modes.every((mode) => mode !== undefined);
    if (settled && leaders.length === 1 && leaders[0]!.id !== reported) {
      reported = leaders[0]!.id;
      say(`server ${reported} leads; ${running.length - 1} others follow or observe`);
    }
    await new Promise((wake) => setTimeout(wake, STATUS_POLL_MS).unref());
  }
}

/** The Mode line of srvr, or undefined if the server does not answer or does not serve. */
function srvrMode(port: number): Promise<string | undefined> {
  return new Promise((done) => {
    let text = '';
    const socket = connect({ host: '127.0.0.1', port });
    socket.setTimeout(STATUS_POLL_MS * 4, () => socket.destroy());
    socket.once('connect', () => socket.write('srvr'));
    socket.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
    socket.on('error', () => {});
    socket.once('close', () => done(/^Mode: (\S+)$/m.exec(text)?.[1]));
  });
}

function say(message: string): void {
  process.stdout.write(`[ensemble] ${message}\n`);
}

function count(min: number): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!/^\d+$/.test(value) || n < min) throw new InvalidArgumentError(`expected a whole number of at least ${min}`);
    return n;
  };
}

function port(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < 1 || n > 65535) throw new InvalidArgumentError('expected a port number');
  return n;
}
