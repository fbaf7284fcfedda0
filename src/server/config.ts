/**
 * zoo.cfg: a Java .properties reader, the table of every key zkts recognises (by its zoo.cfg name
 * and by Apache ZooKeeper's system-property name), and the validated ServerConfig a server runs
 * with. Apache ZooKeeper 3.8 (QuorumPeerConfig.parseProperties and the system properties its
 * classes read) is the reference for names, defaults and checks.
 */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

/** A configuration the server must not start with; the message names the file, line and key. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

export interface QuorumServerSpec {
  id: number;
  host: string;
  quorumPort: number;
  electionPort: number;
  role: 'participant' | 'observer';
  clientHost?: string;
  clientPort?: number;
}

const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface ServerConfig {
  source: string;
  tickTimeMs: number;
  dataDir: string;
  dataLogDir: string;
  /** 0 only when the file sets secureClientPort alone: no plaintext listener, as in ZooKeeper. */
  clientPort: number;
  clientPortAddress: string;
  secureClientPort: number | undefined;
  /** -1 = the operating system's default backlog. */
  clientPortListenBacklog: number;
  maxClientCnxns: number;
  maxCnxns: number;
  minSessionTimeoutMs: number;
  maxSessionTimeoutMs: number;
  globalOutstandingLimit: number;
  fourLetterWords: ReadonlySet<string>;
  skipACL: boolean;
  juteMaxBuffer: number;
  extendedTypesEnabled: boolean;
  superDigest: string | undefined;
  /** The JAAS login configuration (`java.security.auth.login.config`): SASL users for clients. */
  jaasConfigFile: string | undefined;
  /** The section of the JAAS file for this server (`zookeeper.sasl.serverconfig`). */
  saslServerSection: string;
  /**
   * ACL schemes of the configured authentication providers (authProvider.N) beyond the built-in
   * world, digest and ip: `sasl` when SASLAuthenticationProvider is one of them.
   */
  providerAclSchemes: ReadonlySet<string>;
  enforceQuota: boolean;
  containerCheckIntervalMs: number;
  containerMaxPerMinute: number;
  containerMaxNeverUsedIntervalMs: number;
  snapCount: number;
  snapSizeLimitInKb: number;
  preAllocSizeKb: number;
  forceSync: boolean;
  maxBatchSize: number;
  flushDelayMs: number;
  fsyncWarningThresholdMs: number;
  commitLogCount: number;
  autopurgeSnapRetainCount: number;
  autopurgePurgeIntervalHours: number;
  /** 0 = not set (allowed only when the servers do not form an ensemble). */
  initLimit: number;
  syncLimit: number;
  servers: QuorumServerSpec[];
  peerType: 'participant' | 'observer';
  leaderServes: boolean;
  quorumListenOnAllIPs: boolean;
  standaloneEnabled: boolean;
  reconfigEnabled: boolean;
  electionAlg: number;
  cnxTimeoutMs: number;
  localSessionsEnabled: boolean;
  localSessionsUpgradingEnabled: boolean;
  readOnlyModeEnabled: boolean;
  digestEnabled: boolean;
  admin: {
    enableServer: boolean;
    serverAddress: string;
    serverPort: number;
    commandURL: string;
    idleTimeoutMs: number;
  };
  ssl: ReadonlyMap<string, string>;
  logLevel: LogLevel;
  logFormat: 'text' | 'json';
  extraProperties: ReadonlyMap<string, string>;
}

/** Every four-letter word Apache ZooKeeper knows; `4lw.commands.whitelist=*` enables them all. */
export const FOUR_LETTER_WORDS: readonly string[] = [
  'conf', 'cons', 'crst', 'dirs', 'dump', 'envi', 'gtmk', 'ruok', 'stmk',
  'srst', 'srvr', 'stat', 'wchc', 'wchp', 'wchs', 'mntr', 'isro', 'hash',
];

const EMBEDDED_SOURCE = '<embedded defaults>';

/** `zkts server` without a file: a private, local-only server (the issue asks for 127.0.0.1:2181). */
const EMBEDDED_DEFAULTS = [
  'tickTime=2000',
  'clientPort=2181',
  'clientPortAddress=127.0.0.1',
  'admin.serverAddress=127.0.0.1',
  'dataDir=zkts-data',
].join('\n');

type Environment = Readonly<Record<string, string | undefined>>;

export function defaultConfig(cwd: string = process.cwd(), env: Environment = process.env): ServerConfig {
  return parseConfig(EMBEDDED_DEFAULTS, EMBEDDED_SOURCE, cwd, env).config;
}

export function loadConfig(path: string | undefined): { config: ServerConfig; warnings: string[] } {
  if (path === undefined) return { config: defaultConfig(), warnings: [] };
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new ConfigError(`${path}: cannot read the configuration file: ${(error as Error).message}`);
  }
  return parseConfig(text, path);
}

export function parseConfig(
  text: string,
  source: string,
  cwd: string = process.cwd(),
  env: Environment = process.env,
): { config: ServerConfig; warnings: string[] } {
  const warnings: string[] = [];
  const file = sortEntries(readProperties(text, source), source, warnings);
  const values = resolveSettings(file.settings, env, warnings);
  const servers = parseServers(file.servers, warnings);
  checkEnsemble(servers, values, file.settings);
  const config = assemble(values, file, servers, { source, cwd, warnings });
  return { config, warnings };
}

