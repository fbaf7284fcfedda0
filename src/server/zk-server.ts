/**
 * ZkServer: the composition root of a server. It recovers the database from
 * disk, builds the preparer, the quorum driver and the request processor,
 * listens for clients and peers, and runs the timers (container reaper,
 * purge). A standalone server is an ensemble of one voter: the same quorum
 * core decides alone once a write is durable.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createServer, type Server, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { OpCode } from '../protocol/constants.js';
import { ensureDir, storageDir } from '../storage/files.js';
import { lockDirectory } from '../storage/lock.js';
import { purge, removeIncompleteSnapshots } from '../storage/purge.js';
import { recover } from '../storage/recovery.js';
import { Snapshotter } from '../storage/snapshotter.js';
import { TxnLog } from '../storage/txn-log.js';
import type { ZkDatabase } from '../tree/database.js';
import type { DataTreeOptions } from '../tree/data-tree.js';
import { ConfigError, formsEnsemble, type ServerConfig } from './config.js';
import { ClientConnection } from './connection.js';
import { reapCandidates } from './container-reaper.js';
import { isFourLetterWord, runFourLetterWord, type ServerView } from './four-letter-words.js';
import type { Logger } from './logger.js';
import { RequestPreparer, SERVER_CONTEXT } from './prep.js';
import { QuorumDriver } from './quorum-driver.js';
import { QuorumTransport } from './quorum-transport.js';
import { RequestProcessor } from './request-processor.js';
import { SessionTracker } from './session-tracker.js';
import { ServerStats } from './stats.js';

export interface ZkServerOptions {
  /** Called when the server cannot go on (its log cannot be written); it has stopped serving. */
  onFatal?: (error: Error) => void;
}

/** This server's place in its ensemble: its id and who votes. */
export interface Membership {
  myId: number;
  voters: number[];
  observers: number[];
  /** Peers to talk to (an ensemble), or none (standalone). */
  ensemble: boolean;
}

/**
 * Reads who we are: standalone servers are an ensemble of one voter (id 0,
 * or their myid); an ensemble member reads `myid` from dataDir, as ZooKeeper does.
 */
export function membershipOf(config: ServerConfig): Membership {
  if (!formsEnsemble(config.servers, config.standaloneEnabled)) return { myId: 0, voters: [0], observers: [], ensemble: false };
  const file = join(config.dataDir, 'myid');
  let text: string;
  try {
    text = readFileSync(file, 'utf8').trim();
  } catch {
    throw new ConfigError(`${file} is missing: each server of an ensemble needs its id (a server.N number) there`);
  }
  const myId = Number(text);
  if (!/^\d+$/.test(text) || !config.servers.some((s) => s.id === myId)) {
    throw new ConfigError(`${file} holds '${text}', which is not the id of any server.N line in ${config.source}`);
  }
  const voters = config.servers.filter((s) => s.role === 'participant').map((s) => s.id);
  const observers = config.servers.filter((s) => s.role === 'observer').map((s) => s.id);
  return { myId, voters, observers, ensemble: true };
}

export class ZkServer implements ServerView {
  readonly prep: RequestPreparer;
  readonly replication: QuorumDriver;
  readonly tracker: SessionTracker;
  readonly log: TxnLog;
  readonly snapshotter: Snapshotter;
  readonly stats = new ServerStats();
  readonly processor: RequestProcessor;
  readonly membership: Membership;
  private transport: QuorumTransport | null = null;
  readonly startedAt = Date.now();
  /** ZooTrace's default text trace mask, as gtmk reports it. */
  traceMask = 306n;

  private listener: Server | null = null;
  private reaperTimer: NodeJS.Timeout | null = null;
  /** Looking for a leader with readonlymode.enabled: read-only mode begins when this fires. */
  private readOnlyGraceTimer: NodeJS.Timeout | null = null;
  /** In read-only mode: expires its local sessions. */
  private readOnlyTickTimer: NodeJS.Timeout | null = null;
  private purgeTimer: NodeJS.Timeout | null = null;
  private readonly connectionsPerIp = new Map<string, number>();
  private readonly unlocks: (() => void)[] = [];
  private stopped = false;

