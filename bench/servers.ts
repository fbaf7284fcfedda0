/**
 * Server launchers for the side-by-side benchmark (bench/compare.ts): Apache
 * ZooKeeper 3.8 from the Debian package and zkts, with equivalent configs —
 * same zoo.cfg settings (tickTime, forceSync on, 127.0.0.1, default snapCount
 * and preAllocSize), the same heap limit, INFO logging to a file, a fresh
 * data dir under the same parent directory (so on the same disk).
 *
 * startEnsemble is the one entry point: it starts N servers of a kind and
 * returns their connect string: N = 1 is a standalone server, N > 1 an
 * ensemble on 127.0.0.1 (server.N lines and myid files, ZooKeeper's
 * QuorumPeerMain), which serves once it has elected a leader.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import {
  accessSync,
  closeSync,
  constants,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { delimiter, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { BenchSession, encodeBody } from '../src/cli/bench/session.js';
import { OpCode } from '../src/protocol/constants.js';
import { ErrorCode } from '../src/protocol/errors.js';
import { PathWatchRequest } from '../src/protocol/records.js';

export type ServerKind = 'zookeeper' | 'zkts';

export const SERVER_NAMES: Record<ServerKind, string> = { zookeeper: 'Apache ZooKeeper', zkts: 'zkts' };

export interface ServerSettings {
  tickTimeMs: number;
  /** Heap limit of either server: -Xmx for the JVM, --max-old-space-size for Node. */
  heapMb: number;
  /** Parent of the servers' fresh work dirs (config, data, log). */
  baseDir: string;
}

const JAVA_LIB = '/usr/share/java';
export const ZOOKEEPER_JAR = join(JAVA_LIB, 'zookeeper.jar');
/** zookeeper.jar's manifest names its dependencies but no slf4j binding; log4j 1.2 comes with the Debian package. */
const ZOOKEEPER_CLASSPATH = [ZOOKEEPER_JAR, join(JAVA_LIB, 'slf4j-log4j12.jar'), join(JAVA_LIB, 'log4j-1.2.jar')];
const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url)); // from dist/bench/
const ZKTS_MAIN = join(REPO_ROOT, 'dist', 'src', 'cli', 'main.js');
/** The zkts entry point the servers run: dist's, or the frozen copy once freezeZktsBuild was called. */
let zktsMain = ZKTS_MAIN;

/**
 * Runs zkts from a private copy of dist/src from now on, so that someone
 * rebuilding dist in the same working tree during the run does not change
 * what is measured half-way. The copy lives under dist/ so that Node still
 * finds package.json and node_modules by walking up; it is removed at exit.
 */
export function freezeZktsBuild(): void {
  const copy = join(REPO_ROOT, 'dist', `.bench-compare-${process.pid}`);
  cpSync(join(REPO_ROOT, 'dist', 'src'), join(copy, 'src'), { recursive: true });
  process.on('exit', () => rmSync(copy, { recursive: true, force: true }));
  zktsMain = join(copy, 'src', 'cli', 'main.js');
}

/** JVM flags for Apache ZooKeeper: the JVM's own defaults (G1, tiered JIT) plus a fixed heap limit. */
export function zookeeperJvmFlags(settings: ServerSettings): string[] {
  return [
    `-Xmx${settings.heapMb}m`,
    '-XX:+UseG1GC',
    // No /tmp/hsperfdata_<user>/<pid> file, which a SIGKILLed JVM would leave behind.
    '-XX:-UsePerfData',
    '-Djava.net.preferIPv4Stack=true',
  ];
}

export function zktsNodeFlags(settings: ServerSettings): string[] {
  return [`--max-old-space-size=${settings.heapMb}`];
}

/** What is missing to run the comparison, as install instructions; empty when all is there. */
export function missingPrerequisites(): string[] {
  const missing: string[] = [];
  if (!existsSync(ZKTS_MAIN)) missing.push(`zkts is not built (${ZKTS_MAIN} is missing): run npx tsc -p .`);
  if (findJava() === undefined) missing.push('java is not installed: apt-get install default-jre-headless');
  const jars = ZOOKEEPER_CLASSPATH.filter((jar) => !existsSync(jar));
  if (jars.length > 0) missing.push(`Apache ZooKeeper 3.8 is not installed (${jars.join(', ')} missing): apt-get install zookeeper`);
  return missing;
}