/** Most settings pass through unchanged; the rest are derived from several keys. */
function assemble(
  values: SettingValues,
  file: SortedEntries,
  servers: readonly LocatedServer[],
  context: { source: string; cwd: string; warnings: string[] },
): ServerConfig {
  const {
    dataDir, dataLogDir, clientPort, secureClientPort, minSessionTimeoutMs, maxSessionTimeoutMs, fourLetterWords,
    adminEnableServer, adminServerAddress, adminServerPort, adminCommandURL, adminIdleTimeoutMs, jaasConfigFile,
    ...unchanged
  } = values;
  const { source, cwd, warnings } = context;
  if (dataDir === undefined) throw new ConfigError(`${source}: dataDir is not set`);
  const extraProperties = parseTextValues(file.extra, warnings);
  const secureAddress = file.ssl.get('secureClientPortAddress')?.assignment;
  if (secureAddress !== undefined && secureClientPort === 0) {
    throw new ConfigError(`${secureAddress.where}: ${secureAddress.key} is set but secureClientPort is not set`);
  }
  const config: ServerConfig = {
    ...unchanged,
    source,
    dataDir: resolve(cwd, dataDir),
    dataLogDir: resolve(cwd, dataLogDir ?? dataDir),
    clientPort: resolveClientPort(clientPort, secureClientPort, file, servers, source),
    secureClientPort: secureClientPort === 0 ? undefined : secureClientPort,
    ...resolveSessionTimeouts(minSessionTimeoutMs, maxSessionTimeoutMs, values.tickTimeMs, file.settings),
    fourLetterWords: enabledFourLetterWords(fourLetterWords, values.readOnlyModeEnabled),
    servers: servers.map((server) => server.spec),
    admin: {
      enableServer: adminEnableServer,
      serverAddress: adminServerAddress,
      serverPort: adminServerPort,
      commandURL: adminCommandURL,
      idleTimeoutMs: adminIdleTimeoutMs,
    },
    jaasConfigFile: jaasConfigFile === undefined ? undefined : resolve(cwd, jaasConfigFile),
    ssl: parseTextValues(file.ssl, warnings),
    extraProperties,
    providerAclSchemes: providerAclSchemesOf(extraProperties, warnings),
  };
  checkUnimplemented(config, warnings);
  return config;
}

/** The authentication providers ZooKeeper 3.8 ships, by class, with the ACL scheme of each. */
const AUTHENTICATION_PROVIDERS: ReadonlyMap<string, string> = new Map([
  ['org.apache.zookeeper.server.auth.DigestAuthenticationProvider', 'digest'],
  ['org.apache.zookeeper.server.auth.IPAuthenticationProvider', 'ip'],
  ['org.apache.zookeeper.server.auth.SASLAuthenticationProvider', 'sasl'],
]);
const BUILT_IN_ACL_SCHEMES = new Set(['world', 'digest', 'ip']);

/**
 * The ACL schemes authProvider.N adds to the built-in ones. ZooKeeper logs a provider class it
 * cannot load and goes on without it; zkts does the same for one it does not implement.
 */
function providerAclSchemesOf(extraProperties: ReadonlyMap<string, string>, warnings: string[]): Set<string> {
  const schemes = new Set<string>();
  for (const [key, className] of extraProperties) {
    if (!key.startsWith('authProvider.')) continue;
    const scheme = AUTHENTICATION_PROVIDERS.get(className);
    if (scheme === undefined) warnings.push(`${key}: authentication provider ${className} is not implemented by zkts (ignored)`);
    else if (!BUILT_IN_ACL_SCHEMES.has(scheme)) schemes.add(scheme);
  }
  return schemes;
}

/**
 * Settings that ask for what zkts does not do yet. Where ignoring one would leave the server
 * unusable or less secure than asked, the server does not start; otherwise it says so.
 */
function checkUnimplemented(config: ServerConfig, warnings: string[]): void {
  const { source } = config;
  if (config.secureClientPort !== undefined) {
    if (config.clientPort === 0) {
      throw new ConfigError(
        `${source}: only secureClientPort is set, and zkts does not implement TLS yet: no client could connect (set clientPort)`,
      );
    }
    warnings.push(`secureClientPort is ignored: zkts does not implement TLS yet; clients connect to clientPort ${config.clientPort} only`);
  }
  if (config.ssl.get('sslQuorum') === 'true') {
    throw new ConfigError(`${source}: sslQuorum=true asks for TLS between servers, which zkts does not implement yet`);
  }
  if (config.extraProperties.get('quorum.auth.enableSasl') === 'true') {
    throw new ConfigError(`${source}: quorum.auth.enableSasl=true asks for SASL between servers, which zkts does not implement yet`);
  }
  if (config.localSessionsEnabled) warnings.push('localSessionsEnabled is ignored: every zkts session is global');
  if (config.reconfigEnabled) {
    warnings.push(
      'reconfigEnabled: dynamic reconfiguration is not implemented; reconfig requests are checked as ZooKeeper ' +
        'checks them, and those it would carry out get Unimplemented',
    );
  }
}

// ---------------------------------------------------------------------------------------------
// The `conf` four-letter word

/** What only the running server knows; `conf` prints 0 for what is not given. */
export interface ConfRuntime {
  serverId?: number;
  dataDirSize?: number;
  dataLogSize?: number;
}

/**
 * The lines of ZooKeeper's `conf` output, in its order. For an ensemble the membership block
 * follows as a `['membership', '']` header, one `server.N` pair per server and `version`;
 * formatConf renders the header the way ZooKeeper does.
 */
export function describeConfig(config: ServerConfig, runtime: ConfRuntime = {}): [key: string, value: string][] {
  const serverId = runtime.serverId ?? 0;
  const lines: [string, string][] = [
    // ZooKeeper prints -1 for a listener it does not run.
    ['clientPort', String(config.clientPort === 0 ? -1 : config.clientPort)],
    ['secureClientPort', String(config.secureClientPort ?? -1)],
    ['dataDir', join(config.dataDir, 'version-2')],
    ['dataDirSize', String(runtime.dataDirSize ?? 0)],
    ['dataLogDir', join(config.dataLogDir, 'version-2')],
    ['dataLogSize', String(runtime.dataLogSize ?? 0)],
    ['tickTime', String(config.tickTimeMs)],
    ['maxClientCnxns', String(config.maxClientCnxns)],
    ['minSessionTimeout', String(config.minSessionTimeoutMs)],
    ['maxSessionTimeout', String(config.maxSessionTimeoutMs)],
    ['clientPortListenBacklog', String(config.clientPortListenBacklog)],
    ['serverId', String(serverId)],
  ];
  if (!formsEnsemble(config.servers, config.standaloneEnabled)) return lines;
  const self = config.servers.find((server) => server.id === serverId);
  const role = self?.role ?? config.peerType;
  lines.push(
    ['initLimit', String(config.initLimit)],
    ['syncLimit', String(config.syncLimit)],
    ['electionAlg', String(config.electionAlg)],
    ['electionPort', self === undefined ? '' : String(self.electionPort)],
    ['quorumPort', self === undefined ? '' : String(self.quorumPort)],
    // ZooKeeper prints the LearnerType ordinal.
    ['peerType', role === 'participant' ? '0' : '1'],
    ['membership', ''],
    ...[...config.servers]
      .sort((a, b) => a.id - b.id)
      .map((server): [string, string] => [`server.${server.id}`, membershipValue(server)]),
    ['version', '0'],
  );
  return lines;
}