  /** Recovers the database from the data directories and builds a server around it. */
  static open(config: ServerConfig, logger: Logger, options: ZkServerOptions = {}): ZkServer {
    const snapshotDir = storageDir(config.dataDir);
    const logDir = storageDir(config.dataLogDir);
    ensureDir(snapshotDir);
    ensureDir(logDir);
    const unlocks = [...new Set([snapshotDir, logDir])].map((dir) => lockDirectory(dir));
    if (existsSync(join(config.dataDir, 'version-2'))) {
      logger.warn(
        `${config.dataDir}/version-2 looks like Apache ZooKeeper data; zkts keeps its own format under ` +
          `${snapshotDir} and does not read it — convert it with \`zkts import\``,
      );
    }
    for (const file of removeIncompleteSnapshots(snapshotDir)) logger.info(`removed incomplete snapshot ${file}`);
    const membership = membershipOf(config);
    const started = performance.now();
    const { db, replayedTxns, tail, tailBase } = recover({
      snapshotDir,
      logDir,
      tree: treeOptionsOf(config),
      logger,
    });
    logger.info(
      `recovered ${db.tree.nodeCount} znodes and ${db.sessions.size} sessions at zxid 0x${db.lastZxid.toString(16)} ` +
        `(${replayedTxns} transactions replayed) in ${Math.round(performance.now() - started)} ms`,
    );
    const server = new ZkServer(config, logger, db, { ...options, membership, tail, tailBase });
    server.unlocks.push(...unlocks);
    return server;
  }

  private constructor(
    readonly config: ServerConfig,
    private readonly logger: Logger,
    readonly db: ZkDatabase,
    options: ZkServerOptions & { membership: Membership; tail: { zxid: number; txn: Uint8Array }[]; tailBase: number },
  ) {
    this.membership = options.membership;
    this.prep = new RequestPreparer(this.db, {
      extendedTypesEnabled: config.extendedTypesEnabled,
      skipACL: config.skipACL,
      reconfigEnabled: config.reconfigEnabled,
      enforceQuota: config.enforceQuota,
      providerAclSchemes: config.providerAclSchemes,
      quorumServers: this.membership.ensemble ? config.servers : undefined,
      standaloneEnabled: config.standaloneEnabled,
    });
    // The leader tracks sessions; when this server leads, every restored session gets a full timeout.
    this.tracker = new SessionTracker(config.tickTimeMs, monotonicNow());
    this.log = new TxnLog({
      dir: storageDir(config.dataLogDir),
      preAllocBytes: config.preAllocSizeKb * 1024,
      forceSync: config.forceSync,
      maxBatchSize: config.maxBatchSize,
      fsyncWarningMs: config.fsyncWarningThresholdMs,
      logger,
      onDurable: (zxid) => this.replication.enqueue({ type: 'logged', zxid }),
      onFatal: (error) => {
        void this.stop().then(() => (options.onFatal ?? rethrow)(error));
      },
    });
    this.snapshotter = new Snapshotter({
      dir: storageDir(config.dataDir),
      snapCount: config.snapCount,
      snapSizeLimitBytes: config.snapSizeLimitInKb * 1024,
      logger,
      rollLog: () => this.log.roll(),
    });
    const { myId, voters, observers } = this.membership;
    this.replication = new QuorumDriver({
      peer: { myId, voters, observers, commitLogCount: config.commitLogCount },
      tickMs: config.tickTimeMs,
      initLimit: config.initLimit || 10,
      syncLimit: config.syncLimit || 5,
      treeOptions: treeOptionsOf(config),
      db,
      prep: this.prep,
      tracker: this.tracker,
      log: this.log,
      snapshotDir: storageDir(config.dataDir),
      logDir: storageDir(config.dataLogDir),
      tail: options.tail,
      tailBase: options.tailBase,
      logger,
      monotonicNow,
      onApplied: (txn, bytes) => {
        this.processor.onCommit(txn);
        this.snapshotter.noteCommitted(this.db, bytes);
      },
      onServingChanged: (serving) => {
        this.processor.setServing(serving && this.servesClients());
        this.updateReadOnlyMode();
      },
      onRoleChanged: () => this.updateReadOnlyMode(),
      onFatal: (error) => {
        void this.stop().then(() => (options.onFatal ?? rethrow)(error));
      },
    });
    this.processor = new RequestProcessor({
      config,
      db: this.db,
      prep: this.prep,
      tracker: this.tracker,
      replication: this.replication,
      servesClients: () => this.servesClients(),
      stats: this.stats,
      logger,
      monotonicNow,
      fourLetterWord: (conn, word, argument) => this.answerFourLetterWord(conn, word, argument),
      serverId: myId,
    });
  }

