/**
 * ZkServer: the composition root of a server. It recovers the database from
 * disk, builds the preparer, the replicator and the request processor,
 * listens for clients, and runs the timers (session expiry, container
 * reaper, purge). A standalone server is an ensemble of one: it uses the same
 * pipeline with a replicator that decides alone once a write is durable.
 */
import { existsSync } from 'node:fs';
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
import type { ServerConfig } from './config.js';
import { ClientConnection } from './connection.js';
import { reapCandidates } from './container-reaper.js';
import { isFourLetterWord, runFourLetterWord, type ServerView } from './four-letter-words.js';
import type { Logger } from './logger.js';
import { RequestPreparer, SERVER_CONTEXT } from './prep.js';
import { SoloReplicator } from './replicator.js';
import { RequestProcessor } from './request-processor.js';
import { SessionTracker } from './session-tracker.js';
import { ServerStats } from './stats.js';

export interface ZkServerOptions {
  /** Called when the server cannot go on (its log cannot be written); it has stopped serving. */
  onFatal?: (error: Error) => void;
}

export class ZkServer implements ServerView {
  readonly prep: RequestPreparer;
  readonly replicator: SoloReplicator;
  readonly tracker: SessionTracker;
  readonly log: TxnLog;
  readonly snapshotter: Snapshotter;
  readonly stats = new ServerStats();
  readonly processor: RequestProcessor;
  readonly mode = 'standalone';
  readonly startedAt = Date.now();
  /** ZooTrace's default text trace mask, as gtmk reports it. */
  traceMask = 306n;

  private listener: Server | null = null;
  private expiryTimer: NodeJS.Timeout | null = null;
  private reaperTimer: NodeJS.Timeout | null = null;
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
    const started = performance.now();
    const { db, replayedTxns } = recover({
      snapshotDir,
      logDir,
      extendedTypesEnabled: config.extendedTypesEnabled,
      logger,
    });
    logger.info(
      `recovered ${db.tree.nodeCount} znodes and ${db.sessions.size} sessions at zxid 0x${db.lastZxid.toString(16)} ` +
        `(${replayedTxns} transactions replayed) in ${Math.round(performance.now() - started)} ms`,
    );
    const server = new ZkServer(config, logger, db, options);
    server.unlocks.push(...unlocks);
    return server;
  }

  constructor(
    readonly config: ServerConfig,
    private readonly logger: Logger,
    readonly db: ZkDatabase,
    options: ZkServerOptions = {},
  ) {
    this.prep = new RequestPreparer(this.db, {
      extendedTypesEnabled: config.extendedTypesEnabled,
      skipACL: config.skipACL,
      reconfigEnabled: config.reconfigEnabled,
    });
    const now = monotonicNow();
    this.tracker = new SessionTracker(config.tickTimeMs, now);
    // Restored sessions get a full timeout for their clients to come back.
    for (const session of db.sessions.values()) this.tracker.add(session.id, session.timeoutMs, now);
    this.log = new TxnLog({
      dir: storageDir(config.dataLogDir),
      preAllocBytes: config.preAllocSizeKb * 1024,
      forceSync: config.forceSync,
      maxBatchSize: config.maxBatchSize,
      fsyncWarningMs: config.fsyncWarningThresholdMs,
      logger,
      onDurable: (zxid) => this.replicator.onDurable(zxid),
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
    this.replicator = new SoloReplicator(this.log, (txn, bytes) => {
      this.processor.onCommit(txn);
      this.snapshotter.noteCommitted(this.db, bytes);
    });
    this.processor = new RequestProcessor({
      config,
      db: this.db,
      prep: this.prep,
      replicator: this.replicator,
      tracker: this.tracker,
      stats: this.stats,
      logger,
      monotonicNow,
      fourLetterWord: (conn, word, argument) => this.answerFourLetterWord(conn, word, argument),
      serverId: 0,
    });
  }

  /** The port clients connect to (useful when the config asked for an ephemeral one). */
  get clientPort(): number {
    const address = this.listener?.address();
    return typeof address === 'object' && address !== null ? address.port : this.config.clientPort;
  }

  async start(): Promise<void> {
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
    this.scheduleExpiry();
    this.reaperTimer = setInterval(() => this.reapContainers(), this.config.containerCheckIntervalMs);
    const purgeHours = this.config.autopurgePurgeIntervalHours;
    if (purgeHours > 0) this.purgeTimer = setInterval(() => this.purgeOldFiles(), purgeHours * 3_600_000);
    this.logger.info(
      `zkts ${this.mode} server serving clients on ${this.config.clientPortAddress}:${this.clientPort} ` +
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
    conn.socket.end(runFourLetterWord(word, this, argument));
    return true;
  }

  /** Expires sessions at each tick boundary where a bucket falls due. */
  private scheduleExpiry(): void {
    if (this.stopped) return;
    const wait = this.tracker.msUntilNextExpiry(monotonicNow());
    this.expiryTimer = setTimeout(() => {
      this.processor.expireSessions();
      this.scheduleExpiry();
    }, wait + 1);
  }

  private reapContainers(): void {
    const candidates = reapCandidates(this.db.tree, this.config.containerMaxNeverUsedIntervalMs, Date.now());
    const budget = Math.max(1, Math.floor((this.config.containerMaxPerMinute * this.config.containerCheckIntervalMs) / 60000));
    for (const path of candidates.slice(0, budget)) {
      this.logger.info(`attempting to delete candidate container: ${path}`);
      const txn = this.prep.prepare(SERVER_CONTEXT, { type: OpCode.deleteContainer, req: { path } }, Date.now());
      this.replicator.propose(txn);
    }
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.expiryTimer !== null) clearTimeout(this.expiryTimer);
    if (this.reaperTimer !== null) clearInterval(this.reaperTimer);
    if (this.purgeTimer !== null) clearInterval(this.purgeTimer);
    for (const conn of [...this.processor.connections]) conn.close();
    const listener = this.listener;
    if (listener !== null) await new Promise<void>((resolve) => listener.close(() => resolve()));
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