/**
 * The `conf` response text for describeConfig's lines. The membership block is ZooKeeper's
 * QuorumVerifier.toString, which ends at its version line without a newline.
 */
export function formatConf(lines: readonly (readonly [string, string])[]): string {
  return lines
    .map(([key, value]) => (key === 'membership' ? 'membership: \n' : key === 'version' ? `version=${value}` : `${key}=${value}\n`))
    .join('');
}

function bracketedHost(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}

function membershipValue(server: QuorumServerSpec): string {
  const peer = `${bracketedHost(server.host)}:${server.quorumPort}:${server.electionPort}:${server.role}`;
  if (server.clientPort === undefined) return peer;
  return `${peer};${bracketedHost(server.clientHost ?? WILDCARD_IPV4)}:${server.clientPort}`;
}

// ---------------------------------------------------------------------------------------------
// Java .properties syntax

interface PropertyEntry {
  key: string;
  value: string;
  /** The line the entry starts on, for messages; continuation lines follow it. */
  line: number;
}

const PROPERTY_WHITESPACE = new Set([' ', '\t', '\f']);
const LEADING_WHITESPACE = /^[ \t\f]+/;

/** Reads text the way java.util.Properties.load does, with keys and values trimmed as ZooKeeper does. */
function readProperties(text: string, source: string): PropertyEntry[] {
  const lines = text.replace(/^\uFEFF/, '').split(/\r\n|\r|\n/);
  const entries: PropertyEntry[] = [];
  for (let index = 0; index < lines.length; index++) {
    const line = index + 1;
    let logical = lines[index].replace(LEADING_WHITESPACE, '');
    if (logical === '' || logical.startsWith('#') || logical.startsWith('!')) continue;
    while (endsWithContinuation(logical)) {
      logical = logical.slice(0, -1);
      if (index + 1 === lines.length) break;
      index++;
      logical += lines[index].replace(LEADING_WHITESPACE, '');
    }
    const [rawKey, rawValue] = splitKeyValue(logical);
    try {
      entries.push({ key: unescape(rawKey).trim(), value: unescape(rawValue).trim(), line });
    } catch (error) {
      if (!(error instanceof InvalidValue)) throw error;
      throw new ConfigError(`${source}:${line}: ${error.message}`);
    }
  }
  return entries;
}

/** An odd number of trailing backslashes joins the next line; an even number is escaped backslashes. */
function endsWithContinuation(line: string): boolean {
  let backslashes = 0;
  while (backslashes < line.length && line[line.length - 1 - backslashes] === '\\') backslashes++;
  return backslashes % 2 === 1;
}

/** The key ends at the first unescaped '=', ':' or whitespace; one separator and the whitespace around it follow. */
function splitKeyValue(line: string): [key: string, value: string] {
  let keyEnd = 0;
  while (keyEnd < line.length && !isKeyTerminator(line[keyEnd])) keyEnd += line[keyEnd] === '\\' ? 2 : 1;
  keyEnd = Math.min(keyEnd, line.length);
  let hasSeparator = line[keyEnd] === '=' || line[keyEnd] === ':';
  let valueStart = keyEnd + 1;
  for (; valueStart < line.length; valueStart++) {
    const char = line[valueStart];
    if (PROPERTY_WHITESPACE.has(char)) continue;
    if (hasSeparator || (char !== '=' && char !== ':')) break;
    hasSeparator = true;
  }
  return [line.slice(0, keyEnd), line.slice(valueStart)];
}

function isKeyTerminator(char: string): boolean {
  return char === '=' || char === ':' || PROPERTY_WHITESPACE.has(char);
}

const ESCAPED_CHARACTERS: Readonly<Record<string, string>> = { t: '\t', n: '\n', r: '\r', f: '\f' };

function unescape(text: string): string {
  return text.replace(/\\(?:u(.{0,4})|([\s\S]))/g, (_match, hex: string | undefined, char: string | undefined) => {
    if (hex === undefined) {
      const escaped = char ?? '';
      return ESCAPED_CHARACTERS[escaped] ?? escaped;
    }
    if (!/^[0-9a-fA-F]{4}$/.test(hex)) throw new InvalidValue(`malformed \\uxxxx escape '\\u${hex}'`);
    return String.fromCharCode(Number.parseInt(hex, 16));
  });
}

// ---------------------------------------------------------------------------------------------
// Value parsers

/** A value that does not parse; the caller adds where it was found and what it was. */
class InvalidValue extends Error {}

type Warn = (message: string) => void;
/** Turns a trimmed value into a setting, throwing InvalidValue("expected …") when it is malformed. */
type Parser<T> = (raw: string, warn: Warn) => T;

/** ZooKeeper reads most numbers with Integer.parseInt; the rest are Java longs. */
const INT_MAX = 2 ** 31 - 1;
const LONG_MAX = Number.MAX_SAFE_INTEGER;
const PORT_RANGE = 'a port number from 1 to 65535';

/** Decimal, or hexadecimal as Java's Integer.getInteger also reads it (jute.maxbuffer=0x400000). */
function parseInteger(raw: string): number | undefined {
  if (/^[+-]?\d+$/.test(raw)) return Number(raw);
  if (/^0x[0-9a-f]+$/i.test(raw)) return Number.parseInt(raw.slice(2), 16);
  return undefined;
}

function integer(min: number, max: number, expected: string): Parser<number> {
  return (raw) => {
    const value = parseInteger(raw);
    if (value === undefined || value < min || value > max) throw new InvalidValue(`expected ${expected}`);
    return value;
  };
}

/** ZooKeeper raises some settings to a floor with a warning rather than refusing to start. */
function raisedTo(floor: number, parse: Parser<number>): Parser<number> {
  return (raw, warn) => {
    const value = parse(raw, warn);
    if (value >= floor) return value;
    warn(`${value} is below the minimum ${floor}; using ${floor}`);
    return floor;
  };
}

const positiveInt = integer(1, INT_MAX, 'a positive integer');
const nonNegativeInt = integer(0, INT_MAX, 'a non-negative integer');
const anyInt = integer(-INT_MAX - 1, INT_MAX, 'an integer');
const positiveLong = integer(1, LONG_MAX, 'a positive integer');
const nonNegativeLong = integer(0, LONG_MAX, 'a non-negative integer');
const anyLong = integer(-LONG_MAX, LONG_MAX, 'an integer');
const port = integer(1, 65535, PORT_RANGE);
/** ZooKeeper treats a client port of 0 as "not set". */
const portOrUnset = integer(0, 65535, 'a port number from 1 to 65535, or 0 for none');
const timeoutOrDefault = integer(-1, INT_MAX, 'a time in milliseconds, or -1 for the default');
const backlog = integer(-1, INT_MAX, 'a non-negative integer, or -1 for the system default');

