import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ConfigError,
  FOUR_LETTER_WORDS,
  defaultConfig,
  describeConfig,
  formatConf,
  loadConfig,
  parseConfig,
  type ServerConfig,
} from '../../src/server/config.js';

const CWD = '/srv/zk';
const NO_ENV = {};

/** The file as lines, so each test states its line numbers plainly. */
function cfg(...lines: string[]): string {
  return lines.join('\n') + '\n';
}

function parse(text: string, env: Record<string, string> = NO_ENV): { config: ServerConfig; warnings: string[] } {
  return parseConfig(text, 'zoo.cfg', CWD, env);
}

function configOf(...lines: string[]): ServerConfig {
  return parse(cfg('dataDir=/var/lib/zk', 'clientPort=2181', ...lines)).config;
}

function warningsOf(...lines: string[]): string[] {
  return parse(cfg('dataDir=/var/lib/zk', 'clientPort=2181', ...lines)).warnings;
}

/** The message of the ConfigError that parsing `text` must raise. */
function errorOf(text: string, env: Record<string, string> = NO_ENV): string {
  try {
    parse(text, env);
  } catch (error) {
    assert.ok(error instanceof ConfigError, `expected a ConfigError, got ${String(error)}`);
    return error.message;
  }
  assert.fail('expected the configuration to be rejected');
}

/** Lines 1-2 are dataDir and clientPort, so the first extra line is line 3. */
function errorWith(...lines: string[]): string {
  return errorOf(cfg('dataDir=/var/lib/zk', 'clientPort=2181', ...lines));
}

const ENSEMBLE = [
  'initLimit=10',
  'syncLimit=5',
  'server.1=zk1.example.com:2888:3888',
  'server.2=zk2.example.com:2888:3888',
  'server.3=zk3.example.com:2888:3888',
];

describe('defaultConfig', () => {
  it('serves 127.0.0.1:2181 with a 2000 ms tick and a data dir under the working directory', () => {
    const config = defaultConfig('/home/me/project', NO_ENV);
    assert.equal(config.source, '<embedded defaults>');
    assert.equal(config.clientPort, 2181);
    assert.equal(config.clientPortAddress, '127.0.0.1');
    assert.equal(config.tickTimeMs, 2000);
    assert.equal(config.dataDir, '/home/me/project/zkts-data');
    assert.equal(config.dataLogDir, '/home/me/project/zkts-data');
  });

  it("has ZooKeeper's defaults for everything else", () => {
    const config = defaultConfig('/w', NO_ENV);
    assert.equal(config.secureClientPort, undefined);
    assert.equal(config.maxClientCnxns, 60);
    assert.equal(config.maxCnxns, 0);
    assert.equal(config.minSessionTimeoutMs, 4000);
    assert.equal(config.maxSessionTimeoutMs, 40000);
    assert.equal(config.globalOutstandingLimit, 1000);
    assert.deepEqual([...config.fourLetterWords], ['srvr']);
    assert.equal(config.skipACL, false);
    assert.equal(config.juteMaxBuffer, 0xfffff);
    assert.equal(config.extendedTypesEnabled, false);
    assert.equal(config.superDigest, undefined);
    assert.equal(config.enforceQuota, false);
    assert.equal(config.containerCheckIntervalMs, 60000);
    assert.equal(config.containerMaxPerMinute, 10000);
    assert.equal(config.containerMaxNeverUsedIntervalMs, 0);
    assert.equal(config.snapCount, 100000);
    assert.equal(config.snapSizeLimitInKb, 4194304);
    assert.equal(config.preAllocSizeKb, 65536);
    assert.equal(config.forceSync, true);
    assert.equal(config.maxBatchSize, 1000);
    assert.equal(config.flushDelayMs, 0);
    assert.equal(config.fsyncWarningThresholdMs, 1000);
    assert.equal(config.commitLogCount, 500);
    assert.equal(config.autopurgeSnapRetainCount, 3);
    assert.equal(config.autopurgePurgeIntervalHours, 0);
    assert.deepEqual(config.servers, []);
    assert.equal(config.peerType, 'participant');
    assert.equal(config.leaderServes, true);
    assert.equal(config.standaloneEnabled, true);
    assert.equal(config.reconfigEnabled, false);
    assert.equal(config.electionAlg, 3);
    assert.equal(config.cnxTimeoutMs, 5000);
    assert.equal(config.readOnlyModeEnabled, false);
    assert.equal(config.digestEnabled, true);
    assert.deepEqual(config.admin, {
      enableServer: true,
      serverAddress: '127.0.0.1',
      serverPort: 8080,
      commandURL: '/commands',
      idleTimeoutMs: 30000,
    });
    assert.equal(config.ssl.size, 0);
    assert.equal(config.extraProperties.size, 0);
    assert.equal(config.logLevel, 'info');
    assert.equal(config.logFormat, 'text');
  });

  it('takes the log level and format from the environment', () => {
    const config = defaultConfig('/w', { ZKTS_LOG_LEVEL: 'DEBUG', ZKTS_LOG_FORMAT: 'json' });
    assert.equal(config.logLevel, 'debug');
    assert.equal(config.logFormat, 'json');
  });

  it('rejects a malformed log level from the environment', () => {
    assert.throws(() => defaultConfig('/w', { ZKTS_LOG_LEVEL: 'loud' }), {
      name: 'ConfigError',
      message: "environment: ZKTS_LOG_LEVEL: expected one of trace, debug, info, warn, error, fatal, got 'loud'",
    });
  });
});