export interface Ensemble {
  servers: BenchServer[];
  /** host:port,... of all servers. */
  connectString: string;
  /** Milliseconds from spawning the servers until all of them served a getData. */
  startMs: number;
  /** Stops every server and removes its files. */
  destroy(): Promise<void>;
}

/** A port checked free can be taken by another process (tests run alongside) before the server binds it. */
const START_ATTEMPTS = 3;

/**
 * Starts `count` servers of `kind` on 127.0.0.1, each in a fresh work dir,
 * and waits until each serves a getData.
 */
export async function startEnsemble(kind: ServerKind, count: number, settings: ServerSettings): Promise<Ensemble> {
  for (let attempt = 1; ; attempt++) {
    const ports = await freePorts(count === 1 ? 1 : count * 3);
    const members: QuorumMember[] = Array.from({ length: count }, (_, i) => ({
      id: i + 1,
      clientPort: ports[3 * i]!,
      quorumPort: ports[3 * i + 1] ?? 0,
      electionPort: ports[3 * i + 2] ?? 0,
    }));
    const servers = members.map((m) => new BenchServer(kind, m.clientPort, settings, count === 1 ? undefined : { myId: m.id, members }));
    const destroy = async (): Promise<void> => {
      await Promise.all(servers.map((server) => server.destroy()));
    };
    // All at once: an ensemble member serves only once a quorum of them is up.
    const started = await Promise.allSettled(servers.map((server) => server.start()));
    const failure = started.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failure === undefined) {
      const startMs = Math.max(...started.map((r) => (r as PromiseFulfilledResult<number>).value));
      return { servers, connectString: servers.map((server) => server.connectString).join(','), startMs, destroy };
    }
    await destroy();
    if (!(failure.reason instanceof PortTakenError) || attempt === START_ATTEMPTS) throw failure.reason;
  }
}

/** One server of an ensemble, as its server.N line gives it. */
interface QuorumMember {
  id: number;
  clientPort: number;
  quorumPort: number;
  electionPort: number;
}

export class PortTakenError extends Error {
  override name = 'PortTakenError';
}

/** One server process, which can be killed and started again on the same port and data. */
export class BenchServer {
  readonly workDir: string;
  readonly dataDir: string;
  private child: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();

  constructor(
    readonly kind: ServerKind,
    readonly port: number,
    private readonly settings: ServerSettings,
    /** Set for an ensemble member: its id and every member's ports. */
    private readonly quorum?: { myId: number; members: readonly QuorumMember[] },
  ) {
    this.workDir = mkdtempSync(join(settings.baseDir, `zkts-compare-${kind}-`));
    this.dataDir = join(this.workDir, 'data');
    mkdirSync(this.dataDir);
    live.add(this);
    if (quorum !== undefined) writeFileSync(join(this.dataDir, 'myid'), `${quorum.myId}\n`);
    writeFileSync(join(this.workDir, 'zoo.cfg'), zooCfg(this.port, this.dataDir, settings, quorum?.members));
    writeFileSync(join(this.workDir, 'log4j.properties'), LOG4J_CONFIG);
  }

  get connectString(): string {
    return `127.0.0.1:${this.port}`;
  }

  get pid(): number {
    if (this.child?.pid === undefined) throw new Error(`${this.kind} is not running`);
    return this.child.pid;
  }