const decimal: Parser<number> = (raw) => {
  if (!/^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i.test(raw)) throw new InvalidValue('expected a number');
  return Number(raw);
};

const boolean: Parser<boolean> = (raw) => {
  const word = raw.toLowerCase();
  if (word === 'true' || word === 'yes') return true;
  if (word === 'false' || word === 'no') return false;
  throw new InvalidValue('expected true/false or yes/no');
};

function oneOf<const T extends string>(choices: readonly T[]): Parser<T> {
  return (raw) => {
    const choice = choices.find((candidate) => candidate.toLowerCase() === raw.toLowerCase());
    if (choice === undefined) throw new InvalidValue(`expected one of ${choices.join(', ')}`);
    return choice;
  };
}

const anyText: Parser<string> = (raw) => raw;

const nonEmpty: Parser<string> = (raw) => {
  if (raw === '') throw new InvalidValue('expected a value');
  return raw;
};

/** A host name or address to bind; an IPv6 address may be written in brackets. */
const hostAddress: Parser<string> = (raw) => {
  const host = /^\[.*\]$/.test(raw) ? raw.slice(1, -1) : raw;
  if (host === '' || /\s/.test(host)) throw new InvalidValue('expected a host name or address');
  return host;
};

const urlPath: Parser<string> = (raw) => {
  if (!raw.startsWith('/')) throw new InvalidValue("expected a URL path starting with '/'");
  return raw;
};

/** DigestAuthenticationProvider compares `user:base64(sha1(user:password))` verbatim. */
const userDigest: Parser<string> = (raw) => {
  if (!/^[^:\s]+:[A-Za-z0-9+/]+={0,2}$/.test(raw)) {
    throw new InvalidValue('expected user:base64-digest, such as super:D/InIHSb7yEEbrWz8b9l71RjZJU=');
  }
  return raw;
};

/** A comma or space separated whitelist; ZooKeeper's '*' stands for every word. */
const fourLetterWordList: Parser<ReadonlySet<string>> = (raw, warn) => {
  const words = new Set<string>();
  for (const word of raw.toLowerCase().split(/[\s,]+/).filter((item) => item !== '')) {
    if (word === '*') FOUR_LETTER_WORDS.forEach((known) => words.add(known));
    else if (FOUR_LETTER_WORDS.includes(word)) words.add(word);
    else warn(`unknown four-letter word '${word}' (ignored)`);
  }
  return words;
};

// ---------------------------------------------------------------------------------------------
// The recognised keys

interface Setting<T> {
  /** The zoo.cfg name first, then other names ZooKeeper reads the same setting under. */
  readonly names: readonly string[];
  readonly parse: Parser<T>;
  /** Apache ZooKeeper's value when a file omits the key. */
  readonly fallback: T;
  /** An environment variable consulted when the file omits the key. */
  readonly env?: string;
}

function setting<T>(names: string | readonly string[], parse: Parser<T>, fallback: T, env?: string): Setting<T> {
  return { names: typeof names === 'string' ? [names] : names, parse, fallback, env };
}

/**
 * Every ServerConfig field a key sets directly. Names are listed without the `zookeeper.` prefix:
 * ZooKeeper turns an unrecognised zoo.cfg key K into the system property zookeeper.K, so each name
 * is also accepted with that prefix (see targetOf).
 */
const SETTINGS = {
  tickTimeMs: setting('tickTime', positiveInt, 3000),
  dataDir: setting<string | undefined>('dataDir', nonEmpty, undefined),
  dataLogDir: setting<string | undefined>('dataLogDir', nonEmpty, undefined),
  clientPort: setting('clientPort', portOrUnset, 0),
  clientPortAddress: setting('clientPortAddress', hostAddress, '0.0.0.0'),
  secureClientPort: setting('secureClientPort', portOrUnset, 0),
  clientPortListenBacklog: setting('clientPortListenBacklog', backlog, -1),
  maxClientCnxns: setting('maxClientCnxns', nonNegativeInt, 60),
  maxCnxns: setting('maxCnxns', nonNegativeInt, 0),
  minSessionTimeoutMs: setting('minSessionTimeout', timeoutOrDefault, -1),
  maxSessionTimeoutMs: setting('maxSessionTimeout', timeoutOrDefault, -1),
  globalOutstandingLimit: setting('globalOutstandingLimit', positiveInt, 1000),
  fourLetterWords: setting('4lw.commands.whitelist', fourLetterWordList, new Set<string>()),
  skipACL: setting('skipACL', boolean, false),
  juteMaxBuffer: setting('jute.maxbuffer', positiveInt, 0xfffff),
  extendedTypesEnabled: setting('extendedTypesEnabled', boolean, false),
  superDigest: setting<string | undefined>(
    ['superDigest', 'DigestAuthenticationProvider.superDigest'],
    userDigest,
    undefined,
  ),
  // A JVM property (not ZooKeeper's), which ZooKeeper's SASL reads; here a zoo.cfg key like the others.
  jaasConfigFile: setting<string | undefined>('java.security.auth.login.config', nonEmpty, undefined),
  saslServerSection: setting('sasl.serverconfig', nonEmpty, 'Server'),
  enforceQuota: setting('enforceQuota', boolean, false),
  containerCheckIntervalMs: setting('znode.container.checkIntervalMs', positiveInt, 60000),
  containerMaxPerMinute: setting('znode.container.maxPerMinute', positiveInt, 10000),
  containerMaxNeverUsedIntervalMs: setting('znode.container.maxNeverUsedIntervalMs', nonNegativeLong, 0),
  snapCount: setting('snapCount', raisedTo(2, anyInt), 100000),
  snapSizeLimitInKb: setting('snapSizeLimitInKb', anyLong, 4194304),
  preAllocSizeKb: setting('preAllocSize', positiveLong, 65536),
  forceSync: setting('forceSync', boolean, true),
  maxBatchSize: setting('maxBatchSize', positiveInt, 1000),
  flushDelayMs: setting('flushDelay', nonNegativeLong, 0),
  fsyncWarningThresholdMs: setting('fsync.warningthresholdms', nonNegativeLong, 1000),
  commitLogCount: setting('commitLogCount', raisedTo(500, anyInt), 500),
  autopurgeSnapRetainCount: setting('autopurge.snapRetainCount', raisedTo(3, anyInt), 3),
  autopurgePurgeIntervalHours: setting('autopurge.purgeInterval', nonNegativeInt, 0),
  initLimit: setting('initLimit', positiveInt, 0),
  syncLimit: setting('syncLimit', positiveInt, 0),
  peerType: setting('peerType', oneOf(['participant', 'observer']), 'participant'),
  leaderServes: setting('leaderServes', boolean, true),
  quorumListenOnAllIPs: setting('quorumListenOnAllIPs', boolean, false),
  standaloneEnabled: setting('standaloneEnabled', boolean, true),
  reconfigEnabled: setting('reconfigEnabled', boolean, false),
  electionAlg: setting('electionAlg', integer(3, 3, '3 (fast leader election, the only one since 3.6)'), 3),
  cnxTimeoutMs: setting('cnxTimeout', positiveInt, 5000),
  localSessionsEnabled: setting('localSessionsEnabled', boolean, false),
  localSessionsUpgradingEnabled: setting('localSessionsUpgradingEnabled', boolean, false),
  readOnlyModeEnabled: setting('readonlymode.enabled', boolean, false),
  digestEnabled: setting('digest.enabled', boolean, true),
  adminEnableServer: setting('admin.enableServer', boolean, true),
  adminServerAddress: setting('admin.serverAddress', hostAddress, '0.0.0.0'),
  adminServerPort: setting('admin.serverPort', port, 8080),
  adminCommandURL: setting('admin.commandURL', urlPath, '/commands'),
  adminIdleTimeoutMs: setting('admin.idleTimeout', positiveInt, 30000),
  logLevel: setting('zkts.logLevel', oneOf(LOG_LEVELS), 'info', 'ZKTS_LOG_LEVEL'),
  logFormat: setting('zkts.logFormat', oneOf(['text', 'json']), 'text', 'ZKTS_LOG_FORMAT'),
};

