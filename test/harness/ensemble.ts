/**
 * A zkts ensemble of real `zkts server` processes on 127.0.0.1, for tests
 * that kill, pause and partition servers.
 *
 * Every server has its own zoo.cfg and a persistent data dir (with myid)
 * under one temp dir, so it can be killed and started again on the same data.
 * Servers never talk to each other directly: in server A's zoo.cfg, server B
 * is at the port of a TcpProxy for the path A→B (one for the quorum port, one
 * for the election port), which forwards to B's real port. Cutting the
 * proxies A→B and B→A partitions A from B; clients connect to the servers
 * directly.
 *
 * Status comes from the four-letter words, as an operator would see it:
 * `mntr` (role, synced learners), `srvr` (mode, zxid) and `hash` (the tree's
 * digest at zxids it lists). A server that is not serving (looking for a
 * leader, syncing) answers them with "not currently serving".
 */
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { allocatePorts } from './ports.js';
import { removeAtExit, spawnManaged, waitFor, type ManagedProcess } from './process.js';
import { TcpProxy, type BlockMode } from './tcp-proxy.js';
import { formatConfig, fourLetterWord } from './zkts-server.js';

const ZKTS_MAIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url)); // from dist/test/harness/
/** Short ticks keep failure detection and elections quick: a follower gives up on a silent leader after syncLimit ticks. */
const TEST_DEFAULTS: Record<string, string> = {
  tickTime: '500',
  initLimit: '10',
  syncLimit: '4',
  '4lw.commands.whitelist': '*',
};
/** Generous: a loaded 2-core machine runs several JVMs and node processes at once. */
const DEFAULT_WAIT_MS = 60_000;
/** A status poll gives up on a server that does not answer in this time (it is frozen or overloaded). */
const STATUS_TIMEOUT_MS = 5_000;
const NOT_SERVING = 'not currently serving';
const ADDRESS_IN_USE = /EADDRINUSE|address already in use/i;
const START_ATTEMPTS = 3;

export interface EnsembleOptions {
  /** Voting servers (participants), ids 1..servers. */
  servers: 3 | 5;
  /** Observers, ids after the voters. Default 0. */
  observers?: number;
  /** zoo.cfg settings for every server; override the test defaults (tickTime 500, initLimit 10, syncLimit 4). */
  config?: Record<string, string>;
  /** How long the ensemble may take to elect its first leader. Default 60 s. */
  readyTimeoutMs?: number;
}

/** A server's state from mntr. */
export interface ServerStatus {
  id: number;
  /** 'leader', 'follower' or 'observer' while serving; null while looking or syncing. */
  mode: 'leader' | 'follower' | 'observer' | null;
  /** The last zxid applied; null while not serving. */
  zxid: bigint | null;
  /** On a leader: the followers and observers synced with it. */
  syncedLearners: number;
}

export interface WaitOptions {
  /** The servers considered (default: every server that is running and not paused). */
  among?: readonly number[];
  timeoutMs?: number;
}

/** One server of the ensemble: its ports and dirs, and its process across restarts. */
export class EnsembleServer {
  private proc: ManagedProcess | null = null;
  private isPaused = false;
  /** Output of earlier incarnations, so that a log line can be looked for across restarts. */
  private readonly earlierOutput: string[] = [];

  constructor(
    readonly id: number,
    readonly observer: boolean,
    /** This server's directory: zoo.cfg, and data/ (myid, snapshots, log). */
    readonly dir: string,
    public clientPort: number,
    public quorumPort: number,
    public electionPort: number,
  ) {}

  get configPath(): string {
    return join(this.dir, 'zoo.cfg');
  }

  get dataDir(): string {
    return join(this.dir, 'data');
  }

  /** "127.0.0.1:clientPort": a client string naming this server only. */
  get connectString(): string {
    return `127.0.0.1:${this.clientPort}`;
  }

  get running(): boolean {
    return this.proc?.running ?? false;
  }

  /** Running and not paused: it can answer. */
  get live(): boolean {
    return this.running && !this.isPaused;
  }