describe('parseConfig on a realistic zoo.cfg', () => {
  const text = cfg(
    '# The number of milliseconds of each tick',
    'tickTime=2000',
    '# The number of ticks that the initial ',
    '# synchronization phase can take',
    'initLimit=10',
    '# The number of ticks that can pass between ',
    '# sending a request and getting an acknowledgement',
    'syncLimit=5',
    '# the directory where the snapshot is stored.',
    'dataDir=/var/lib/zookeeper',
    'dataLogDir=/var/log/zookeeper/txn',
    '# the port at which the clients will connect',
    'clientPort=2181',
    'clientPortAddress=10.0.0.5',
    'maxClientCnxns=100',
    'maxCnxns=5000',
    'minSessionTimeout=6000',
    'maxSessionTimeout=90000',
    'globalOutstandingLimit=2000',
    'autopurge.snapRetainCount=5',
    'autopurge.purgeInterval=24',
    '4lw.commands.whitelist=stat, ruok, conf, isro',
    'admin.enableServer=false',
    'admin.serverPort=9090',
    'jute.maxbuffer=4194304',
    'extendedTypesEnabled=true',
    'superDigest=super:D/InIHSb7yEEbrWz8b9l71RjZJU=',
    'znode.container.checkIntervalMs=1000',
    'snapCount=50000',
    'preAllocSize=16384',
    'forceSync=no',
    'fsync.warningthresholdms=250',
    'skipACL=yes',
    'localSessionsEnabled=true',
    'reconfigEnabled=true',
    'metricsProvider.className=org.apache.zookeeper.metrics.prometheus.PrometheusMetricsProvider',
    'metricsProvider.httpPort=7000',
    'zkts.logLevel=warn',
    'server.1=zk1.example.com:2888:3888',
    'server.2=zk2.example.com:2888:3888',
    'server.3=zk3.example.com:2888:3888;2181',
    'server.4=zk4.example.com:2888:3888:observer',
  );
  const { config, warnings } = parse(text);

  it('reads every key, warning only of what zkts does not implement', () => {
    assert.deepEqual(warnings, [
      'localSessionsEnabled is ignored: every zkts session is global',
      'reconfigEnabled: dynamic reconfiguration is not implemented; reconfig requests are checked as ZooKeeper checks them, and those it would carry out get Unimplemented',
    ]);
  });

  it('reads the core keys', () => {
    assert.equal(config.source, 'zoo.cfg');
    assert.equal(config.tickTimeMs, 2000);
    assert.equal(config.dataDir, '/var/lib/zookeeper');
    assert.equal(config.dataLogDir, '/var/log/zookeeper/txn');
    assert.equal(config.clientPort, 2181);
    assert.equal(config.clientPortAddress, '10.0.0.5');
    assert.equal(config.maxClientCnxns, 100);
    assert.equal(config.maxCnxns, 5000);
    assert.equal(config.minSessionTimeoutMs, 6000);
    assert.equal(config.maxSessionTimeoutMs, 90000);
    assert.equal(config.globalOutstandingLimit, 2000);
    assert.deepEqual([...config.fourLetterWords].sort(), ['conf', 'isro', 'ruok', 'srvr', 'stat']);
    assert.equal(config.logLevel, 'warn');
  });

  it('reads the system-property keys', () => {
    assert.equal(config.juteMaxBuffer, 4194304);
    assert.equal(config.extendedTypesEnabled, true);
    assert.equal(config.superDigest, 'super:D/InIHSb7yEEbrWz8b9l71RjZJU=');
    assert.equal(config.containerCheckIntervalMs, 1000);
    assert.equal(config.snapCount, 50000);
    assert.equal(config.preAllocSizeKb, 16384);
    assert.equal(config.forceSync, false);
    assert.equal(config.fsyncWarningThresholdMs, 250);
    assert.equal(config.skipACL, true);
  });

  it('reads the keys for later work', () => {
    assert.equal(config.initLimit, 10);
    assert.equal(config.syncLimit, 5);
    assert.equal(config.autopurgeSnapRetainCount, 5);
    assert.equal(config.autopurgePurgeIntervalHours, 24);
    assert.equal(config.localSessionsEnabled, true);
    assert.equal(config.reconfigEnabled, true);
    assert.equal(config.admin.enableServer, false);
    assert.equal(config.admin.serverPort, 9090);
    assert.equal(config.admin.serverAddress, '0.0.0.0');
    assert.deepEqual(config.servers, [
      { id: 1, host: 'zk1.example.com', quorumPort: 2888, electionPort: 3888, role: 'participant' },
      { id: 2, host: 'zk2.example.com', quorumPort: 2888, electionPort: 3888, role: 'participant' },
      { id: 3, host: 'zk3.example.com', quorumPort: 2888, electionPort: 3888, role: 'participant', clientPort: 2181 },
      { id: 4, host: 'zk4.example.com', quorumPort: 2888, electionPort: 3888, role: 'observer' },
    ]);
    assert.deepEqual(
      [...config.extraProperties],
      [
        ['metricsProvider.className', 'org.apache.zookeeper.metrics.prometheus.PrometheusMetricsProvider'],
        ['metricsProvider.httpPort', '7000'],
      ],
    );
  });

  it('reads the Debian example zoo.cfg as ZooKeeper does', () => {
    const example = cfg(
      'tickTime=2000',
      'initLimit=10',
      'syncLimit=5',
      'dataDir=/tmp/zookeeper',
      'clientPort=2181',
      '#maxClientCnxns=60',
      '#autopurge.purgeInterval=1',
      '#metricsProvider.httpHost=0.0.0.0',
    );
    const parsed = parse(example);
    assert.deepEqual(parsed.warnings, []);
    assert.equal(parsed.config.clientPortAddress, '0.0.0.0');
    assert.equal(parsed.config.maxClientCnxns, 60);
  });
});