type SettingName = keyof typeof SETTINGS;
type SettingValues = { [K in SettingName]: (typeof SETTINGS)[K] extends Setting<infer T> ? T : never };

/** The options X509Util reads under both `ssl.` (client) and `ssl.quorum.` (quorum). */
const TLS_OPTIONS: Readonly<Record<string, Parser<unknown>>> = {
  protocol: nonEmpty,
  enabledProtocols: nonEmpty,
  ciphersuites: nonEmpty,
  'keyStore.location': nonEmpty,
  'keyStore.password': nonEmpty,
  'keyStore.passwordPath': nonEmpty,
  'keyStore.type': nonEmpty,
  'trustStore.location': nonEmpty,
  'trustStore.password': nonEmpty,
  'trustStore.passwordPath': nonEmpty,
  'trustStore.type': nonEmpty,
  'context.supplier.class': nonEmpty,
  hostnameVerification: boolean,
  crl: boolean,
  ocsp: boolean,
  clientAuth: oneOf(['none', 'want', 'need']),
  handshakeDetectionTimeoutMillis: positiveInt,
  authProvider: nonEmpty,
};

/** Keys kept in ServerConfig.ssl for the TLS work, validated now. */
const SSL_KEYS: readonly (readonly [string, Parser<unknown>])[] = [
  ...Object.entries(TLS_OPTIONS).flatMap(([option, parse]) => [
    [`ssl.${option}`, parse] as const,
    [`ssl.quorum.${option}`, parse] as const,
  ]),
  ['sslQuorum', boolean],
  ['sslQuorumReloadCertFiles', boolean],
  ['secureClientPortAddress', hostAddress],
];

/**
 * ZooKeeper keys zkts recognises but does not act on (yet): validated, then kept in
 * extraProperties for `conf`/`envi`. A row is one name, or a canonical name and its aliases.
 */
const EXTRA_BOOLEANS: readonly (string | readonly string[])[] = [
  ['syncEnabled', 'observer.syncEnabled'], ['portUnification', 'client.portUnification'],
  'quorum.auth.enableSasl', 'quorum.auth.serverRequireSasl', 'quorum.auth.learnerRequireSasl',
  'jvm.pause.monitor', 'multiAddress.enabled', 'multiAddress.reachabilityCheckEnabled', 'emulate353TTLNodes',
  ['advancedFlowControlEnabled', 'netty.advancedFlowControl.enabled'], 'enableEagerACLCheck',
  'snapshot.trust.empty', 'audit.enable', 'netty.server.earlyDropSecureConnectionHandshakes',
  'learner.closeSocketAsync', 'leader.closeSocketAsync', 'learner.asyncSending',
  'forward_learner_requests_to_commit_processor_disabled', 'follower.skipLearnerRequestToNextProcessor',
  'tcpKeepAlive', 'clientTcpKeepAlive', 'DigestAuthenticationProvider.enabled', 'sessionRequireClientSASLAuth',
  'enforce.auth.enabled', 'allowSaslFailedClients', 'kerberos.removeHostFromPrincipal',
  'kerberos.removeRealmFromPrincipal', 'kerberos.canonicalizeHostNames', 'admin.forceHttps', 'admin.portUnification',
  'closeSessionTxn.enabled', 'connection_throttle_weight_enabled',
  ['requestThrottleDropStale', 'request_throttle_drop_stale'],
  ['requestStaleLatencyCheck', 'request_stale_latency_check'],
  ['requestStaleConnectionCheck', 'request_stale_connection_check'], 'messageTracker.Enabled', 'pathStats.enabled',
  'datadir.autocreate', 'db.autocreate',
];