  /** Starts the server on its data dir and waits until it answers ruok (not until it serves: see Ensemble.waitForLeader). */
  async start(): Promise<void> {
    if (this.running) throw new Error(`server ${this.id} is already running`);
    if (this.proc !== null) this.earlierOutput.push(this.outputOf(this.proc));
    const proc = spawnManaged(process.execPath, [ZKTS_MAIN, 'server', this.configPath], {
      name: `zkts-ensemble:${this.id}`,
      cwd: this.dir,
      collectOutput: true,
    });
    this.proc = proc;
    this.isPaused = false;
    await waitFor(async () => (await fourLetterWord('127.0.0.1', this.clientPort, 'ruok', STATUS_TIMEOUT_MS)) === 'imok', {
      what: `server ${this.id} to answer ruok on port ${this.clientPort}`,
      timeoutMs: DEFAULT_WAIT_MS,
      intervalMs: 100,
      giveUpIf: () => (proc.running ? undefined : 'the process exited'),
      diagnostics: () => proc.describe(),
    });
  }

  /** SIGKILL; resolves once the process is gone. */
  async kill9(): Promise<void> {
    await this.proc?.kill9();
    this.isPaused = false;
  }

  /** SIGTERM (a clean shutdown), then SIGKILL if it lingers. */
  async stop(): Promise<void> {
    await this.proc?.stop();
    this.isPaused = false;
  }

  /** SIGSTOP: the process freezes with its sockets open (a long GC pause, a stalled VM). */
  pause(): void {
    this.requireRunning('pause').pause();
    this.isPaused = true;
  }

  /** SIGCONT. */
  resume(): void {
    this.requireRunning('resume').resume();
    this.isPaused = false;
  }

  /** Everything this server printed, across restarts. */
  output(): string {
    return [...this.earlierOutput, this.proc === null ? '' : this.outputOf(this.proc)].join('\n');
  }

  fourLetterWord(word: string, timeoutMs = STATUS_TIMEOUT_MS): Promise<string> {
    return fourLetterWord('127.0.0.1', this.clientPort, word, timeoutMs);
  }

  /** Role, last zxid and (on a leader) synced learners, from mntr. */
  async status(): Promise<ServerStatus> {
    const text = await this.fourLetterWord('mntr');
    if (text.includes(NOT_SERVING)) return { id: this.id, mode: null, zxid: null, syncedLearners: 0 };
    const values = new Map(text.split('\n').map((line) => line.split('\t') as [string, string]));
    const state = values.get('zk_server_state');
    if (state !== 'leader' && state !== 'follower' && state !== 'observer') throw new Error(`server ${this.id}: unexpected mntr:\n${text}`);
    const count = (key: string): number => Number(values.get(key) ?? 0);
    return {
      id: this.id,
      mode: state,
      zxid: BigInt(values.get('zk_last_processed_zxid') ?? ''),
      syncedLearners: count('zk_synced_followers') + count('zk_synced_observers'),
    };
  }

  /** Mode and zxid from srvr; null when it is not serving. */
  async srvr(): Promise<{ mode: string; zxid: bigint } | null> {
    const text = await this.fourLetterWord('srvr');
    if (text.includes(NOT_SERVING)) return null;
    const mode = /^Mode: (\S+)$/m.exec(text)?.[1];
    const zxid = /^Zxid: (0x[0-9a-f]+)$/m.exec(text)?.[1];
    if (mode === undefined || zxid === undefined) throw new Error(`server ${this.id}: unexpected srvr:\n${text}`);
    return { mode, zxid: BigInt(zxid) };
  }

  /**
   * The digest log from `hash`: the tree's digest at each zxid listed
   * (ZooKeeper lists every 128th zxid it applied); null when not serving.
   */
  async digests(): Promise<Map<bigint, string> | null> {
    const text = await this.fourLetterWord('hash');
    if (text.includes(NOT_SERVING)) return null;
    const log = new Map<bigint, string>();
    for (const line of text.split('\n')) {
      if (line === '') continue;
      const match = /^([0-9a-f]+): (\S+)$/.exec(line);
      if (match === null) throw new Error(`server ${this.id}: unexpected hash line: ${line}`);
      log.set(BigInt(`0x${match[1]}`), match[2]!);
    }
    return log;
  }