describe('file defaults', () => {
  it("uses ZooKeeper's tickTime default of 3000 ms and derives the session bounds from it", () => {
    const config = configOf();
    assert.equal(config.tickTimeMs, 3000);
    assert.equal(config.minSessionTimeoutMs, 6000);
    assert.equal(config.maxSessionTimeoutMs, 60000);
    assert.equal(config.clientPortAddress, '0.0.0.0');
    assert.equal(config.admin.serverAddress, '0.0.0.0');
  });

  it('derives session bounds from tickTime, with -1 meaning the default', () => {
    const config = configOf('tickTime=500', 'minSessionTimeout=-1', 'maxSessionTimeout=-1');
    assert.equal(config.minSessionTimeoutMs, 1000);
    assert.equal(config.maxSessionTimeoutMs, 10000);
  });

  it('resolves a relative dataDir and dataLogDir against the working directory', () => {
    const config = parse(cfg('dataDir=data', 'dataLogDir=../txlog', 'clientPort=2181')).config;
    assert.equal(config.dataDir, '/srv/zk/data');
    assert.equal(config.dataLogDir, '/srv/txlog');
  });

  it('lets dataLogDir default to dataDir', () => {
    assert.equal(configOf().dataLogDir, '/var/lib/zk');
  });

  it('refuses a secure-only server, since TLS is not implemented yet', () => {
    assert.equal(
      errorOf(cfg('dataDir=/d', 'secureClientPort=2281')),
      'zoo.cfg: only secureClientPort is set, and zkts does not implement TLS yet: no client could connect (set clientPort)',
    );
  });
});

describe('key aliases', () => {
  const cases: [field: keyof ServerConfig, expected: unknown, ...lines: string[]][] = [
    ['juteMaxBuffer', 2048, 'jute.maxbuffer=2048'],
    ['juteMaxBuffer', 2048, 'zookeeper.jute.maxbuffer=2048'],
    ['juteMaxBuffer', 0x400000, 'jute.maxbuffer=0x400000'],
    ['extendedTypesEnabled', true, 'extendedTypesEnabled=true'],
    ['extendedTypesEnabled', true, 'zookeeper.extendedTypesEnabled=true'],
    ['superDigest', 'super:abc=', 'superDigest=super:abc='],
    ['superDigest', 'super:abc=', 'DigestAuthenticationProvider.superDigest=super:abc='],
    ['superDigest', 'super:abc=', 'zookeeper.DigestAuthenticationProvider.superDigest=super:abc='],
    ['containerCheckIntervalMs', 5, 'znode.container.checkIntervalMs=5'],
    ['containerMaxPerMinute', 7, 'znode.container.maxPerMinute=7'],
    ['containerMaxNeverUsedIntervalMs', 9, 'znode.container.maxNeverUsedIntervalMs=9'],
    ['skipACL', true, 'zookeeper.skipACL=yes'],
    ['skipACL', true, 'skipACL=TRUE'],
    ['snapCount', 10, 'zookeeper.snapCount=10'],
    ['preAllocSizeKb', 1024, 'zookeeper.preAllocSize=1024'],
    ['forceSync', false, 'zookeeper.forceSync=no'],
    ['fsyncWarningThresholdMs', 5, 'zookeeper.fsync.warningthresholdms=5'],
    ['maxBatchSize', 50, 'zookeeper.maxBatchSize=50'],
    ['commitLogCount', 800, 'zookeeper.commitLogCount=800'],
    ['snapSizeLimitInKb', -1, 'zookeeper.snapSizeLimitInKb=-1'],
    ['globalOutstandingLimit', 3, 'zookeeper.globalOutstandingLimit=3'],
    ['enforceQuota', true, 'zookeeper.enforceQuota=true'],
    ['readOnlyModeEnabled', true, 'readonlymode.enabled=true'],
    ['readOnlyModeEnabled', true, 'zookeeper.readonlymode.enabled=true'],
    ['digestEnabled', false, 'zookeeper.digest.enabled=false'],
    ['flushDelayMs', 10, 'zookeeper.flushDelay=10'],
    ['maxCnxns', 10, 'zookeeper.maxCnxns=10'],
    ['leaderServes', false, 'zookeeper.leaderServes=no'],
    ['cnxTimeoutMs', 100, 'zookeeper.cnxTimeout=100'],
  ];
  for (const [field, expected, ...lines] of cases) {
    it(`${lines.join(' ')} sets ${field}`, () => {
      const { config, warnings } = parse(cfg('dataDir=/d', 'clientPort=2181', ...lines));
      assert.deepEqual(config[field], expected);
      assert.deepEqual(warnings.filter((w) => !w.includes(' is ignored: ')), []);
    });
  }

  it('reads the whitelist under both names', () => {
    assert.ok(configOf('4lw.commands.whitelist=ruok').fourLetterWords.has('ruok'));
    assert.ok(configOf('zookeeper.4lw.commands.whitelist=ruok').fourLetterWords.has('ruok'));
  });

  it('reads admin settings under their system-property names', () => {
    const { admin } = configOf(
      'zookeeper.admin.enableServer=false',
      'zookeeper.admin.serverPort=9999',
      'zookeeper.admin.serverAddress=[::1]',
      'zookeeper.admin.commandURL=/cmd',
      'zookeeper.admin.idleTimeout=5',
    );
    assert.deepEqual(admin, {
      enableServer: false,
      serverAddress: '::1',
      serverPort: 9999,
      commandURL: '/cmd',
      idleTimeoutMs: 5,
    });
  });

  it('lets the later of two aliases win, with a warning naming both lines', () => {
    const { config, warnings } = parse(cfg('dataDir=/d', 'clientPort=2181', 'snapCount=10', 'zookeeper.snapCount=20'));
    assert.equal(config.snapCount, 20);
    assert.deepEqual(warnings, [
      "zoo.cfg:4: duplicate key 'zookeeper.snapCount' (already set at zoo.cfg:3 as 'snapCount'); the last value wins",
    ]);
  });

  it('lets a repeated key keep its last value, with a warning', () => {
    const { config, warnings } = parse(cfg('dataDir=/d', 'clientPort=2181', 'tickTime=100', 'tickTime=200'));
    assert.equal(config.tickTimeMs, 200);
    assert.deepEqual(warnings, ["zoo.cfg:4: duplicate key 'tickTime' (already set at zoo.cfg:3); the last value wins"]);
  });

  it('ignores a malformed value that a later line overrides, as Java Properties keeps only the last', () => {
    assert.equal(configOf('tickTime=soon', 'tickTime=200').tickTimeMs, 200);
  });
});

