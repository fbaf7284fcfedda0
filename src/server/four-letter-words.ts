/**
 * Four-letter words: short text commands sent instead of a ConnectRequest
 * (`echo ruok | nc host 2181`). Output follows Apache ZooKeeper 3.8's text
 * formats, because monitoring scripts parse them. Only words in
 * 4lw.commands.whitelist run; the others answer with ZooKeeper's refusal.
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { cpus, hostname, platform, release, arch, userInfo } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { FOUR_LETTER_WORDS, describeConfig, formatConf, type ServerConfig } from './config.js';
import type { ClientConnection } from './connection.js';
import type { ZkDatabase } from '../tree/database.js';
import type { Replication } from './replication.js';
import type { RequestProcessor } from './request-processor.js';
import type { ServerStats } from './stats.js';
import type { SessionTracker } from './session-tracker.js';

const KNOWN = new Set<string>(FOUR_LETTER_WORDS);
/** Words that report on the served state, and so say so when a server is not serving (between leaders, syncing). */
const NEED_SERVING = new Set(['srvr', 'stat', 'cons', 'crst', 'srst', 'dump', 'wchs', 'wchc', 'wchp', 'mntr', 'hash']);
const NOT_SERVING = 'This ZooKeeper instance is not currently serving requests';

/** The version string zkts reports where ZooKeeper reports its own. */
export const ZK_COMPATIBLE_VERSION = '3.8.0';
export const ZKTS_VERSION = '0.1.0';
export const FULL_VERSION = `${ZK_COMPATIBLE_VERSION}-zkts-${ZKTS_VERSION}, built on 2026-11-28 00:00 UTC`;

/** What the four-letter words report on. */
export interface ServerView {
  readonly config: ServerConfig;
  readonly db: ZkDatabase;
  readonly stats: ServerStats;
  readonly processor: RequestProcessor;
  readonly tracker: SessionTracker;
  readonly replication: Replication;
  /** This server's id in its ensemble (its myid); 0 when standalone. */
  readonly membership: { readonly myId: number };
  /** 'standalone', 'leader', 'follower' or 'observer'. */
  readonly mode: string;
  readonly startedAt: number;
  traceMask: bigint;
}

export function isFourLetterWord(word: string): boolean {
  return KNOWN.has(word);
}

/** The full response to `word`, or the whitelist refusal. */
export function runFourLetterWord(word: string, server: ServerView, argument?: Buffer): string {
  if (!server.config.fourLetterWords.has(word)) return `${word} is not executed because it is not in the whitelist.\n`;
  if (NEED_SERVING.has(word) && !server.replication.serving && !server.processor.readOnly) return NOT_SERVING;
  switch (word) {
    case 'ruok':
      return 'imok';
    case 'isro':
      // ZooKeeper says `null` when no server runs (looking for a leader, not read-only).
      return server.processor.readOnly ? 'ro' : server.replication.serving ? 'rw' : 'null';
    case 'srvr':
      return serverSummary(server, false);
    case 'stat':
      return serverSummary(server, true);
    case 'srst':
      server.stats.reset();
      return 'Server stats reset.\n';
    case 'crst':
      for (const conn of server.processor.connections) resetConnectionStats(conn);
      return 'Connection stats reset.\n';
    case 'cons':
      return [...server.processor.connections].map((c) => `${connectionInfo(c, false)}\n`).join('') + '\n';
    case 'conf':
      return formatConf(
        describeConfig(server.config, {
          serverId: server.membership.myId,
          dataDirSize: directorySize(server.config.dataDir),
          dataLogSize: directorySize(server.config.dataLogDir),
        }),
      );
    case 'envi':
      return environment(server);
    case 'dirs':
      return `datadir_size: ${directorySize(server.config.dataDir)}\nlogdir_size: ${directorySize(server.config.dataLogDir)}\n`;
    case 'wchs':
      return watchSummary(server) + '\n';
    case 'wchc':
      return watchesByConnection(server) + '\n';
    case 'wchp':
      return watchesByPath(server) + '\n';
    case 'dump':
      return dump(server);
    case 'mntr':
      return monitor(server);
    case 'gtmk':
      return `${server.traceMask}`;
    case 'stmk':
      // The new mask is the 8 bytes after the word; ZooKeeper closes without output when they are missing.
      if (argument === undefined || argument.length < 8) return '';
      server.traceMask = argument.readBigInt64BE(0);
      return `${server.traceMask}`;
    case 'hash':
      // The digest log: the tree's digest at every 128th zxid, zxid in hex, oldest first.
      return server.db.tree.digestLog.map(({ zxid, digest }) => `${zxid.toString(16)}: ${digest}\n`).join('');
    default:
      return '';
  }
}