  /** With leaderServes=no an ensemble's leader leaves clients to its followers, as in ZooKeeper. */
  private servesClients(): boolean {
    const { serving, isLeader } = this.replication;
    return serving && (this.config.leaderServes || !this.membership.ensemble || !isLeader);
  }

  /**
   * With readonlymode.enabled, a member of an ensemble that has looked for a leader for a grace
   * period (tickTime, at least 2 s, as in ZooKeeper) serves read-only clients until it finds one.
   * It leaves read-only mode as soon as it stops looking, before syncing with the new leader
   * changes its tree.
   */
  private updateReadOnlyMode(): void {
    if (!this.config.readOnlyModeEnabled || !this.membership.ensemble) return;
    const looking = !this.stopped && this.replication.currentRole === 'looking' && !this.replication.serving;
    if (!looking) {
      if (this.readOnlyGraceTimer !== null) clearTimeout(this.readOnlyGraceTimer);
      if (this.readOnlyTickTimer !== null) clearInterval(this.readOnlyTickTimer);
      this.readOnlyGraceTimer = this.readOnlyTickTimer = null;
      if (this.processor.readOnly) {
        this.logger.info('leaving read-only mode: closing the connections of read-only clients');
        this.processor.setReadOnly(false);
      }
      return;
    }
    if (this.processor.readOnly || this.readOnlyGraceTimer !== null) return;
    this.readOnlyGraceTimer = setTimeout(() => {
      this.readOnlyGraceTimer = null;
      if (this.stopped || this.replication.currentRole !== 'looking') return;
      this.logger.info('no quorum: serving read-only clients (readonlymode.enabled)');
      this.processor.setReadOnly(true);
      this.readOnlyTickTimer = setInterval(() => this.processor.expireReadOnlySessions(), this.config.tickTimeMs);
    }, Math.max(2000, this.config.tickTimeMs));
  }

  /** srvr's Mode: standalone, leader, follower or observer (or looking, between leaders; read-only, when serving so). */
  get mode(): string {
    if (!this.membership.ensemble) return 'standalone';
    if (this.processor.readOnly) return 'read-only';
    const { role } = this.replication.status();
    return role === 'leading' ? 'leader' : role === 'following' ? 'follower' : role === 'observing' ? 'observer' : 'looking';
  }

  /** The port clients connect to (useful when the config asked for an ephemeral one). */
  get clientPort(): number {
    const address = this.listener?.address();
    return typeof address === 'object' && address !== null ? address.port : this.config.clientPort;
  }

  async start(): Promise<void> {
    if (this.membership.ensemble) {
      const driver = this.replication;
      this.transport = new QuorumTransport({
        myId: this.membership.myId,
        servers: this.config.servers,
        listenOnAllIps: this.config.quorumListenOnAllIPs,
        connectTimeoutMs: this.config.cnxTimeoutMs,
        logger: this.logger,
        handlers: {
          onMessage: (from, message) => driver.enqueue({ type: 'message', from, message }),
          onConnected: (peer) => driver.enqueue({ type: 'connected', peer }),
          onDisconnected: (peer) => driver.enqueue({ type: 'disconnected', peer }),
        },
      });
      await this.transport.start();
    }
    this.replication.start(this.transport);
    this.updateReadOnlyMode();
    const listener = createServer({ noDelay: true }, (socket) => this.accept(socket));
    this.listener = listener;
    await new Promise<void>((resolve, reject) => {
      listener.once('error', reject);
      const backlog = this.config.clientPortListenBacklog > 0 ? this.config.clientPortListenBacklog : undefined;
      listener.listen({ port: this.config.clientPort, host: this.config.clientPortAddress, backlog }, () => {
        listener.off('error', reject);
        resolve();
      });
    });
    listener.on('error', (e) => this.logger.error(`client listener: ${e.message}`));
    this.reaperTimer = setInterval(() => this.reapContainers(), this.config.containerCheckIntervalMs);
    const purgeHours = this.config.autopurgePurgeIntervalHours;
    if (purgeHours > 0) this.purgeTimer = setInterval(() => this.purgeOldFiles(), purgeHours * 3_600_000);
    const role = this.membership.ensemble ? `server ${this.membership.myId} of ${this.config.servers.length}` : 'standalone server';
    this.logger.info(
      `zkts ${role} listening for clients on ${this.config.clientPortAddress}:${this.clientPort} ` +
        `(tickTime ${this.config.tickTimeMs} ms, data in ${this.config.dataDir})`,
    );
  }