describe('properties syntax', () => {
  it('accepts =, : and whitespace as separators, and trims keys and values', () => {
    const config = parse(
      cfg('   dataDir = /data  ', 'clientPort: 2181', 'tickTime 1500', '\tmaxClientCnxns\t=\t7\t', 'maxCnxns  :  8'),
    ).config;
    assert.equal(config.dataDir, '/data');
    assert.equal(config.clientPort, 2181);
    assert.equal(config.tickTimeMs, 1500);
    assert.equal(config.maxClientCnxns, 7);
    assert.equal(config.maxCnxns, 8);
  });

  it('skips # and ! comments and blank lines, and reports later lines by their number', () => {
    const message = errorOf(cfg('# comment', '! also a comment', '', '   ', 'dataDir=/d', 'tickTime=x'));
    assert.equal(message, "zoo.cfg:6: tickTime: expected a positive integer, got 'x'");
  });

  it('joins continuation lines, dropping the leading whitespace of each', () => {
    const config = configOf('4lw.commands.whitelist=ruok, \\', '    stat, \\', '    conf');
    assert.deepEqual([...config.fourLetterWords].sort(), ['conf', 'ruok', 'srvr', 'stat']);
  });

  it('reports an error in a continued entry at the line the entry starts on', () => {
    const message = errorWith('tickTime=\\', '  12\\', '  x', 'maxCnxns=1');
    assert.equal(message, "zoo.cfg:3: tickTime: expected a positive integer, got '12x'");
  });

  it('counts lines correctly after a continuation', () => {
    assert.match(errorWith('initLimit=\\', '  5', 'syncLimit=no'), /^zoo\.cfg:5: syncLimit:/);
  });

  it('treats an even number of trailing backslashes as escaped backslashes, not a continuation', () => {
    const config = configOf('superUser=a\\\\', 'snapCount=10');
    assert.equal(config.extraProperties.get('superUser'), 'a\\');
    assert.equal(config.snapCount, 10);
  });

  it('does not continue a comment that ends in a backslash', () => {
    assert.equal(configOf('# a comment \\', 'snapCount=10').snapCount, 10);
  });

  it('drops a continuation backslash on the last line', () => {
    assert.equal(configOf('snapCount=10\\').snapCount, 10);
  });

  it('decodes Java escapes', () => {
    const config = configOf('dataLogDir=/logs/caf\\u00e9', 'superUser=a\\:b\\=c');
    assert.equal(config.dataLogDir, '/logs/café');
    assert.equal(config.extraProperties.get('superUser'), 'a:b=c');
  });

  it('reads escaped separators as part of the key', () => {
    const { warnings } = parse(cfg('dataDir=/d', 'clientPort=2181', 'odd\\=key=1'));
    assert.deepEqual(warnings, ["zoo.cfg:3: unknown key 'odd=key' (ignored)"]);
  });

  it('rejects a malformed \\u escape, naming the line', () => {
    assert.equal(errorWith('dataLogDir=/x\\u12'), "zoo.cfg:3: malformed \\uxxxx escape '\\u12'");
  });

  it('handles CRLF line endings and a byte-order mark', () => {
    const config = parse('\uFEFFdataDir=/d\r\nclientPort=2182\r\ntickTime=100\r\n').config;
    assert.equal(config.clientPort, 2182);
    assert.equal(config.tickTimeMs, 100);
  });

  it('takes the first separator only; the rest belongs to the value', () => {
    assert.equal(configOf('superUser = = x').extraProperties.get('superUser'), '= x');
  });
});