function serverSummary(server: ServerView, withClients: boolean): string {
  const { stats, processor, db } = server;
  let out = `Zookeeper version: ${FULL_VERSION}\n`;
  if (withClients) {
    out += 'Clients:\n';
    for (const conn of processor.connections) out += `${connectionInfo(conn, true)}\n`;
    out += '\n';
  }
  out += `Latency min/avg/max: ${stats.minLatencyMs}/${formatDouble(stats.avgLatencyMs)}/${stats.maxLatencyMs}\n`;
  out += `Received: ${stats.packetsReceived}\n`;
  out += `Sent: ${stats.packetsSent}\n`;
  out += `Connections: ${processor.connections.size}\n`;
  out += `Outstanding: ${processor.outstandingRequests}\n`;
  out += `Zxid: 0x${db.lastZxid.toString(16)}\n`;
  out += `Mode: ${server.mode}\n`;
  out += `Node count: ${reportedNodeCount(server)}\n`;
  return out;
}

/** Java prints doubles with at least one decimal digit ("0.0", "1.25"). */
function formatDouble(n: number): string {
  const rounded = Math.round(n * 10000) / 10000;
  return Number.isInteger(rounded) ? rounded.toFixed(1) : String(rounded);
}

/**
 * The node count as ZooKeeper reports it: its node map also holds the root
 * under "", so srvr and mntr count one more node than the tree has.
 */
function reportedNodeCount(server: ServerView): number {
  return server.db.tree.nodeCount + 1;
}

function connectionInfo(conn: ClientConnection, brief: boolean): string {
  const s = conn.stats;
  // The selector interest: 0 for the connection answering this four-letter word, OP_READ (1) for the others.
  const interest = conn.isFourLetterWord ? 0 : 1;
  let out = ` /${conn.remoteAddress}:${conn.remotePort}[${interest}](queued=${conn.outstandingCount},recved=${s.packetsReceived},sent=${s.packetsSent}`;
  if (!brief && conn.sessionId !== 0n) {
    // A long division in ZooKeeper: the average is whole milliseconds.
    const avg = s.responses === 0 ? 0 : Math.floor(s.totalLatencyMs / s.responses);
    out += `,sid=0x${conn.sessionId.toString(16)},lop=${s.lastOp},est=${conn.establishedAt},to=${conn.sessionTimeoutMs}`;
    if (s.lastCxid >= 0) out += `,lcxid=0x${s.lastCxid.toString(16)}`;
    out += `,lzxid=0x${s.lastZxid < 0 ? 'ffffffffffffffff' : s.lastZxid.toString(16)},lresp=${s.lastResponseAt}`;
    out += `,llat=${s.lastLatencyMs},minlat=${s.responses === 0 ? 0 : s.minLatencyMs},avglat=${avg},maxlat=${s.maxLatencyMs}`;
  }
  return out + ')';
}

function resetConnectionStats(conn: ClientConnection): void {
  const s = conn.stats;
  s.packetsReceived = 0;
  s.packetsSent = 0;
  s.lastCxid = -1;
  s.lastZxid = -1;
  s.lastOp = 'NA';
  s.lastLatencyMs = 0;
  s.minLatencyMs = Number.MAX_SAFE_INTEGER;
  s.maxLatencyMs = 0;
  s.totalLatencyMs = 0;
  s.responses = 0;
  s.lastResponseAt = 0;
}

function environment(server: ServerView): string {
  const user = userInfo();
  const entries: [string, string][] = [
    ['zookeeper.version', FULL_VERSION],
    ['host.name', hostname()],
    ['node.version', process.version],
    ['os.name', platform()],
    ['os.arch', arch()],
    ['os.version', release()],
    ['user.name', user.username],
    ['user.home', user.homedir],
    ['user.dir', process.cwd()],
    ['os.memory.free', `${Math.round(process.memoryUsage().heapTotal / 1048576)}MB`],
    ['os.memory.max', `${Math.round(process.constrainedMemory?.() ?? 0) / 1048576}MB`],
    ['os.memory.total', `${Math.round(process.memoryUsage().rss / 1048576)}MB`],
    ['zookeeper.data.dir', server.config.dataDir],
    ['cpus', String(cpus().length)],
  ];
  return 'Environment:\n' + entries.map(([k, v]) => `${k}=${v}\n`).join('');
}