  private purgeOldFiles(): void {
    if (this.snapshotter.inProgress) return;
    const { deletedSnapshots, deletedSegments } = purge(
      storageDir(this.config.dataDir),
      storageDir(this.config.dataLogDir),
      this.config.autopurgeSnapRetainCount,
    );
    for (const file of [...deletedSnapshots, ...deletedSegments]) this.logger.info(`purged ${file}`);
  }

  private accept(socket: Socket): void {
    if (this.stopped) {
      socket.destroy();
      return;
    }
    const ip = (socket.remoteAddress ?? '').replace(/^::ffff:(?=\d+\.)/, '');
    const count = this.connectionsPerIp.get(ip) ?? 0;
    const { maxClientCnxns, maxCnxns } = this.config;
    if (maxClientCnxns > 0 && count >= maxClientCnxns) {
      this.logger.warn(`too many connections from ${ip} - max is ${maxClientCnxns}`);
      socket.destroy();
      return;
    }
    if (maxCnxns > 0 && this.processor.connections.size >= maxCnxns) {
      this.logger.warn(`too many connections - max is ${maxCnxns}`);
      socket.destroy();
      return;
    }
    this.connectionsPerIp.set(ip, count + 1);
    socket.once('close', () => {
      const left = (this.connectionsPerIp.get(ip) ?? 1) - 1;
      if (left > 0) this.connectionsPerIp.set(ip, left);
      else this.connectionsPerIp.delete(ip);
    });
    this.processor.addConnection(new ClientConnection(socket, this.processor));
  }

  private answerFourLetterWord(conn: ClientConnection, word: string, argument: Buffer): boolean {
    if (!isFourLetterWord(word)) return false;
    this.logger.debug(`four-letter word ${word} from ${conn.remoteAddress}`);
    // Marked before answering, so that stat and cons show this connection as ZooKeeper does.
    conn.isFourLetterWord = true;
    conn.stats.packetsReceived++;
    this.stats.packetsReceived++;
    conn.sendAndClose(runFourLetterWord(word, this, argument));
    return true;
  }

  /** The leader deletes empty containers and expired TTL nodes, like any other write. */
  private reapContainers(): void {
    if (!this.replication.isLeader) return;
    const candidates = reapCandidates(this.db.tree, this.config.containerMaxNeverUsedIntervalMs, Date.now());
    const budget = Math.max(1, Math.floor((this.config.containerMaxPerMinute * this.config.containerCheckIntervalMs) / 60000));
    for (const path of candidates.slice(0, budget)) {
      this.logger.info(`attempting to delete candidate container: ${path}`);
      this.replication.proposeServerRequest(SERVER_CONTEXT, { type: OpCode.deleteContainer, req: { path } });
    }
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.reaperTimer !== null) clearInterval(this.reaperTimer);
    if (this.purgeTimer !== null) clearInterval(this.purgeTimer);
    this.updateReadOnlyMode();
    for (const conn of [...this.processor.connections]) conn.close();
    const listener = this.listener;
    if (listener !== null) await new Promise<void>((resolve) => listener.close(() => resolve()));
    this.replication.stop();
    await this.transport?.stop();
    await this.snapshotter.idle();
    await this.log.close();
    for (const unlock of this.unlocks) unlock();
    this.logger.info('zkts server stopped');
  }
}

function monotonicNow(): number {
  return performance.now();
}

function rethrow(error: Error): never {
  throw error;
}

function treeOptionsOf(config: ServerConfig): DataTreeOptions {
  return { extendedTypesEnabled: config.extendedTypesEnabled, digestEnabled: config.digestEnabled };
}