describe('values', () => {
  it('accepts booleans as true/false/yes/no in any case', () => {
    assert.equal(configOf('localSessionsEnabled=Yes').localSessionsEnabled, true);
    assert.equal(configOf('localSessionsEnabled=TRUE').localSessionsEnabled, true);
    assert.equal(configOf('reconfigEnabled=No').reconfigEnabled, false);
    assert.equal(configOf('leaderServes=false').leaderServes, false);
  });

  it('raises snapCount, commitLogCount and autopurge.snapRetainCount to their floors with a warning', () => {
    const { config, warnings } = parse(
      cfg('dataDir=/d', 'clientPort=2181', 'snapCount=1', 'commitLogCount=10', 'autopurge.snapRetainCount=1'),
    );
    assert.equal(config.snapCount, 2);
    assert.equal(config.commitLogCount, 500);
    assert.equal(config.autopurgeSnapRetainCount, 3);
    assert.deepEqual(warnings, [
      'zoo.cfg:3: snapCount: 1 is below the minimum 2; using 2',
      'zoo.cfg:4: commitLogCount: 10 is below the minimum 500; using 500',
      'zoo.cfg:5: autopurge.snapRetainCount: 1 is below the minimum 3; using 3',
    ]);
  });

  it('accepts a leading plus sign, as Integer.parseInt does', () => {
    assert.equal(configOf('tickTime=+100').tickTimeMs, 100);
  });

  it('reads the logging keys, the file winning over the environment', () => {
    const text = cfg('dataDir=/d', 'clientPort=2181', 'zkts.logLevel=error', 'zkts.logFormat=JSON');
    const config = parse(text, { ZKTS_LOG_LEVEL: 'trace', ZKTS_LOG_FORMAT: 'text' }).config;
    assert.equal(config.logLevel, 'error');
    assert.equal(config.logFormat, 'json');
    assert.equal(parse(cfg('dataDir=/d', 'clientPort=2181'), { ZKTS_LOG_LEVEL: 'trace' }).config.logLevel, 'trace');
  });
});

describe('four-letter words', () => {
  it("expands '*' to every word", () => {
    assert.deepEqual([...configOf('4lw.commands.whitelist=*').fourLetterWords].sort(), [...FOUR_LETTER_WORDS].sort());
  });

  it('splits on commas and spaces and lowercases', () => {
    const words = configOf('4lw.commands.whitelist=RUOK,stat  mntr ,, conf').fourLetterWords;
    assert.deepEqual([...words].sort(), ['conf', 'mntr', 'ruok', 'srvr', 'stat']);
  });

  it('always enables srvr, and isro in read-only mode', () => {
    assert.deepEqual([...configOf('4lw.commands.whitelist=').fourLetterWords], ['srvr']);
    assert.deepEqual([...configOf('readonlymode.enabled=true').fourLetterWords].sort(), ['isro', 'srvr']);
  });

  it('warns about an unknown word', () => {
    assert.deepEqual(warningsOf('4lw.commands.whitelist=ruok, sttat'), [
      "zoo.cfg:3: 4lw.commands.whitelist: unknown four-letter word 'sttat' (ignored)",
    ]);
  });
});

describe('unknown keys', () => {
  it('are warnings, not errors', () => {
    const { config, warnings } = parse(cfg('dataDir=/d', 'clientPort=2181', 'foo=bar', 'zookeeper.nonsense=1'));
    assert.equal(config.clientPort, 2181);
    assert.deepEqual(warnings, [
      "zoo.cfg:3: unknown key 'foo' (ignored)",
      "zoo.cfg:4: unknown key 'zookeeper.nonsense' (ignored)",
    ]);
  });

  it('include a misspelt ssl key', () => {
    assert.deepEqual(warningsOf('ssl.keystore.location=/k.jks'), [
      "zoo.cfg:3: unknown key 'ssl.keystore.location' (ignored)",
    ]);
  });
});

describe('ssl and other recognised keys', () => {
  it('keeps ssl keys under their zoo.cfg names, booleans normalised', () => {
    const config = configOf(
      'secureClientPort=2281',
      'zookeeper.ssl.keyStore.location=/etc/zk/keystore.jks',
      'ssl.keyStore.password=secret',
      'ssl.quorum.hostnameVerification=YES',
      'ssl.clientAuth=want',
      'sslQuorum=no',
      'secureClientPortAddress=[::]',
    );
    assert.equal(config.secureClientPort, 2281);
    assert.deepEqual(
      [...config.ssl],
      [
        ['ssl.keyStore.location', '/etc/zk/keystore.jks'],
        ['ssl.keyStore.password', 'secret'],
        ['ssl.quorum.hostnameVerification', 'true'],
        ['ssl.clientAuth', 'want'],
        ['sslQuorum', 'false'],
        ['secureClientPortAddress', '::'],
      ],
    );
  });

  it('says which settings ask for what zkts does not do yet', () => {
    assert.deepEqual(warningsOf('secureClientPort=2281', 'readonlymode.enabled=true', 'localSessionsEnabled=true', 'reconfigEnabled=true'), [
      'secureClientPort is ignored: zkts does not implement TLS yet; clients connect to clientPort 2181 only',
      'localSessionsEnabled is ignored: every zkts session is global',
      'reconfigEnabled: dynamic reconfiguration is not implemented; reconfig requests are checked as ZooKeeper checks them, and those it would carry out get Unimplemented',
    ]);
    assert.equal(errorWith('sslQuorum=true'), 'zoo.cfg: sslQuorum=true asks for TLS between servers, which zkts does not implement yet');
    assert.equal(
      errorWith('quorum.auth.enableSasl=true'),
      'zoo.cfg: quorum.auth.enableSasl=true asks for SASL between servers, which zkts does not implement yet',
    );
  });

  const malformed: [line: string, message: string][] = [
    ['ssl.keyStore.location=', "ssl.keyStore.location: expected a value, got ''"],
    ['ssl.crl=maybe', "ssl.crl: expected true/false or yes/no, got 'maybe'"],
    ['ssl.clientAuth=always', "ssl.clientAuth: expected one of none, want, need, got 'always'"],
    ['syncEnabled=sometimes', "syncEnabled: expected true/false or yes/no, got 'sometimes'"],
    ['txnLogSizeLimitInKb=1MB', "txnLogSizeLimitInKb: expected an integer, got '1MB'"],
    ['connectionDropIncrease=lots', "connectionDropIncrease: expected a number, got 'lots'"],
  ];
  for (const [line, message] of malformed) {
    it(`rejects ${line}`, () => assert.equal(errorWith(line), `zoo.cfg:3: ${message}`));
  }

  it('rejects secureClientPortAddress without secureClientPort', () => {
    assert.equal(
      errorWith('secureClientPortAddress=0.0.0.0'),
      'zoo.cfg:3: secureClientPortAddress is set but secureClientPort is not set',
    );
  });

  it('reads SASL settings: the JAAS file (relative to the working directory), its section, the providers', () => {
    const config = configOf(
      'java.security.auth.login.config=conf/jaas.conf',
      'zookeeper.sasl.serverconfig=ZkServer',
      'authProvider.1=org.apache.zookeeper.server.auth.SASLAuthenticationProvider',
    );
    assert.equal(config.jaasConfigFile, '/srv/zk/conf/jaas.conf');
    assert.equal(config.saslServerSection, 'ZkServer');
    assert.deepEqual([...config.providerAclSchemes], ['sasl']);
    const defaults = configOf();
    assert.equal(defaults.jaasConfigFile, undefined);
    assert.equal(defaults.saslServerSection, 'Server');
    assert.deepEqual([...defaults.providerAclSchemes], []);
  });

  it('warns of authentication providers zkts does not implement, and adds no scheme for built-in ones', () => {
    const lines = [
      'zookeeper.authProvider.x509=org.apache.zookeeper.server.auth.X509AuthenticationProvider',
      'authProvider.2=org.apache.zookeeper.server.auth.DigestAuthenticationProvider',
    ];
    assert.deepEqual(warningsOf(...lines), [
      'authProvider.x509: authentication provider org.apache.zookeeper.server.auth.X509AuthenticationProvider is not implemented by zkts (ignored)',
    ]);
    assert.deepEqual([...configOf(...lines).providerAclSchemes], []);
  });

  it('keeps recognised-but-unused properties under their canonical names', () => {
    const config = configOf(
      'zookeeper.observer.syncEnabled=false',
      'zookeeper.connection_throttle_tokens=100',
      'connectionDropIncrease=0.05',
      'zookeeper.authProvider.1=org.apache.zookeeper.server.auth.SASLAuthenticationProvider',
      'observerMasterPort=2191',
    );
    assert.deepEqual(
      [...config.extraProperties],
      [
        ['syncEnabled', 'false'],
        ['connectionMaxTokens', '100'],
        ['connectionDropIncrease', '0.05'],
        ['authProvider.1', 'org.apache.zookeeper.server.auth.SASLAuthenticationProvider'],
        ['observerMasterPort', '2191'],
      ],
    );
  });
});

