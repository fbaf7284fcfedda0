/**
 * Starts Apache ZooKeeper 3.8 (the Debian `zookeeper` package) as the
 * reference server for differential tests: one standalone JVM running
 * ZooKeeperServerMain on 127.0.0.1 with its own config, data and log4j config
 * in a temp dir. Nothing under /etc/zookeeper, /var/lib/zookeeper or
 * /var/log/zookeeper is read or written, and the Debian scripts are not used.
 */
import { accessSync, constants, existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import { fourLetterWord, formatConfig, launchZkServer, type ZkServerHandle } from './zkts-server.js';

export interface StartReferenceZkOptions {
  /** zoo.cfg settings; override the generated ones of the same name. */
  extraConfig?: Record<string, string>;
  /** Appended after DEFAULT_REFERENCE_JVM_FLAGS, so a repeated -D or -Xmx wins over the default. */
  jvmFlags?: string[];
  /** Root log level of the server's stdout log. Default INFO. */
  logLevel?: 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';
  /** How long the JVM may take to serve requests. Default 60 s. */
  readyTimeoutMs?: number;
}

const JAVA_LIB = '/usr/share/java';
/**
 * zookeeper.jar's manifest brings its dependencies (slf4j-api among them) but
 * no slf4j binding, so the server would log nothing; bind slf4j to log4j 1.2,
 * which the Debian package depends on.
 */
const CLASSPATH = ['zookeeper.jar', 'slf4j-log4j12.jar', 'log4j-1.2.jar'].map((jar) => join(JAVA_LIB, jar));

export const DEFAULT_REFERENCE_JVM_FLAGS: readonly string[] = [
  '-Xmx256m',
  // Faster start and less CPU on a small machine; the tests do not need peak throughput.
  '-XX:+UseSerialGC',
  '-XX:TieredStopAtLevel=1',
  // No /tmp/hsperfdata_<user>/<pid> file, which a SIGKILLed JVM would leave behind.
  '-XX:-UsePerfData',
  '-Djava.net.preferIPv4Stack=true',
  '-Dzookeeper.extendedTypesEnabled=true', // TTL nodes
  '-Dznode.container.checkIntervalMs=1000', // empty containers are reaped within seconds, not minutes
];

/** Starts a standalone reference ZooKeeper and waits until it answers ruok and srvr. */
export async function startReferenceZk(opts: StartReferenceZkOptions = {}): Promise<ZkServerHandle> {
  const java = findJava();
  if (java === undefined || !jarsInstalled()) {
    throw new Error(`reference ZooKeeper not available: need java and ${CLASSPATH.join(', ')} (apt-get install zookeeper)`);
  }
  return launchZkServer({
    name: 'reference-zk',
    tempPrefix: 'zkts-reference-zk-',
    readyTimeoutMs: opts.readyTimeoutMs ?? 60_000,
    isReady: async (port) => {
      if ((await fourLetterWord('127.0.0.1', port, 'ruok')) !== 'imok') return false;
      // srvr answers "not currently serving requests" until the database is loaded.
      return /^Mode: /m.test(await fourLetterWord('127.0.0.1', port, 'srvr'));
    },
    prepare: async (port, workDir) => {
      const dataDir = join(workDir, 'data');
      await mkdir(dataDir);
      const config = {
        tickTime: '2000',
        initLimit: '10',
        syncLimit: '5',
        clientPort: String(port),
        clientPortAddress: '127.0.0.1',
        dataDir,
        'admin.enableServer': 'false',
        '4lw.commands.whitelist': '*',
        ...opts.extraConfig,
      };
      const cfgPath = join(workDir, 'zoo.cfg');
      await writeFile(cfgPath, formatConfig(config) + '\n');
      const log4jPath = join(workDir, 'log4j.properties');
      await writeFile(log4jPath, log4jConfig(opts.logLevel ?? 'INFO'));
      return {
        command: java,
        args: [
          ...DEFAULT_REFERENCE_JVM_FLAGS,
          ...(opts.jvmFlags ?? []),
          `-Dlog4j.configuration=file:${log4jPath}`,
          '-cp',
          CLASSPATH.join(':'),
          'org.apache.zookeeper.server.ZooKeeperServerMain',
          cfgPath,
        ],
        env: process.env,
        dataDir: config.dataDir,
      };
    },
  });
}

/** True when java and the Debian ZooKeeper jars are installed. */
export function isReferenceZkAvailable(): boolean {
  return findJava() !== undefined && jarsInstalled();
}

/**
 * The `skip` option for tests that need reference tools, given as
 * { name: isXAvailable() }: a message naming the missing ones, or false when
 * the tests should run. With CI set it never skips: there a missing install
 * must fail the run, not hide the tests.
 */
export function skipUnlessInstalled(tools: Record<string, boolean>): string | false {
  const missing = Object.entries(tools)
    .filter(([, installed]) => !installed)
    .map(([name]) => name);
  if (missing.length === 0 || process.env.CI) return false;
  return `not installed: ${missing.join(', ')} (apt-get install zookeeper zookeeper-bin python3-kazoo)`;
}

function jarsInstalled(): boolean {
  return CLASSPATH.every((jar) => existsSync(jar));
}

/** $JAVA_HOME/bin/java, else java on PATH. */
function findJava(): string | undefined {
  const candidates = [
    ...(process.env.JAVA_HOME ? [join(process.env.JAVA_HOME, 'bin', 'java')] : []),
    ...(process.env.PATH ?? '').split(delimiter).filter((dir) => dir !== '').map((dir) => join(dir, 'java')),
  ];
  return candidates.find(isExecutable);
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function log4jConfig(level: string): string {
  return [
    `log4j.rootLogger=${level}, CONSOLE`,
    'log4j.appender.CONSOLE=org.apache.log4j.ConsoleAppender',
    'log4j.appender.CONSOLE.Target=System.out',
    'log4j.appender.CONSOLE.layout=org.apache.log4j.PatternLayout',
    'log4j.appender.CONSOLE.layout.ConversionPattern=%d{ISO8601} %-5p [%t:%C{1}@%L] - %m%n',
    '',
  ].join('\n');
}