const EXTRA_INTEGERS: readonly (string | readonly string[])[] = [
  'connectToLearnerMasterLimit', 'quorum.cnxn.threads.size', 'jvm.pause.info-threshold.ms',
  'jvm.pause.warn-threshold.ms', 'jvm.pause.sleep.time.ms', 'multiAddress.reachabilityCheckTimeoutMs',
  'txnLogSizeLimitInKb', 'maxResponseCacheSize', 'maxGetChildrenResponseCacheSize', 'watcherCleanThreadsNum',
  'watcherCleanThreshold', 'watcherCleanIntervalInSeconds', 'maxInProcessingDeadWatchers', 'bitHashCacheSize',
  'fastleader.minNotificationInterval', 'fastleader.maxNotificationInterval',
  ['connectionMaxTokens', 'connection_throttle_tokens'], ['connectionTokenFillTime', 'connection_throttle_fill_time'],
  ['connectionTokenFillCount', 'connection_throttle_fill_count'],
  ['connectionFreezeTime', 'connection_throttle_freeze_time'], 'connection_throttle_global_session_weight',
  'connection_throttle_local_session_weight', 'connection_throttle_renew_session_weight', 'maxWriteQueuePollTime',
  ['requestThrottleLimit', 'request_throttle_max_requests'],
  ['requestThrottleStallTime', 'request_throttle_stall_time'],
  'request_throttler.shutdownTimeout', ['maxConcurrentSnapSyncs', 'leader.maxConcurrentSnapSyncs'],
  ['maxConcurrentDiffSyncs', 'leader.maxConcurrentDiffSyncs'], 'largeRequestMaxBytes', 'largeRequestThreshold',
  ['outstandingHandshake.limit', 'netty.server.outstandingHandshake.limit'],
  ['throttledOpWaitTime', 'throttled_op_wait_time'], ['maxTimeToWaitForEpoch', 'leader.maxTimeToWaitForEpoch'],
  'quorumCnxnTimeoutMs', 'electionPortBindRetry', 'observer.reconnectDelayMs', 'observer.election.DelayMs',
  'jute.maxbuffer.extrasize', 'nio.numSelectorThreads', 'nio.numWorkerThreads', 'nio.directBufferBytes',
  'nio.sessionlessCnxnTimeout', 'nio.shutdownTimeout', 'commitProcessor.numWorkerThreads',
  'commitProcessor.maxReadBatchSize', 'commitProcessor.maxCommitBatchSize', 'messageTracker.BufferSize',
  'admin.httpVersion', 'intBufferStartingSizeBytes', 'leader.ackLoggingFrequency', 'pathStats.slotCapacity',
  'pathStats.slotDuration', 'pathStats.maxDepth', 'pathStats.topPathMax', 'pathStats.initialDelay', 'pathStats.delay',
];

const EXTRA_DECIMALS: readonly (string | readonly string[])[] = [
  ['connectionDropIncrease', 'connection_throttle_drop_increase'],
  ['connectionDropDecrease', 'connection_throttle_drop_decrease'],
  ['connectionDecreaseRatio', 'connection_throttle_decrease_ratio'], 'snapshotSizeFactor', 'pathStats.sampleRate',
];

const EXTRA_TEXTS: readonly (string | readonly string[])[] = [
  'dynamicConfigFile', 'oraclePath', 'quorum.auth.learner.saslLoginContext', 'quorum.auth.server.saslLoginContext',
  'quorum.auth.kerberos.servicePrincipal', 'watchManagerName', 'serverCnxnFactory', 'snapshot.compression.method',
  'audit.impl.class', 'DigestAuthenticationProvider.digestAlg', 'X509AuthenticationProvider.superUser', 'superUser',
  'ensembleAuthName', 'enforce.auth.schemes', 'authProvider', 'security.auth_to_local',
  'SASLAuthenticationProvider.superPassword',
];

const EXTRA_PORTS: readonly string[] = ['observerMasterPort'];

/** Families of keys whose suffix is free-form: metricsProvider.className/httpPort/…, authProvider.1, superUser.1. */
const EXTRA_PREFIXES = ['metricsProvider.', 'authProvider.', 'superUser.'];

const SYSTEM_PROPERTY_PREFIX = 'zookeeper.';
const SERVER_KEY_PREFIX = 'server.';

/** Where a key's value goes; `name` is the canonical name, which also detects repeated keys. */
type KeyTarget =
  | { kind: 'setting'; name: SettingName }
  | { kind: 'ssl' | 'extra'; name: string; parse: Parser<unknown> };

const KEY_TARGETS: ReadonlyMap<string, KeyTarget> = buildKeyTargets();

function buildKeyTargets(): Map<string, KeyTarget> {
  const targets = new Map<string, KeyTarget>();
  for (const name of Object.keys(SETTINGS) as SettingName[]) {
    for (const key of SETTINGS[name].names) targets.set(key, { kind: 'setting', name });
  }
  for (const [key, parse] of SSL_KEYS) targets.set(key, { kind: 'ssl', name: key, parse });
  const extras: [readonly (string | readonly string[])[], Parser<unknown>][] = [
    [EXTRA_BOOLEANS, boolean],
    [EXTRA_INTEGERS, anyLong],
    [EXTRA_DECIMALS, decimal],
    [EXTRA_TEXTS, anyText],
    [EXTRA_PORTS, port],
  ];
  for (const [rows, parse] of extras) {
    for (const row of rows) {
      const names = typeof row === 'string' ? [row] : row;
      for (const key of names) targets.set(key, { kind: 'extra', name: names[0], parse });
    }
  }
  return targets;
}