function directorySize(dir: string): number {
  let total = 0;
  try {
    for (const name of readdirSync(dir)) {
      const st = statSync(join(dir, name));
      total += st.isDirectory() ? directorySize(join(dir, name)) : st.size;
    }
  } catch {
    // A missing data dir has size 0, as ZooKeeper reports before anything is written.
  }
  return total;
}

/** wchs/wchc/wchp report the data watches, as ZooKeeper 3.8's DataTree dumps do. */
function watchSummary(server: ServerView): string {
  const table = server.db.tree.dataWatches;
  let connections = 0;
  for (const watcher of table.watchers()) if (watcher !== undefined) connections++;
  return `${connections} connections watching ${table.pathCount} paths\nTotal watches:${table.watchCount}`;
}

function watchesByConnection(server: ServerView): string {
  const table = server.db.tree.dataWatches;
  let out = '';
  for (const watcher of table.watchers()) {
    out += `0x${(watcher as ClientConnection).sessionId.toString(16)}\n`;
    for (const path of table.pathsOf(watcher)) out += `\t${path}\n`;
  }
  return out;
}

function watchesByPath(server: ServerView): string {
  const table = server.db.tree.dataWatches;
  let out = '';
  for (const path of table.watchedPaths()) {
    out += `${path}\n`;
    for (const watcher of table.watchersOf(path)) out += `\t0x${(watcher as ClientConnection).sessionId.toString(16)}\n`;
  }
  return out;
}

/**
 * dump: the session expiry queue, the ephemerals, and the connections, each
 * queue as ZooKeeper's ExpiryQueue.dump prints it: "Sets (buckets)/(entries):",
 * then per bucket "<n> expire at <date>:" and one tab-indented entry a line.
 */
function dump(server: ServerView): string {
  const { db, processor } = server;
  // Deadlines are on the monotonic clock; dates are printed in wall-clock time.
  const toWall = (deadline: number): number => Date.now() + (deadline - performance.now());
  let out = 'SessionTracker dump:\n';
  out += 'Session ' + expiryQueueDump(server.tracker.expiryBuckets().map(({ deadline, sessionIds }) => ({
    wallTime: toWall(deadline),
    entries: sessionIds.map((id) => `0x${id.toString(16)}`),
  })));
  out += 'ephemeral nodes dump:\n';
  out += `Sessions with Ephemerals (${db.tree.ephemerals.size}):\n`;
  for (const [sessionId, paths] of db.tree.ephemerals) {
    out += `0x${sessionId.toString(16)}:\n`;
    for (const path of paths) out += `\t${path}\n`;
  }
  out += 'Connections dump:\n';
  // zkts keeps no connection expiry queue; a connection is shown expiring with its session,
  // or, without one, when ZooKeeper's sessionless-connection timeout would close it.
  const byTime = new Map<number, string[]>();
  for (const conn of processor.connections) {
    const deadline = conn.sessionId === 0n ? undefined : server.tracker.deadlineOf(conn.sessionId);
    const wallTime = deadline === undefined ? roundUpTo(conn.establishedAt + SESSIONLESS_CONNECTION_TIMEOUT_MS, SESSIONLESS_CONNECTION_TIMEOUT_MS) : toWall(deadline);
    const entry = `ip: /${conn.remoteAddress}:${conn.remotePort} sessionId: 0x${conn.sessionId.toString(16)}`;
    byTime.set(wallTime, [...(byTime.get(wallTime) ?? []), entry]);
  }
  out += 'Connections ' + expiryQueueDump([...byTime].map(([wallTime, entries]) => ({ wallTime, entries })));
  return out;
}

/** ZooKeeper closes a connection that has not established a session within 10 s. */
const SESSIONLESS_CONNECTION_TIMEOUT_MS = 10_000;

function roundUpTo(time: number, interval: number): number {
  return (Math.floor(time / interval) + 1) * interval;
}