  /** The ids of the sessions whose clients are connected to this server now (from cons). */
  async connectedSessions(): Promise<bigint[]> {
    const text = await this.fourLetterWord('cons');
    return [...text.matchAll(/sid=(0x[0-9a-f]+)/g)].map((m) => BigInt(m[1]!));
  }

  private requireRunning(what: string): ManagedProcess {
    if (this.proc === null || !this.proc.running) throw new Error(`cannot ${what} server ${this.id}: it is not running`);
    return this.proc;
  }

  private outputOf(proc: ManagedProcess): string {
    return proc.stdout + proc.stderr;
  }
}

export class Ensemble {
  /** Proxies by path: `${from}>${to}` for the quorum and the election port of `to` as `from` dials it. */
  private readonly proxies = new Map<string, { quorum: TcpProxy; election: TcpProxy }>();
  /** Settings of single servers, over the ensemble's (see configure). */
  private readonly serverSettings = new Map<number, Record<string, string>>();
  private stopping: Promise<void> | undefined;

  private constructor(
    readonly servers: readonly EnsembleServer[],
    private readonly config: Record<string, string>,
    private readonly workDir: string,
    private readonly releaseWorkDir: () => void,
  ) {}

  /** Starts the processes and waits for a leader that everyone else follows. */
  static async start(options: EnsembleOptions): Promise<Ensemble> {
    const voters = options.servers;
    const total = voters + (options.observers ?? 0);
    const workDir = await mkdtemp(join(tmpdir(), 'zkts-ensemble-'));
    const releaseWorkDir = removeAtExit(workDir);
    const ports = await allocatePorts(3 * total);
    const servers = Array.from({ length: total }, (_, i) => {
      const [client, quorum, election] = ports.slice(3 * i, 3 * i + 3) as [number, number, number];
      return new EnsembleServer(i + 1, i >= voters, join(workDir, `server${i + 1}`), client, quorum, election);
    });
    const ensemble = new Ensemble(servers, { ...TEST_DEFAULTS, ...options.config }, workDir, releaseWorkDir);
    try {
      await ensemble.createProxies();
      for (const server of servers) {
        await mkdir(server.dataDir, { recursive: true });
        await writeFile(join(server.dataDir, 'myid'), `${server.id}\n`);
      }
      await Promise.all(servers.map((server) => ensemble.firstStart(server)));
      await ensemble.waitForLeader({ timeoutMs: options.readyTimeoutMs });
      return ensemble;
    } catch (error) {
      await ensemble.stop();
      throw error;
    }
  }

  /** Every server's client address: a client may fail over to any of them. */
  get connectString(): string {
    return this.connectStringOf(this.servers.map((s) => s.id));
  }

  connectStringOf(ids: readonly number[]): string {
    return ids.map((id) => this.server(id).connectString).join(',');
  }

  server(id: number): EnsembleServer {
    const server = this.servers[id - 1];
    if (server === undefined) throw new Error(`no server ${id} in an ensemble of ${this.servers.length}`);
    return server;
  }

  get ids(): number[] {
    return this.servers.map((s) => s.id);
  }

  /** Ids of every server but `excluded`. */
  idsExcept(...excluded: number[]): number[] {
    return this.servers.map((s) => s.id).filter((id) => !excluded.includes(id));
  }

  /** The one live server that serves as leader now; throws if there is none or several. */
  async leader(): Promise<EnsembleServer> {
    const statuses = await Promise.all(this.servers.filter((s) => s.live).map((s) => s.status().catch(() => null)));
    const leaders = statuses.filter((s) => s?.mode === 'leader');
    if (leaders.length !== 1) throw new Error(`expected one leader, found ${leaders.length}: ${JSON.stringify(statuses, bigints)}`);
    return this.server(leaders[0]!.id);
  }