  /** Spawns the server; resolves with the milliseconds from spawn until a getData of `probePath` succeeded. */
  async start(probePath = '/', timeoutMs = 120_000): Promise<number> {
    const [command, args] = this.commandLine();
    const log = openSync(join(this.workDir, 'server.log'), 'a');
    const spawnedAt = performance.now();
    const child = spawn(command, args, { cwd: this.workDir, stdio: ['ignore', log, log], detached: true });
    closeSync(log);
    this.child = child;
    let exitReason: string | undefined;
    this.exited = new Promise((resolve) =>
      child.once('exit', (code, signal) => {
        exitReason = signal ?? `code ${code}`;
        resolve();
      }),
    );
    const address = { host: '127.0.0.1', port: this.port };
    while (!(await servesGetData(address, probePath))) {
      if (exitReason !== undefined) {
        const log = this.logTail();
        const message = `${this.kind} exited (${exitReason}) while starting:\n${log}`;
        throw ADDRESS_IN_USE.test(log) ? new PortTakenError(message) : new Error(message);
      }
      if (performance.now() - spawnedAt > timeoutMs) throw new Error(`${this.kind} did not serve ${probePath} within ${timeoutMs} ms:\n${this.logTail()}`);
      await sleep(5);
    }
    const readyMs = performance.now() - spawnedAt;
    // Whatever answered must be this server, not another one that got the port first.
    if (!listens(child.pid!, this.port)) throw new PortTakenError(`another process answers on port ${this.port}`);
    return readyMs;
  }

  /** SIGKILL (a crash, not a shutdown); resolves once the process is gone. */
  async kill(): Promise<void> {
    if (this.child === undefined) return;
    killGroup(this.child.pid!);
    await this.exited;
    this.child = undefined;
  }

  async destroy(): Promise<void> {
    await this.kill();
    rmSync(this.workDir, { recursive: true, force: true });
    live.delete(this);
  }

  /** Resident memory of the server process, from /proc/<pid>/status. */
  rssBytes(): number {
    const match = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${this.pid}/status`, 'utf8'));
    if (match === null) throw new Error(`no VmRSS in /proc/${this.pid}/status`);
    return Number(match[1]) * 1024;
  }

  /** CPU time (user + system, all threads) the server process used so far. */
  cpuMs(): number {
    const stat = readFileSync(`/proc/${this.pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // utime and stime are fields 14 and 15 of the whole line, in clock ticks of 1/100 s on Linux.
    return (Number(fields[11]) + Number(fields[12])) * 10;
  }

  logTail(lines = 30): string {
    try {
      return readFileSync(join(this.workDir, 'server.log'), 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
    } catch {
      return '(no log)';
    }
  }

  private commandLine(): [string, string[]] {
    const cfg = join(this.workDir, 'zoo.cfg');
    if (this.kind === 'zkts') return [process.execPath, [...zktsNodeFlags(this.settings), zktsMain, 'server', cfg]];
    return [
      findJava()!,
      [
        ...zookeeperJvmFlags(this.settings),
        `-Dlog4j.configuration=file:${join(this.workDir, 'log4j.properties')}`,
        '-cp',
        ZOOKEEPER_CLASSPATH.join(':'),
        this.quorum === undefined ? 'org.apache.zookeeper.server.ZooKeeperServerMain' : 'org.apache.zookeeper.server.quorum.QuorumPeerMain',
        cfg,
      ],
    ];
  }
}

/** The same zoo.cfg for both servers. */
function zooCfg(port: number, dataDir: string, settings: ServerSettings, members: readonly QuorumMember[] = []): string {
  return (
    [
      `tickTime=${settings.tickTimeMs}`,
      'initLimit=10',
      'syncLimit=5',
      `clientPort=${port}`,
      'clientPortAddress=127.0.0.1',
      `dataDir=${dataDir}`,
      // ZooKeeper turns unknown keys into zookeeper.* system properties: this is zookeeper.forceSync.
      'forceSync=yes',
      'admin.enableServer=false',
      ...members.map((m) => `server.${m.id}=127.0.0.1:${m.quorumPort}:${m.electionPort}`),
    ].join('\n') + '\n'
  );
}

/** ZooKeeper's stock log4j layout at INFO, to the stdout the launcher sends to server.log. */
const LOG4J_CONFIG = [
  'log4j.rootLogger=INFO, CONSOLE',
  'log4j.appender.CONSOLE=org.apache.log4j.ConsoleAppender',
  'log4j.appender.CONSOLE.layout=org.apache.log4j.PatternLayout',
  'log4j.appender.CONSOLE.layout.ConversionPattern=%d{ISO8601} [myid:%X{myid}] - %-5p [%t:%C{1}@%L] - %m%n',
  '',
].join('\n');

const PROBE_TIMEOUT_MS = 2_000;
const getDataBody = (path: string): Buffer => encodeBody((w) => PathWatchRequest.encode(w, { path, watch: false }));

/** True when a new session to `address` gets a successful getData of `path`; false on any failure. */
async function servesGetData(address: { host: string; port: number }, path: string): Promise<boolean> {
  let session: BenchSession;
  try {
    session = await BenchSession.open(address, { sessionTimeoutMs: 30_000, connectTimeoutMs: PROBE_TIMEOUT_MS });
  } catch {
    return false;
  }
  const answered = new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => resolve(false), PROBE_TIMEOUT_MS);
    session.onLost = () => resolve(false);
    session.send(OpCode.getData, getDataBody(path), (err) => {
      clearTimeout(timer);
      resolve(err === ErrorCode.Ok);
    });
  });
  const ok = await answered;
  await session.close(PROBE_TIMEOUT_MS);
  return ok;
}