describe('server.N lines', () => {
  function servers(...lines: string[]): ServerConfig['servers'] {
    return configOf('initLimit=5', 'syncLimit=2', ...lines).servers;
  }

  it('reads host, ports and role, defaulting to participant', () => {
    const list = servers('server.1=a:2888:3888', 'server.2=b:2888:3888:participant', 'server.3=c:2888:3888:OBSERVER');
    assert.deepEqual(list, [
      { id: 1, host: 'a', quorumPort: 2888, electionPort: 3888, role: 'participant' },
      { id: 2, host: 'b', quorumPort: 2888, electionPort: 3888, role: 'participant' },
      { id: 3, host: 'c', quorumPort: 2888, electionPort: 3888, role: 'observer' },
    ]);
  });

  it('reads a client port with or without a client host', () => {
    const [portOnly, hostAndPort] = servers('server.1=a:2888:3888;2181', 'server.2=b:2888:3888;127.0.0.1:2182');
    assert.equal(portOnly.clientHost, undefined);
    assert.equal(portOnly.clientPort, 2181);
    assert.equal(hostAndPort.clientHost, '127.0.0.1');
    assert.equal(hostAndPort.clientPort, 2182);
  });

  it('reads IPv6 addresses in brackets', () => {
    const [loopback, linkLocal] = servers(
      'server.1=[::1]:2888:3888;[::1]:2181',
      'server.2=[fe80::2]:2888:3888:observer',
      'server.3=c:1:2',
    );
    assert.deepEqual(loopback, {
      id: 1,
      host: '::1',
      quorumPort: 2888,
      electionPort: 3888,
      role: 'participant',
      clientHost: '::1',
      clientPort: 2181,
    });
    assert.deepEqual(linkLocal, { id: 2, host: 'fe80::2', quorumPort: 2888, electionPort: 3888, role: 'observer' });
  });

  it('ignores an empty client part, as Java String.split does', () => {
    assert.equal(servers('server.1=a:2888:3888;', 'server.2=b:2888:3888')[0].clientPort, undefined);
  });

  it('lets several servers on one host use different ports', () => {
    const list = servers(
      'server.1=localhost:2888:3888;2181',
      'server.2=localhost:2889:3889;2182',
      'server.3=localhost:2890:3890;2183',
    );
    assert.equal(list.length, 3);
  });

  it('takes clientPort from the server lines when they agree on one', () => {
    const text = cfg('dataDir=/d', ...ENSEMBLE.slice(0, 2), 'server.1=a:2888:3888;2185', 'server.2=b:2888:3888;2185');
    assert.equal(parse(text).config.clientPort, 2185);
  });

  it('needs no initLimit for a single participant, which ZooKeeper runs standalone', () => {
    assert.equal(configOf('server.1=a:2888:3888').initLimit, 0);
  });

  it('accepts a lone participant with observers when standaloneEnabled=false', () => {
    const lines = ['server.1=a:1:2', 'server.2=b:1:2:observer'];
    const config = configOf('standaloneEnabled=false', ...ENSEMBLE.slice(0, 2), ...lines);
    assert.equal(config.servers.length, 2);
  });

  it('needs a participant when standaloneEnabled=false', () => {
    assert.equal(
      errorWith('standaloneEnabled=false'),
      'zoo.cfg:3: standaloneEnabled: false needs server.N lines with a participant',
    );
  });
});