  /**
   * Waits until the servers considered form a settled ensemble: exactly one
   * serves as leader, every other one serves as follower or observer, and the
   * leader counts at least that many synced learners (so none of them still
   * follows an old leader). Returns the leader.
   */
  async waitForLeader(options: WaitOptions = {}): Promise<EnsembleServer> {
    let last: (ServerStatus | string)[] = [];
    const leaderId = await waitFor(
      async () => {
        const among = this.considered(options);
        last = await Promise.all(among.map((s) => s.status().catch((e: Error) => `server ${s.id}: ${e.message}`)));
        const statuses = last.filter((s): s is ServerStatus => typeof s !== 'string');
        if (statuses.length !== among.length || statuses.some((s) => s.mode === null)) return undefined;
        const leaders = statuses.filter((s) => s.mode === 'leader');
        if (leaders.length !== 1 || leaders[0]!.syncedLearners < among.length - 1) return undefined;
        return leaders[0]!.id;
      },
      {
        what: `one leader among servers ${this.considered(options).map((s) => s.id)}, followed by the others`,
        timeoutMs: options.timeoutMs ?? DEFAULT_WAIT_MS,
        intervalMs: 100,
        diagnostics: () => `last statuses: ${JSON.stringify(last, bigints)}`,
      },
    );
    return this.server(leaderId);
  }

  /**
   * Waits until the servers considered all serve at the same zxid (srvr),
   * and their digest logs (hash) agree at every zxid two of them list.
   * Returns that zxid, and the digest at the newest zxid all of them list
   * (null if there is none: see alignDigestZxid in the ensemble tests).
   * Call it once writes have stopped.
   */
  async waitConverged(options: WaitOptions = {}): Promise<Converged> {
    let last: unknown[] = [];
    let diverged: string | undefined;
    return waitFor(
      async () => {
        const among = this.considered(options);
        const srvrs = await Promise.all(among.map((s) => s.srvr()));
        const logs = await Promise.all(among.map((s) => s.digests()));
        last = among.map((s, i) => ({ id: s.id, srvr: srvrs[i], digests: logs[i] && Object.fromEntries(logs[i]) }));
        const zxid = srvrs[0]?.zxid;
        if (zxid === undefined || srvrs.some((s) => s?.zxid !== zxid) || logs.some((l) => l === null)) return undefined;
        const verdict = compareDigests(zxid, logs as Map<bigint, string>[]);
        if (typeof verdict !== 'string') return verdict;
        diverged = verdict;
        return undefined;
      },
      {
        // A digest is logged once, when its zxid is applied: a disagreement never goes away.
        giveUpIf: () => (diverged === undefined ? undefined : `the trees diverged: ${diverged}`),
        what: `servers ${this.considered(options).map((s) => s.id)} to converge (same zxid, same digests)`,
        timeoutMs: options.timeoutMs ?? DEFAULT_WAIT_MS,
        intervalMs: 200,
        diagnostics: () => `last seen: ${JSON.stringify(last, bigints)}`,
      },
    );
  }

  /**
   * Cuts the network between groups (both directions, quorum and election
   * ports); servers within a group stay connected. A server named in no group
   * is cut off from everyone. Replaces any earlier partition.
   */
  partition(groups: readonly (readonly number[])[], mode: BlockMode = 'reset'): void {
    const groupOf = new Map<number, number>();
    groups.forEach((group, index) => {
      for (const id of group) {
        this.server(id);
        if (groupOf.has(id)) throw new Error(`server ${id} is in two groups`);
        groupOf.set(id, index);
      }
    });
    for (const from of this.servers) {
      for (const to of this.servers) {
        if (from === to) continue;
        const together = groupOf.has(from.id) && groupOf.get(from.id) === groupOf.get(to.id);
        for (const proxy of this.proxiesOf(from.id, to.id)) {
          if (together) proxy.unblock();
          else proxy.block(mode);
        }
      }
    }
  }

  /** Cuts server `id` off from all the others. */
  isolate(id: number, mode: BlockMode = 'reset'): void {
    this.partition([this.idsExcept(id)], mode);
  }

  /** Removes every partition. */
  heal(): void {
    for (const { quorum, election } of this.proxies.values()) {
      quorum.unblock();
      election.unblock();
    }
  }

  /**
   * Changes zoo.cfg settings of server `id` alone (e.g. a longer syncLimit
   * than the others'); they take effect when it is next started.
   */
  async configure(id: number, settings: Record<string, string>): Promise<void> {
    this.serverSettings.set(id, { ...this.serverSettings.get(id), ...settings });
    await this.writeConfig(this.server(id));
  }