const ADDRESS_IN_USE = /EADDRINUSE|BindException|Address already in use/;

/** True when process `pid` holds the socket listening on 127.0.0.1:`port` (from /proc/net/tcp and /proc/<pid>/fd). */
function listens(pid: number, port: number): boolean {
  const local = `0100007F:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  const inodes = new Set<string>();
  for (const line of readFileSync('/proc/net/tcp', 'utf8').split('\n').slice(1)) {
    // sl local_address rem_address st ... inode: state 0A is LISTEN, the inode is the 10th field.
    const fields = line.trim().split(/\s+/);
    if (fields[1] === local && fields[3] === '0A') inodes.add(fields[9]!);
  }
  return readdirSync(`/proc/${pid}/fd`).some((fd) => {
    try {
      return inodes.has(/^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`))?.[1] ?? '');
    } catch {
      return false; // closed while we looked
    }
  });
}

/**
 * A free port below the kernel's ephemeral range, so that the load
 * generator's own outgoing connections cannot take it while a server restarts.
 */
async function freePorts(count: number): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < count) ports.add(await freePort());
  return [...ports];
}

async function freePort(): Promise<number> {
  const [ephemeralLow] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
  const high = Math.min(ephemeralLow ?? 32768, 32768);
  for (let attempt = 0; attempt < 100; attempt++) {
    const port = 20000 + Math.floor(Math.random() * (high - 20000));
    if (await isFree(port)) return port;
  }
  throw new Error('no free port found on 127.0.0.1');
}

function isFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen({ host: '127.0.0.1', port, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/** $JAVA_HOME/bin/java, else java on PATH. */
function findJava(): string | undefined {
  const candidates = [
    ...(process.env.JAVA_HOME ? [join(process.env.JAVA_HOME, 'bin', 'java')] : []),
    ...(process.env.PATH ?? '').split(delimiter).filter((dir) => dir !== '').map((dir) => join(dir, 'java')),
  ];
  return candidates.find((path) => {
    try {
      accessSync(path, constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

/** The first line of `java -version` (which writes to stderr). */
export function javaVersion(): string {
  const java = findJava();
  if (java === undefined) return 'none';
  return spawnSync(java, ['-version'], { encoding: 'utf8' }).stderr.split('\n')[0]?.trim() ?? 'unknown';
}

function killGroup(pid: number): void {
  try {
    process.kill(-pid, 'SIGKILL');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ESRCH') throw e;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Servers still running: killed, and their files removed, when the benchmark exits however it exits. */
const live = new Set<BenchServer>();
process.on('exit', () => {
  for (const server of live) {
    try {
      killGroup(server.pid);
    } catch {
      // not running
    }
    rmSync(server.workDir, { recursive: true, force: true });
  }
});
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => process.exit(130));
