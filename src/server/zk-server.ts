/**
 * ZkServer: the composition root of a server. It builds the database, the
 * preparer, the replicator and the request processor, listens for clients,
 * and runs the timers (session expiry, container reaper). A standalone
 * server is an ensemble of one: it uses the same pipeline with a replicator
 * that decides alone.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { OpCode } from '../protocol/constants.js';
import { ZkDatabase } from '../tree/database.js';
import type { ServerConfig } from './config.js';
import { ClientConnection } from './connection.js';
import { reapCandidates } from './container-reaper.js';
import { isFourLetterWord, runFourLetterWord, type ServerView } from './four-letter-words.js';
import type { Logger } from './logger.js';
import { RequestPreparer, SERVER_CONTEXT } from './prep.js';
import { LocalReplicator, type Replicator } from './replicator.js';
import { RequestProcessor } from './request-processor.js';
import { SessionTracker } from './session-tracker.js';
import { ServerStats } from './stats.js';

export class ZkServer implements ServerView {
  readonly db: ZkDatabase;
  readonly prep: RequestPreparer;
  readonly replicator: Replicator;
  readonly tracker: SessionTracker;
  readonly stats = new ServerStats();
  readonly processor: RequestProcessor;
  readonly mode = 'standalone';
  readonly startedAt = Date.now();
  traceMask = 0n;

  private listener: Server | null = null;
  private expiryTimer: NodeJS.Timeout | null = null;
  private reaperTimer: NodeJS.Timeout | null = null;
  private readonly connectionsPerIp = new Map<string, number>();
  private stopped = false;

  constructor(
    readonly config: ServerConfig,
    private readonly logger: Logger,
  ) {
    this.db = new ZkDatabase({ extendedTypesEnabled: config.extendedTypesEnabled });
    this.prep = new RequestPreparer(this.db, {
      extendedTypesEnabled: config.extendedTypesEnabled,
      skipACL: config.skipACL,
      reconfigEnabled: config.reconfigEnabled,
    });
    this.tracker = new SessionTracker(config.tickTimeMs, monotonicNow());
    this.replicator = new LocalReplicator((txn) => this.processor.onCommit(txn));
    this.processor = new RequestProcessor({
      config,
      db: this.db,
      prep: this.prep,
      replicator: this.replicator,
      tracker: this.tracker,
      stats: this.stats,
      logger,
      monotonicNow,
      fourLetterWord: (conn, word) => this.answerFourLetterWord(conn, word),
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
    this.logger.info(
      `zkts ${this.mode} server serving clients on ${this.config.clientPortAddress}:${this.clientPort} ` +
        `(tickTime ${this.config.tickTimeMs} ms, data in memory)`,
    );
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

  private answerFourLetterWord(conn: ClientConnection, word: string): boolean {
    if (!isFourLetterWord(word)) return false;
    this.logger.debug(`four-letter word ${word} from ${conn.remoteAddress}`);
    conn.socket.end(runFourLetterWord(word, this));
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
    this.replicator.close();
    for (const conn of [...this.processor.connections]) conn.close();
    const listener = this.listener;
    if (listener !== null) await new Promise<void>((resolve) => listener.close(() => resolve()));
    this.logger.info('zkts server stopped');
  }
}

function monotonicNow(): number {
  return performance.now();
}