  /** Kills every process, stops the proxies and removes the data. Idempotent. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      await Promise.all(this.servers.map((s) => s.kill9()));
      await Promise.all([...this.proxies.values()].flatMap(({ quorum, election }) => [quorum.stop(), election.stop()]));
      await rm(this.workDir, { recursive: true, force: true, maxRetries: 3 });
      this.releaseWorkDir();
    })();
    return this.stopping;
  }

  private considered(options: WaitOptions): EnsembleServer[] {
    return options.among === undefined ? this.servers.filter((s) => s.live) : options.among.map((id) => this.server(id));
  }

  private proxiesOf(from: number, to: number): TcpProxy[] {
    const pair = this.proxies.get(`${from}>${to}`);
    if (pair === undefined) throw new Error(`no proxy from ${from} to ${to}`);
    return [pair.quorum, pair.election];
  }

  private async createProxies(): Promise<void> {
    for (const from of this.servers) {
      for (const to of this.servers) {
        if (from === to) continue;
        this.proxies.set(`${from.id}>${to.id}`, {
          quorum: await TcpProxy.start({ targetPort: to.quorumPort }),
          election: await TcpProxy.start({ targetPort: to.electionPort }),
        });
      }
    }
  }

  /** Server `server`'s zoo.cfg: its own ports on its own line, the others' through the proxies. */
  private async writeConfig(server: EnsembleServer): Promise<void> {
    const lines: Record<string, string> = {
      ...this.config,
      ...this.serverSettings.get(server.id),
      clientPort: String(server.clientPort),
      clientPortAddress: '127.0.0.1',
      dataDir: server.dataDir,
    };
    if (server.observer) lines.peerType = 'observer';
    for (const other of this.servers) {
      const [quorumPort, electionPort] =
        other === server ? [server.quorumPort, server.electionPort] : this.proxiesOf(server.id, other.id).map((p) => p.port);
      lines[`server.${other.id}`] = `127.0.0.1:${quorumPort}:${electionPort}:${other.observer ? 'observer' : 'participant'}`;
    }
    await writeFile(server.configPath, formatConfig(lines) + '\n');
  }

  /**
   * The first start of a server. A port checked free can be taken by another
   * test process before the server binds it: then the server moves to new
   * ports, which only its own zoo.cfg and the proxies leading to it name.
   */
  private async firstStart(server: EnsembleServer): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      await this.writeConfig(server);
      try {
        await server.start();
        return;
      } catch (error) {
        await server.kill9();
        if (attempt === START_ATTEMPTS || !ADDRESS_IN_USE.test(server.output())) throw error;
      }
      [server.clientPort, server.quorumPort, server.electionPort] = (await allocatePorts(3)) as [number, number, number];
      for (const from of this.servers) {
        if (from === server) continue;
        const [quorum, election] = this.proxiesOf(from.id, server.id);
        quorum!.retarget(server.quorumPort);
        election!.retarget(server.electionPort);
      }
    }
  }
}

export interface Converged {
  zxid: bigint;
  /** The digest at the newest zxid every server lists, or null. */
  digest: { zxid: bigint; digest: string } | null;
}

/** The convergence verdict for logs of servers at `zxid`, or what two of them disagree on. */
function compareDigests(zxid: bigint, logs: readonly Map<bigint, string>[]): Converged | string {
  const first = logs[0]!;
  for (const log of logs) {
    for (const [at, digest] of log) {
      const other = logs.find((l) => l.has(at) && l.get(at) !== digest);
      if (other !== undefined) return `at zxid 0x${at.toString(16)}: ${digest} and ${other.get(at)}`;
    }
  }
  const common = [...first.keys()].filter((at) => logs.every((log) => log.has(at)));
  if (common.length === 0) return { zxid, digest: null };
  const newest = common.reduce((a, b) => (b > a ? b : a));
  return { zxid, digest: { zxid: newest, digest: first.get(newest)! } };
}

/** startEnsemble(options) is Ensemble.start(options). */
export function startEnsemble(options: EnsembleOptions): Promise<Ensemble> {
  return Ensemble.start(options);
}

/** JSON.stringify replacer for bigints (zxids). */
function bigints(_key: string, value: unknown): unknown {
  return typeof value === 'bigint' ? `0x${value.toString(16)}` : value;
}
