/**
 * Four-letter words: short text commands sent instead of a ConnectRequest
 * (`echo ruok | nc host 2181`). Output follows Apache ZooKeeper 3.8's text
 * formats, because monitoring scripts parse them. Only words in
 * 4lw.commands.whitelist run; the others answer with ZooKeeper's refusal.
 */
import { readdirSync, statSync } from 'node:fs';
import { cpus, hostname, platform, release, arch, userInfo } from 'node:os';
import { join } from 'node:path';
import { FOUR_LETTER_WORDS, describeConfig, formatConf, type ServerConfig } from './config.js';
import type { ClientConnection } from './connection.js';
import type { ZkDatabase } from '../tree/database.js';
import type { RequestProcessor } from './request-processor.js';
import type { ServerStats } from './stats.js';
import type { SessionTracker } from './session-tracker.js';

const KNOWN = new Set<string>(FOUR_LETTER_WORDS);

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
  /** 'standalone', 'leader', 'follower' or 'observer'. */
  readonly mode: string;
  readonly startedAt: number;
  traceMask: bigint;
}

export function isFourLetterWord(word: string): boolean {
  return KNOWN.has(word);
}

/** The full response to `word`, or the whitelist refusal. */
export function runFourLetterWord(word: string, server: ServerView): string {
  if (!server.config.fourLetterWords.has(word)) return `${word} is not executed because it is not in the whitelist.\n`;
  switch (word) {
    case 'ruok':
      return 'imok';
    case 'isro':
      return 'rw';
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
          serverId: 0,
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
      return `${server.traceMask}\n`;
    case 'stmk':
      return `${server.traceMask}\n`;
    case 'hash':
      return '';
    default:
      return '';
  }
}

function serverSummary(server: ServerView, withClients: boolean): string {
  const { stats, processor, db } = server;
  let out = `Zookeeper version: ${FULL_VERSION}\n`;
  if (withClients) {
    out += 'Clients:\n';
    for (const conn of processor.connections) out += `${connectionInfo(conn, true)}\n\n`;
    out += '\n';
  }
  out += `Latency min/avg/max: ${stats.minLatencyMs}/${formatDouble(stats.avgLatencyMs)}/${stats.maxLatencyMs}\n`;
  out += `Received: ${stats.packetsReceived}\n`;
  out += `Sent: ${stats.packetsSent}\n`;
  out += `Connections: ${processor.connections.size}\n`;
  out += `Outstanding: ${processor.outstandingRequests}\n`;
  out += `Zxid: 0x${db.lastZxid.toString(16)}\n`;
  out += `Mode: ${server.mode}\n`;
  out += `Node count: ${db.tree.nodeCount}\n`;
  return out;
}

/** Java prints doubles with at least one decimal digit ("0.0", "1.25"). */
function formatDouble(n: number): string {
  const rounded = Math.round(n * 10000) / 10000;
  return Number.isInteger(rounded) ? rounded.toFixed(1) : String(rounded);
}

function connectionInfo(conn: ClientConnection, brief: boolean): string {
  const s = conn.stats;
  let out = ` /${conn.remoteAddress}:${conn.remotePort}[1](queued=${conn.outstandingCount},recved=${s.packetsReceived},sent=${s.packetsSent}`;
  if (!brief && conn.sessionId !== 0n) {
    const avg = s.responses === 0 ? 0 : s.totalLatencyMs / s.responses;
    out += `,sid=0x${conn.sessionId.toString(16)},lop=${s.lastOp},est=${conn.establishedAt},to=${conn.sessionTimeoutMs}`;
    if (s.lastCxid >= 0) out += `,lcxid=0x${s.lastCxid.toString(16)}`;
    out += `,lzxid=0x${s.lastZxid < 0 ? 'ffffffffffffffff' : s.lastZxid.toString(16)},lresp=${s.lastResponseAt}`;
    out += `,llat=${s.lastLatencyMs},minlat=${s.responses === 0 ? 0 : s.minLatencyMs},avglat=${formatDouble(avg)},maxlat=${s.maxLatencyMs}`;
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

function dump(server: ServerView): string {
  const { db, processor } = server;
  let out = 'SessionTracker dump:\n';
  out += `Session Sets (${db.sessions.size})/(${server.tracker.size}):\n`;
  for (const session of db.sessions.values()) out += `0x${session.id.toString(16)}\n`;
  out += 'ephemeral nodes dump:\n';
  out += `Sessions with Ephemerals (${db.tree.ephemerals.size}):\n`;
  for (const [sessionId, paths] of db.tree.ephemerals) {
    out += `0x${sessionId.toString(16)}:\n`;
    for (const path of paths) out += `\t${path}\n`;
  }
  out += 'Connections dump:\n';
  out += `Connections Sets (${processor.connections.size})\n`;
  for (const conn of processor.connections) out += `0x${conn.sessionId.toString(16)}\n`;
  return out;
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
    ['znode_count', tree.nodeCount],
    ['watch_count', tree.dataWatches.watchCount + tree.childWatches.watchCount],
    ['ephemerals_count', ephemeralsCount],
    ['approximate_data_size', tree.approximateDataSize],
    ['global_sessions', db.sessions.size],
    ['local_sessions', 0],
    ['uptime', Date.now() - server.startedAt],
    ['last_processed_zxid', db.lastZxid],
  ];
  return values.map(([k, v]) => `zk_${k}\t${v}\n`).join('');
}