function expiryQueueDump(buckets: { wallTime: number; entries: string[] }[]): string {
  const sorted = [...buckets].sort((a, b) => a.wallTime - b.wallTime);
  const total = sorted.reduce((n, b) => n + b.entries.length, 0);
  let out = `Sets (${sorted.length})/(${total}):\n`;
  for (const { wallTime, entries } of sorted) {
    out += `${entries.length} expire at ${javaDateString(wallTime)}:\n`;
    for (const entry of entries) out += `\t${entry}\n`;
  }
  return out;
}

const DAY_NAMES = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTH_NAMES = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** java.util.Date.toString() of a UTC JVM: "Sat Nov 28 07:16:19 UTC 2026". */
function javaDateString(ms: number): string {
  const d = new Date(ms);
  const two = (n: number): string => String(n).padStart(2, '0');
  const time = `${two(d.getUTCHours())}:${two(d.getUTCMinutes())}:${two(d.getUTCSeconds())}`;
  return `${DAY_NAMES[d.getUTCDay()]} ${MONTH_NAMES[d.getUTCMonth()]} ${two(d.getUTCDate())} ${time} UTC ${d.getUTCFullYear()}`;
}

/** Open and maximum file descriptors, which monitoring scripts read from mntr (Linux /proc). */
function fileDescriptorCounts(): [string, number][] {
  try {
    const open = readdirSync('/proc/self/fd').length;
    const limits = readFileSync('/proc/self/limits', 'utf8');
    const max = /Max open files\s+(\d+)/.exec(limits)?.[1];
    return [
      ['open_file_descriptor_count', open],
      ['max_file_descriptor_count', max === undefined ? -1 : Number(max)],
    ];
  } catch {
    return [];
  }
}

/**
 * The ensemble's keys, only in an ensemble as in ZooKeeper: the peer state
 * ("following - broadcast"), and on the leader its learners. zk_current_epoch is
 * zkts's own: the epoch this server follows or leads (0 while it has none).
 */
function quorumValues(server: ServerView): [string, string | number][] {
  if (server.mode === 'standalone') return [];
  const status = server.replication.status();
  const phase = status.serving ? 'broadcast' : 'synchronization';
  const values: [string, string | number][] = [
    ['peer_state', status.role === 'looking' ? 'looking' : `${status.role} - ${phase}`],
    // 0 until this server has an epoch (looking, or a learner still being told it).
    ['current_epoch', status.role === 'looking' ? 0 : Math.max(0, status.epoch)],
  ];
  if (status.role !== 'leading') return values;
  const voters = status.learners.filter((l) => !l.observer);
  const observers = status.learners.filter((l) => l.observer);
  return [
    ...values,
    ['learners', status.learners.length],
    ['synced_followers', voters.filter((l) => l.synced).length],
    ['synced_non_voting_followers', 0],
    ['synced_observers', observers.filter((l) => l.synced).length],
    ['followers', voters.length],
  ];
}

function monitor(server: ServerView): string {
  const { stats, processor, db } = server;
  const tree = db.tree;
  let ephemeralsCount = 0;
  for (const paths of tree.ephemerals.values()) ephemeralsCount += paths.size;
  const values: [string, string | number][] = [
    ['version', FULL_VERSION],
    ['server_state', server.mode],
    ['avg_latency', formatDouble(stats.avgLatencyMs)],
    ['max_latency', stats.maxLatencyMs],
    ['min_latency', stats.minLatencyMs],
    ['packets_received', stats.packetsReceived],
    ['packets_sent', stats.packetsSent],
    ['num_alive_connections', processor.connections.size],
    ['outstanding_requests', processor.outstandingRequests],
    ['znode_count', reportedNodeCount(server)],
    ['watch_count', tree.dataWatches.watchCount + tree.childWatches.watchCount],
    ['ephemerals_count', ephemeralsCount],
    ['approximate_data_size', tree.approximateDataSize],
    ['global_sessions', db.sessions.size],
    ['local_sessions', processor.readOnlySessionCount],
    ['uptime', Date.now() - server.startedAt],
    ['last_processed_zxid', db.lastZxid],
    ...fileDescriptorCounts(),
    ...quorumValues(server),
  ];
  return values.map(([k, v]) => `zk_${k}\t${v}\n`).join('');
}