describe('errors', () => {
  it('names the file, line and key of a malformed integer', () => {
    assert.equal(
      errorOf(cfg('dataDir=/d', 'clientPort=2181', '', '# tick', '', '', 'tickTime=abc')),
      "zoo.cfg:7: tickTime: expected a positive integer, got 'abc'",
    );
  });

  /** A line 3 and the message after `zoo.cfg:3: `. */
  const malformed: [line: string, message: string][] = [
    ['maxClientCnxns=1.5', "maxClientCnxns: expected a non-negative integer, got '1.5'"],
    ['maxClientCnxns=-1', "maxClientCnxns: expected a non-negative integer, got '-1'"],
    ['tickTime=0', "tickTime: expected a positive integer, got '0'"],
    ['tickTime=3000000000', "tickTime: expected a positive integer, got '3000000000'"],
    ['jute.maxbuffer=1e6', "jute.maxbuffer: expected a positive integer, got '1e6'"],
    ['minSessionTimeout=-5', "minSessionTimeout: expected a time in milliseconds, or -1 for the default, got '-5'"],
    ['admin.serverPort=0', "admin.serverPort: expected a port number from 1 to 65535, got '0'"],
    ['clientPort=65536', "clientPort: expected a port number from 1 to 65535, or 0 for none, got '65536'"],
    ['skipACL=maybe', "skipACL: expected true/false or yes/no, got 'maybe'"],
    ['zookeeper.forceSync=sometimes', "zookeeper.forceSync: expected true/false or yes/no, got 'sometimes'"],
    ['peerType=voter', "peerType: expected one of participant, observer, got 'voter'"],
    ['electionAlg=1', "electionAlg: expected 3 (fast leader election, the only one since 3.6), got '1'"],
    [
      'superDigest=super',
      "superDigest: expected user:base64-digest, such as super:D/InIHSb7yEEbrWz8b9l71RjZJU=, got 'super'",
    ],
    ['admin.commandURL=commands', "admin.commandURL: expected a URL path starting with '/', got 'commands'"],
    ['clientPortAddress=a b', "clientPortAddress: expected a host name or address, got 'a b'"],
    ['dataLogDir=', "dataLogDir: expected a value, got ''"],
    ['zkts.logFormat=xml', "zkts.logFormat: expected one of text, json, got 'xml'"],
  ];
  for (const [line, message] of malformed) {
    it(`rejects ${line}`, () => assert.equal(errorWith(line), `zoo.cfg:3: ${message}`));
  }

  it('rejects minSessionTimeout above maxSessionTimeout', () => {
    assert.equal(
      errorWith('minSessionTimeout=50000', 'maxSessionTimeout=40000'),
      'zoo.cfg:3: minSessionTimeout: minSessionTimeout (50000) must not be larger than maxSessionTimeout (40000)',
    );
    assert.equal(
      errorWith('tickTime=2000', 'maxSessionTimeout=1000'),
      'zoo.cfg:4: maxSessionTimeout: minSessionTimeout (4000) must not be larger than maxSessionTimeout (1000)',
    );
  });

  it('requires dataDir and a client port', () => {
    assert.equal(errorOf(cfg('clientPort=2181')), 'zoo.cfg: dataDir is not set');
    const noClientPort = 'zoo.cfg: clientPort is not set (set clientPort or secureClientPort)';
    assert.equal(errorOf(cfg('dataDir=/d')), noClientPort);
    assert.equal(errorOf(cfg('dataDir=/d', 'clientPort=0')), noClientPort);
    assert.equal(
      errorOf(cfg('dataDir=/d', 'clientPortAddress=127.0.0.1')),
      'zoo.cfg:2: clientPortAddress is set but clientPort is not set',
    );
  });

  it('does not guess clientPort when the server lines disagree', () => {
    const message = errorOf(cfg('dataDir=/d', ...ENSEMBLE.slice(0, 2), 'server.1=h:1:2;2181', 'server.2=h:3:4;2182'));
    assert.equal(message, 'zoo.cfg: clientPort is not set (set clientPort or secureClientPort)');
  });

  it('requires initLimit and syncLimit for an ensemble', () => {
    const servers = ENSEMBLE.slice(2);
    assert.equal(
      errorWith('syncLimit=5', ...servers),
      'zoo.cfg:4: initLimit is not set; an ensemble (server.1 and others) needs it',
    );
    assert.equal(
      errorWith('initLimit=5', ...servers),
      'zoo.cfg:4: syncLimit is not set; an ensemble (server.1 and others) needs it',
    );
    assert.equal(
      errorWith('initLimit=0', ...ENSEMBLE.slice(1)),
      "zoo.cfg:3: initLimit: expected a positive integer, got '0'",
    );
  });

  it('rejects duplicate server ids', () => {
    assert.equal(
      errorWith(...ENSEMBLE, 'server.2=zk9.example.com:2888:3888'),
      'zoo.cfg:8: server.2: duplicate server id 2 (already given at zoo.cfg:6)',
    );
    assert.equal(
      errorWith(...ENSEMBLE, 'server.03=zk9.example.com:2888:3888'),
      'zoo.cfg:8: server.03: duplicate server id 3 (already given at zoo.cfg:7)',
    );
  });

  it('rejects a server id that is not a non-negative integer', () => {
    assert.equal(errorWith('server.-1=a:1:2'), 'zoo.cfg:3: server.-1: the server id must be a non-negative integer');
    assert.equal(errorWith('server.one=a:1:2'), 'zoo.cfg:3: server.one: the server id must be a non-negative integer');
  });

  it('rejects malformed server lines', () => {
    const format =
      'expected host:quorumPort:electionPort[:participant|:observer][;[clientHost:]clientPort], ' +
      'with an IPv6 host in brackets';
    const cases: [value: string, problem: string][] = [
      ['zk1', format],
      ['zk1:2888', format],
      [':2888:3888', format],
      ['zk1:2888:3888:participant:extra', format],
      ['::1:2888:3888', format],
      ['[::1:2888:3888', format],
      ['zk1:2888:3888;a:b:2181', format],
      ['zk1:2888:3888;2181;2182', format],
      ['zk1:2888:3888:voter', 'expected the role participant or observer'],
      ['zk1:http:3888', 'quorum port: expected a port number from 1 to 65535'],
      ['zk1:2888:70000', 'election port: expected a port number from 1 to 65535'],
      ['zk1:2888:3888;0', 'client port: expected a port number from 1 to 65535'],
      ['zk1:2888:2888', 'the quorum and election ports must differ'],
      ['zk1:2888:3888|zk1b:2888:3888', 'several addresses per server (multiAddress) are not supported'],
    ];
    for (const [value, problem] of cases) {
      assert.equal(errorWith(`server.1=${value}`), `zoo.cfg:3: server.1: ${problem}, got '${value}'`, value);
    }
  });

  it('rejects two servers on the same host and port', () => {
    assert.equal(
      errorWith('initLimit=5', 'syncLimit=2', 'server.1=h:2888:3888', 'server.2=H:3888:3999'),
      'zoo.cfg:6: server.2: h:3888 is already the election port of server.1',
    );
    assert.equal(
      errorWith('initLimit=5', 'syncLimit=2', 'server.1=h:2888:3888;2181', 'server.2=h:2181:3999'),
      'zoo.cfg:6: server.2: h:2181 is already the client port of server.1',
    );
  });

  it('rejects observers without participants, or without a quorum', () => {
    assert.equal(errorWith('server.1=a:1:2:observer'), 'zoo.cfg:3: server.1: observers need at least one participant');
    assert.equal(
      errorWith('server.1=a:1:2', 'server.2=b:1:2:observer'),
      'zoo.cfg:4: server.2: observers need a quorum of two or more participants (or standaloneEnabled=false)',
    );
  });
});

