/**
 * Starts the zkts server under test, and holds what every ZooKeeper-protocol
 * server launcher shares (reference-zk.ts builds on it): the handle type, the
 * four-letter-word client, and launching on a fresh port until it is ready.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { allocatePorts } from './ports.js';
import { removeAtExit, spawnManaged, waitFor, type ManagedProcess } from './process.js';

export interface ZkServerHandle {
  host: '127.0.0.1';
  port: number;
  /** "127.0.0.1:port", for clients. */
  connectString: string;
  dataDir: string;
  proc: ManagedProcess;
  /** Stops the process (SIGTERM, then SIGKILL) and removes its temp dir. Idempotent. */
  stop(): Promise<void>;
}

export interface StartZktsOptions {
  /** zoo.cfg settings; override the generated ones of the same name. */
  config?: Record<string, string>;
  /** Appended verbatim to the generated zoo.cfg; must leave clientPort and clientPortAddress alone. */
  cfgText?: string;
  /** Added to this process's environment. */
  env?: Record<string, string>;
  /** How long the server may take to answer ruok. Default 30 s. */
  readyTimeoutMs?: number;
}

const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url)); // from dist/test/harness/
const ZKTS_MAIN = join(REPO_ROOT, 'dist', 'src', 'cli', 'main.js');

/** Starts `node dist/src/cli/main.js server <zoo.cfg>` and waits until it answers ruok. */
export async function startZkts(opts: StartZktsOptions = {}): Promise<ZkServerHandle> {
  if (!existsSync(ZKTS_MAIN)) throw new Error(`zkts is not built: ${ZKTS_MAIN} is missing (run tsc -p .)`);
  return launchZkServer({
    name: 'zkts',
    tempPrefix: 'zkts-server-',
    readyTimeoutMs: opts.readyTimeoutMs ?? 30_000,
    isReady: async (port) => (await fourLetterWord('127.0.0.1', port, 'ruok')) === 'imok',
    prepare: async (port, workDir) => {
      const dataDir = join(workDir, 'data');
      const config = {
        tickTime: '2000',
        clientPort: String(port),
        clientPortAddress: '127.0.0.1',
        dataDir,
        '4lw.commands.whitelist': '*',
        ...opts.config,
      };
      const cfgPath = join(workDir, 'zoo.cfg');
      await writeFile(cfgPath, formatConfig(config) + (opts.cfgText ? `\n${opts.cfgText}\n` : ''));
      return {
        command: process.execPath,
        args: [ZKTS_MAIN, 'server', cfgPath],
        env: { ...process.env, ...opts.env },
        dataDir: config.dataDir,
      };
    },
  });
}

/**
 * Sends a four-letter word (ruok, srvr, stat, mntr, ...) over a fresh
 * connection and returns everything the server sends before closing it.
 */
export function fourLetterWord(host: string, port: number, word: string, timeoutMs = 10_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const socket = connect({ host, port });
    socket.setTimeout(timeoutMs, () => socket.destroy(new Error(`4lw ${word} to ${host}:${port}: no answer in ${timeoutMs} ms`)));
    socket.once('connect', () => socket.write(word));
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.once('error', reject);
    socket.once('close', (hadError) => {
      if (!hadError) resolve(Buffer.concat(chunks).toString('utf8'));
    });
  });
}

export function formatConfig(config: Record<string, string>): string {
  return Object.entries(config)
    .map(([key, value]) => `${key}=${value}`)
    .join('\n');
}

export interface LaunchPlan {
  command: string;
  args: string[];
  env: NodeJS.ProcessEnv;
  /** The dataDir the server was configured with. */
  dataDir: string;
}

export interface LaunchOptions {
  name: string;
  /** Prefix of the temp dir (under os.tmpdir()) holding config, data and logs. */
  tempPrefix: string;
  readyTimeoutMs: number;
  isReady: (port: number) => Promise<boolean>;
  /** Writes whatever the server needs into workDir for this port; says how to run it. */
  prepare: (port: number, workDir: string) => Promise<LaunchPlan>;
}

/** Bind failures are retried with a new port: a port checked free can be taken before the server binds it. */
const LAUNCH_ATTEMPTS = 3;
const ADDRESS_IN_USE = /Address already in use|EADDRINUSE|BindException/;

/**
 * Starts a server in a fresh temp dir on a freshly allocated port and waits
 * until isReady; on failure everything is stopped and removed again.
 */
export async function launchZkServer(opts: LaunchOptions): Promise<ZkServerHandle> {
  for (let attempt = 1; ; attempt++) {
    const [port] = await allocatePorts(1);
    if (port === undefined) throw new Error('allocatePorts returned no port');
    const workDir = await mkdtemp(join(tmpdir(), opts.tempPrefix));
    const releaseWorkDir = removeAtExit(workDir);
    let proc: ManagedProcess | undefined;
    try {
      const plan = await opts.prepare(port, workDir);
      proc = spawnManaged(plan.command, plan.args, { name: `${opts.name}:${port}`, cwd: workDir, env: plan.env });
      const started = proc;
      // Not proc.running: give up only once the output is all read, so the error shows why it exited.
      let exited = false;
      void started.exited.then(() => (exited = true));
      await waitFor(async () => opts.isReady(port), {
        what: `${opts.name} on 127.0.0.1:${port} to be ready`,
        timeoutMs: opts.readyTimeoutMs,
        giveUpIf: () => (exited ? 'the process exited' : undefined),
        diagnostics: () => started.describe(),
      });
      return serverHandle(port, plan.dataDir, started, async () => {
        await rm(workDir, { recursive: true, force: true });
        releaseWorkDir();
      });
    } catch (err) {
      await proc?.stop();
      const portTaken = proc !== undefined && ADDRESS_IN_USE.test(proc.recentOutput());
      await rm(workDir, { recursive: true, force: true });
      releaseWorkDir();
      if (!portTaken || attempt === LAUNCH_ATTEMPTS) throw err;
    }
  }
}

function serverHandle(port: number, dataDir: string, proc: ManagedProcess, removeWorkDir: () => Promise<void>): ZkServerHandle {
  let stopping: Promise<void> | undefined;
  return {
    host: '127.0.0.1',
    port,
    connectString: `127.0.0.1:${port}`,
    dataDir,
    proc,
    stop() {
      stopping ??= (async () => {
        await proc.stop();
        await removeWorkDir();
      })();
      return stopping;
    },
  };
}