function targetOf(key: string): KeyTarget | undefined {
  const name = key.startsWith(SYSTEM_PROPERTY_PREFIX) ? key.slice(SYSTEM_PROPERTY_PREFIX.length) : key;
  const known = KEY_TARGETS.get(name);
  if (known !== undefined) return known;
  if (EXTRA_PREFIXES.some((prefix) => name.startsWith(prefix))) return { kind: 'extra', name, parse: anyText };
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// From entries to values

/** One key as the file (or the environment) gave it. */
interface Assignment {
  key: string;
  raw: string;
  /** `file:line`, or 'environment'. */
  where: string;
}

interface TextAssignment {
  assignment: Assignment;
  parse: Parser<unknown>;
}

interface SortedEntries {
  settings: Map<SettingName, Assignment>;
  ssl: Map<string, TextAssignment>;
  extra: Map<string, TextAssignment>;
  servers: Assignment[];
}

/** Routes each entry to its setting; a repeated setting keeps its last value, as Java's Properties does. */
function sortEntries(entries: readonly PropertyEntry[], source: string, warnings: string[]): SortedEntries {
  const sorted: SortedEntries = { settings: new Map(), ssl: new Map(), extra: new Map(), servers: [] };
  const seen = new Map<string, Assignment>();
  for (const { key, value, line } of entries) {
    const assignment: Assignment = { key, raw: value, where: `${source}:${line}` };
    if (key.startsWith(SERVER_KEY_PREFIX)) {
      sorted.servers.push(assignment); // repeated ids are an error, found in parseServers
      continue;
    }
    const target = targetOf(key);
    if (target === undefined) {
      warnings.push(`${assignment.where}: unknown key '${key}' (ignored)`);
      continue;
    }
    const identity = `${target.kind}:${target.name}`;
    const earlier = seen.get(identity);
    if (earlier !== undefined) {
      const alias = earlier.key === key ? '' : ` as '${earlier.key}'`;
      const repeat = `duplicate key '${key}' (already set at ${earlier.where}${alias})`;
      warnings.push(`${assignment.where}: ${repeat}; the last value wins`);
    }
    seen.set(identity, assignment);
    if (target.kind === 'setting') sorted.settings.set(target.name, assignment);
    else sorted[target.kind].set(target.name, { assignment, parse: target.parse });
  }
  return sorted;
}

/** Runs a parser on an assignment, turning InvalidValue into a ConfigError that says where and what. */
function parseAssigned<T>(assignment: Assignment, parse: Parser<T>, warnings: string[]): T {
  const context = `${assignment.where}: ${assignment.key}`;
  try {
    return parse(assignment.raw, (message) => warnings.push(`${context}: ${message}`));
  } catch (error) {
    if (!(error instanceof InvalidValue)) throw error;
    throw new ConfigError(`${context}: ${error.message}, got '${assignment.raw}'`);
  }
}

function resolveSettings(
  assigned: ReadonlyMap<SettingName, Assignment>,
  env: Environment,
  warnings: string[],
): SettingValues {
  const values: Partial<Record<SettingName, unknown>> = {};
  for (const name of Object.keys(SETTINGS) as SettingName[]) {
    const setting: Setting<unknown> = SETTINGS[name];
    const assignment = assigned.get(name) ?? fromEnvironment(setting, env);
    values[name] = assignment === undefined ? setting.fallback : parseAssigned(assignment, setting.parse, warnings);
  }
  return values as SettingValues;
}

/** The file wins over the environment, which wins over the default. */
function fromEnvironment(setting: Setting<unknown>, env: Environment): Assignment | undefined {
  const raw = setting.env === undefined ? undefined : env[setting.env]?.trim();
  if (setting.env === undefined || raw === undefined || raw === '') return undefined;
  return { key: setting.env, raw, where: 'environment' };
}

/** Validates ssl/extra values and keeps them as text; booleans in their canonical spelling. */
function parseTextValues(assigned: ReadonlyMap<string, TextAssignment>, warnings: string[]): Map<string, string> {
  const values = new Map<string, string>();
  for (const [name, { assignment, parse }] of assigned) {
    values.set(name, String(parseAssigned(assignment, parse, warnings)));
  }
  return values;
}

function resolveSessionTimeouts(
  minTimeout: number,
  maxTimeout: number,
  tickTimeMs: number,
  assigned: ReadonlyMap<SettingName, Assignment>,
): { minSessionTimeoutMs: number; maxSessionTimeoutMs: number } {
  // ZooKeeper's defaults: 2 and 20 ticks.
  const min = minTimeout === -1 ? 2 * tickTimeMs : minTimeout;
  const max = maxTimeout === -1 ? 20 * tickTimeMs : maxTimeout;
  if (min > max) {
    // With both defaults min < max, so at least one of them was set.
    const culprit = assigned.get('minSessionTimeoutMs') ?? assigned.get('maxSessionTimeoutMs');
    const context = culprit === undefined ? 'minSessionTimeout' : `${culprit.where}: ${culprit.key}`;
    throw new ConfigError(`${context}: minSessionTimeout (${min}) must not be larger than maxSessionTimeout (${max})`);
  }
  return { minSessionTimeoutMs: min, maxSessionTimeoutMs: max };
}

function resolveClientPort(
  clientPort: number,
  secureClientPort: number,
  file: SortedEntries,
  servers: readonly LocatedServer[],
  source: string,
): number {
  if (clientPort !== 0) return clientPort;
  const portAddress = file.settings.get('clientPortAddress');
  if (portAddress !== undefined) {
    throw new ConfigError(`${portAddress.where}: ${portAddress.key} is set but clientPort is not set`);
  }
  // ZooKeeper takes the port from this server's own server.N line; without myid (read later) that
  // is only certain when every line that names a client port names the same one.
  const serverPorts = new Set(servers.flatMap(({ spec }) => (spec.clientPort === undefined ? [] : [spec.clientPort])));
  if (serverPorts.size === 1) return [...serverPorts][0];
  if (secureClientPort !== 0) return 0;
  throw new ConfigError(`${source}: clientPort is not set (set clientPort or secureClientPort)`);
}

/** ZooKeeper always enables srvr (zkServer.sh status uses it), and isro in read-only mode. */
function enabledFourLetterWords(whitelist: ReadonlySet<string>, readOnlyModeEnabled: boolean): ReadonlySet<string> {
  const words = new Set(whitelist);
  words.add('srvr');
  if (readOnlyModeEnabled) words.add('isro');
  return words;
}

// ---------------------------------------------------------------------------------------------
// server.N lines

interface LocatedServer {
  spec: QuorumServerSpec;
  at: Assignment;
}

const SERVER_FORMAT =
  'expected host:quorumPort:electionPort[:participant|:observer][;[clientHost:]clientPort], ' +
  'with an IPv6 host in brackets';
const WILDCARD_IPV4 = '0.0.0.0';

function parseServers(assignments: readonly Assignment[], warnings: string[]): LocatedServer[] {
  const byId = new Map<number, Assignment>();
  return assignments.map((at) => {
    const idText = at.key.slice(SERVER_KEY_PREFIX.length);
    const id = /^\d+$/.test(idText) ? Number(idText) : NaN;
    if (!Number.isSafeInteger(id)) {
      throw new ConfigError(`${at.where}: ${at.key}: the server id must be a non-negative integer`);
    }
    const first = byId.get(id);
    if (first !== undefined) {
      throw new ConfigError(`${at.where}: ${at.key}: duplicate server id ${id} (already given at ${first.where})`);
    }
    byId.set(id, at);
    return { spec: parseAssigned(at, serverSpec(id), warnings), at };
  });
}

/**
 * A server's address as a server.N line gives it (`host:quorumPort:electionPort[:role][;[clientHost:]clientPort]`),
 * for reconfig requests; a ConfigError says what is wrong with it.
 */
export function parseQuorumServer(id: number, text: string): QuorumServerSpec {
  try {
    return serverSpec(id)(text, () => {});
  } catch (error) {
    if (!(error instanceof InvalidValue)) throw error;
    throw new ConfigError(`server.${id}=${text}: ${error.message}`);
  }
}

/** Parses `host:quorumPort:electionPort[:role][;[clientHost:]clientPort]` as QuorumPeer.QuorumServer does. */
function serverSpec(id: number): Parser<QuorumServerSpec> {
  return (raw) => {
    const [peerPart, clientPart, ...rest] = raw.split(';');
    if (rest.length > 0) throw new InvalidValue(SERVER_FORMAT);
    if (peerPart.includes('|')) throw new InvalidValue('several addresses per server (multiAddress) are not supported');
    const [host, quorumPort, electionPort, role, ...extra] = splitHostAndPorts(peerPart);
    if (host === '' || quorumPort === undefined || electionPort === undefined || extra.length > 0) {
      throw new InvalidValue(SERVER_FORMAT);
    }
    const spec: QuorumServerSpec = {
      id,
      host,
      quorumPort: portField('quorum port', quorumPort),
      electionPort: portField('election port', electionPort),
      role: role === undefined ? 'participant' : serverRole(role),
    };
    if (spec.quorumPort === spec.electionPort) throw new InvalidValue('the quorum and election ports must differ');
    // Java's String.split drops a trailing empty part, so "…:3888;" has no client part.
    return clientPart === undefined || clientPart === '' ? spec : { ...spec, ...clientAddress(clientPart) };
  };
}

function serverRole(text: string): QuorumServerSpec['role'] {
  const role = text.trim().toLowerCase();
  if (role !== 'participant' && role !== 'observer') {
    throw new InvalidValue('expected the role participant or observer');
  }
  return role;
}

function clientAddress(text: string): { clientHost?: string; clientPort: number } {
  const fields = splitHostAndPorts(text);
  if (fields.length > 2 || fields[0] === '') throw new InvalidValue(SERVER_FORMAT);
  const clientPort = portField('client port', fields[fields.length - 1]);
  return fields.length === 2 ? { clientHost: fields[0], clientPort } : { clientPort };
}

/** Splits at colons, keeping a bracketed IPv6 host whole (ZooKeeper's ConfigUtils.getHostAndPort). */
function splitHostAndPorts(address: string): string[] {
  if (!address.startsWith('[')) return address.split(':');
  const close = address.indexOf(']');
  if (close < 0 || address[close + 1] !== ':') throw new InvalidValue(SERVER_FORMAT);
  return [address.slice(1, close), ...address.slice(close + 2).split(':')];
}

function portField(label: string, text: string): number {
  const value = parseInteger(text);
  if (value === undefined || value < 1 || value > 65535) throw new InvalidValue(`${label}: expected ${PORT_RANGE}`);
  return value;
}

/** ZooKeeper's QuorumPeerConfig.isDistributed: an ensemble rather than a standalone server. */
/** Whether the servers listed run as an ensemble (else a lone server.N runs standalone, as in ZooKeeper). */
export function formsEnsemble(servers: readonly QuorumServerSpec[], standaloneEnabled: boolean): boolean {
  const participants = servers.filter((server) => server.role === 'participant').length;
  return participants > 1 || (!standaloneEnabled && servers.length > 0);
}

function checkEnsemble(
  servers: readonly LocatedServer[],
  values: SettingValues,
  assigned: ReadonlyMap<SettingName, Assignment>,
): void {
  const standalone = assigned.get('standaloneEnabled');
  if (servers.length === 0) {
    // ZooKeeper: "standaloneEnabled = false then number of participants should be >0".
    if (standalone !== undefined && !values.standaloneEnabled) {
      throw new ConfigError(`${standalone.where}: ${standalone.key}: false needs server.N lines with a participant`);
    }
    return;
  }
  checkDistinctEndpoints(servers);
  checkRoles(servers, values.standaloneEnabled);
  if (!formsEnsemble(servers.map(({ spec }) => spec), values.standaloneEnabled)) return;
  const first = servers[0].at;
  for (const key of ['initLimit', 'syncLimit'] as const) {
    if (values[key] === 0) {
      throw new ConfigError(`${first.where}: ${key} is not set; an ensemble (${first.key} and others) needs it`);
    }
  }
}

/** No two servers may listen on the same host and port (different names for one host go unnoticed). */
function checkDistinctEndpoints(servers: readonly LocatedServer[]): void {
  const owners = new Map<string, string>();
  for (const { spec, at } of servers) {
    for (const [label, host, port] of endpointsOf(spec)) {
      const endpoint = `${bracketedHost(host.toLowerCase())}:${port}`;
      const owner = owners.get(endpoint);
      if (owner !== undefined) throw new ConfigError(`${at.where}: ${at.key}: ${endpoint} is already ${owner}`);
      owners.set(endpoint, `the ${label} of ${at.key}`);
    }
  }
}

function endpointsOf(spec: QuorumServerSpec): [label: string, host: string, port: number][] {
  const endpoints: [string, string, number][] = [
    ['quorum port', spec.host, spec.quorumPort],
    ['election port', spec.host, spec.electionPort],
  ];
  if (spec.clientPort !== undefined) {
    // A wildcard client address listens on the server's own host.
    const clientHost = spec.clientHost ?? WILDCARD_IPV4;
    const onOwnHost = clientHost === WILDCARD_IPV4 || clientHost === '::';
    endpoints.push(['client port', onOwnHost ? spec.host : clientHost, spec.clientPort]);
  }
  return endpoints;
}

/** ZooKeeper: "Observers w/o participants" and "Observers w/o quorum" are invalid configurations. */
function checkRoles(servers: readonly LocatedServer[], standaloneEnabled: boolean): void {
  const participants = servers.filter(({ spec }) => spec.role === 'participant').length;
  const firstObserver = servers.find(({ spec }) => spec.role === 'observer')?.at;
  if (firstObserver === undefined) return;
  if (participants === 0) {
    throw new ConfigError(`${firstObserver.where}: ${firstObserver.key}: observers need at least one participant`);
  }
  if (participants === 1 && standaloneEnabled) {
    const problem = 'observers need a quorum of two or more participants (or standaloneEnabled=false)';
    throw new ConfigError(`${firstObserver.where}: ${firstObserver.key}: ${problem}`);
  }
}