describe('loadConfig', () => {
  it('returns the embedded defaults without a path', () => {
    const { config, warnings } = loadConfig(undefined);
    assert.equal(config.source, '<embedded defaults>');
    assert.equal(config.clientPort, 2181);
    assert.deepEqual(warnings, []);
  });

  it('reads a file, naming it in messages', () => {
    const dir = mkdtempSync(join(tmpdir(), 'zkts-config-'));
    try {
      const path = join(dir, 'zoo.cfg');
      writeFileSync(path, cfg('dataDir=/d', 'clientPort=2190', 'bogus=1'));
      const { config, warnings } = loadConfig(path);
      assert.equal(config.source, path);
      assert.equal(config.clientPort, 2190);
      assert.deepEqual(warnings, [`${path}:3: unknown key 'bogus' (ignored)`]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('reports an unreadable file clearly', () => {
    const path = join(tmpdir(), 'zkts-no-such-dir', 'zoo.cfg');
    assert.throws(() => loadConfig(path), (error: unknown) => {
      assert.ok(error instanceof ConfigError);
      assert.match(error.message, /cannot read the configuration file: ENOENT/);
      assert.ok(error.message.startsWith(`${path}: `));
      return true;
    });
  });
});

describe('describeConfig', () => {
  it("prints ZooKeeper's conf lines for a standalone server", () => {
    const config = configOf('tickTime=2000', 'maxClientCnxns=10', 'clientPortListenBacklog=128');
    assert.deepEqual(describeConfig(config, { dataDirSize: 4096 }), [
      ['clientPort', '2181'],
      ['secureClientPort', '-1'],
      ['dataDir', '/var/lib/zk/version-2'],
      ['dataDirSize', '4096'],
      ['dataLogDir', '/var/lib/zk/version-2'],
      ['dataLogSize', '0'],
      ['tickTime', '2000'],
      ['maxClientCnxns', '10'],
      ['minSessionTimeout', '4000'],
      ['maxSessionTimeout', '40000'],
      ['clientPortListenBacklog', '128'],
      ['serverId', '0'],
    ]);
  });

  it('adds the quorum lines and membership for an ensemble', () => {
    const config = configOf(
      'initLimit=10',
      'syncLimit=5',
      'server.2=b:2889:3889;127.0.0.1:2182',
      'server.1=a:2888:3888',
      'server.3=[::1]:2890:3890:observer;2183',
    );
    const text = formatConf(describeConfig(config, { serverId: 2 }));
    assert.ok(
      text.endsWith(
        [
          'serverId=2',
          'initLimit=10',
          'syncLimit=5',
          'electionAlg=3',
          'electionPort=3889',
          'quorumPort=2889',
          'peerType=0',
          'membership: ',
          'server.1=a:2888:3888:participant',
          'server.2=b:2889:3889:participant;127.0.0.1:2182',
          'server.3=[::1]:2890:3890:observer;0.0.0.0:2183',
          // QuorumVerifier.toString ends without a newline.
          'version=0',
        ].join('\n'),
      ),
      text,
    );
  });
});
