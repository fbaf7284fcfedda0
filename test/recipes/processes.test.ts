/**
 * Recipes used by several processes at once (workers/*.ts), against one
 * server: the lock never has two holders and the latch never two leaders,
 * as the server sees it (a marker node each holder creates on entry, and a
 * log of entries and exits in commit order), also when a holder is paused
 * with SIGSTOP until the server expires its session, when a proxy keeps
 * cutting the workers' connections, and when the server is killed and
 * restarted; the queue loses and duplicates nothing in the same conditions.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import type { ZkClient } from '../../src/client/mod.js';
import { allocatePorts } from '../harness/ports.js';
import { removeAtExit, spawnManaged, waitFor, withTimeout, type ManagedProcess } from '../harness/process.js';
import { fourLetterWord, formatConfig } from '../harness/zkts-server.js';
import { ClientPool, TcpProxy, serverKind, startTestServer, type TestServer } from '../client/helpers.js';
import { sleep, uniquePath, until } from './util.js';

const WORKERS_DIR = fileURLToPath(new URL('./workers/', import.meta.url));
const ZKTS_MAIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
/** Generous: a loaded two-core machine runs these workers slowly. */
const WORKER_DEADLINE_MS = 240_000;
const TEST_TIMEOUT_MS = 480_000;

/** Worker processes of one test; every one is stopped by the after hook. */
class Workers {
  private readonly procs: ManagedProcess[] = [];

  spawn(script: 'lock-worker' | 'latch-worker' | 'queue-worker', name: string, settings: object): ManagedProcess {
    const proc = spawnManaged(process.execPath, [join(WORKERS_DIR, `${script}.js`), JSON.stringify(settings)], {
      name,
      collectOutput: true,
    });
    this.procs.push(proc);
    return proc;
  }

  /** Waits for a line of a worker's output that starts with `prefix`. */
  async line(proc: ManagedProcess, prefix: string, timeoutMs = WORKER_DEADLINE_MS): Promise<string> {
    // Not proc.running: give up only once its output is all read, which may hold the line.
    let exited = false;
    void proc.exited.then(() => (exited = true));
    const find = (): string | undefined => linesOf(proc).find((line) => line.startsWith(prefix));
    return waitFor(find, {
      what: `${proc.name} to print ${prefix}`,
      timeoutMs,
      intervalMs: 50,
      giveUpIf: () => (exited && find() === undefined ? 'it exited' : undefined),
      diagnostics: () => proc.describe(),
    });
  }

  /** Waits for every worker to exit and checks each exited 0 without reporting a violation. */
  async finish(procs: readonly ManagedProcess[] = this.procs): Promise<void> {
    for (const proc of procs) {
      const exit = await withTimeout(proc.exited, WORKER_DEADLINE_MS);
      assert.ok(exit !== undefined, `${proc.name} did not finish\n${proc.describe()}`);
      assert.equal(exit.code, 0, `${proc.name} failed\n${proc.describe()}`);
      assert.deepEqual(linesOf(proc).filter((line) => line.startsWith('VIOLATION')), [], `${proc.name} saw a second holder`);
    }
  }

  get running(): boolean {
    return this.procs.some((proc) => proc.running);
  }

  async stopAll(): Promise<void> {
    await Promise.all(this.procs.splice(0).map((proc) => proc.stop()));
  }
}

function linesOf(proc: ManagedProcess): string[] {
  return proc.stdout.split('\n').filter((line) => line !== '');
}

/** The tokens whose holder reported losing what it held (their "enter" may have no "exit"). */
function lostTokens(procs: readonly ManagedProcess[]): Set<string> {
  const tokens = new Set<string>();
  for (const proc of procs) for (const line of linesOf(proc)) if (line.startsWith('LOST ')) tokens.add(line.split(' ')[1]!);
  return tokens;
}

/** The log of entries and exits, in the order the server committed them. */
async function readLog(client: ZkClient, logPath: string): Promise<string[]> {
  const names = (await client.getChildren(logPath)).sort();
  return Promise.all(names.map(async (name) => (await client.getData(`${logPath}/${name}`)).data!.toString('utf8')));
}

/**
 * One holder at a time: each "enter" comes after the previous holder's
 * "exit", unless that holder lost what it held (session expired: its exit
 * never happened, and the server had already removed its node and marker).
 */
function assertOneAtATime(log: readonly string[], lost: ReadonlySet<string>): void {
  let inside: string | null = null;
  for (const [index, entry] of log.entries()) {
    const [kind, token] = entry.split(' ') as ['enter' | 'exit', string];
    if (kind === 'enter') {
      assert.ok(inside === null || lost.has(inside), `entry ${index}: ${token} entered while ${inside} was inside\n${log.join('\n')}`);
      inside = token;
    } else {
      assert.equal(token, inside, `entry ${index}: ${token} left, but ${inside} was inside\n${log.join('\n')}`);
      inside = null;
    }
  }
}

function countOf(log: readonly string[], kind: 'enter' | 'exit'): number {
  return log.filter((entry) => entry.startsWith(`${kind} `)).length;
}

/** Paths of one scenario's lock/latch, marker and log. */
async function scenario(client: ZkClient, label: string): Promise<{ recipePath: string; markerPath: string; logPath: string }> {
  const base = uniquePath(label);
  await client.create(base);
  await client.create(`${base}/log`);
  return { recipePath: `${base}/recipe`, markerPath: `${base}/marker`, logPath: `${base}/log` };
}

/** Cuts every connection through the proxy now and then, until `stop` says so. */
async function keepCutting(proxy: TcpProxy, stop: () => boolean): Promise<number> {
  let cuts = 0;
  while (!stop()) {
    await sleep(150 + Math.random() * 300);
    proxy.dropConnections();
    cuts++;
  }
  return cuts;
}

/** Checks that the queue delivered exactly the items put: none lost, none twice. */
function assertExactlyOnce(consumers: readonly ManagedProcess[], expected: readonly string[]): void {
  const taken = consumers.flatMap((proc) => linesOf(proc).filter((line) => line.startsWith('TOOK ')).map((line) => line.slice(5)));
  const counts = new Map<string, number>();
  for (const item of taken) counts.set(item, (counts.get(item) ?? 0) + 1);
  const duplicated = [...counts].filter(([, count]) => count > 1).map(([item]) => item);
  const missing = expected.filter((item) => !counts.has(item));
  const unexpected = [...counts.keys()].filter((item) => !expected.includes(item));
  assert.deepEqual({ duplicated, missing, unexpected }, { duplicated: [], missing: [], unexpected: [] });
}

describe('recipes in separate processes', () => {
  let server: TestServer;
  const pool = new ClientPool();
  const workers = new Workers();
  const proxies: TcpProxy[] = [];
  let observer: ZkClient;

  before(async () => {
    server = await startTestServer();
    observer = await pool.connect(server.connectString);
  });

  after(async () => {
    await workers.stopAll();
    await Promise.all(proxies.map((proxy) => proxy.stop()));
    await pool.closeAll();
    await server?.stop();
  });

  test('lock: four processes, eight rounds each, never two holders', { timeout: TEST_TIMEOUT_MS }, async () => {
    const paths = await scenario(observer, 'mp-lock');
    const procs = ['a', 'b', 'c', 'd'].map((id) =>
      workers.spawn('lock-worker', `lock-${id}`, { connectString: server.connectString, lockPath: paths.recipePath, ...paths, id, mode: 'loop', iterations: 8, sessionTimeoutMs: 30_000 }),
    );
    await workers.finish(procs);
    const log = await readLog(observer, paths.logPath);
    assertOneAtATime(log, lostTokens(procs));
    assert.equal(countOf(log, 'exit'), 32);
  });

  test('lock: a holder paused until its session expires has lost the lock; the next holder never overlaps it', { timeout: TEST_TIMEOUT_MS }, async () => {
    const paths = await scenario(observer, 'mp-lock-expiry');
    const common = { connectString: server.connectString, lockPath: paths.recipePath, ...paths };
    const holder = workers.spawn('lock-worker', 'lock-holder', { ...common, id: 'holder', mode: 'hold', iterations: 1, sessionTimeoutMs: 2_000 });
    await workers.line(holder, 'ENTERED holder:0');
    const next = workers.spawn('lock-worker', 'lock-next', { ...common, id: 'next', mode: 'loop', iterations: 2, sessionTimeoutMs: 30_000 });
    await until(async () => (await observer.getChildren(paths.recipePath)).length === 2, 'the second contender to queue', WORKER_DEADLINE_MS);
    holder.pause();
    try {
      // Only the server's expiry of the frozen holder's session can let the next one in.
      await workers.line(next, 'ENTERED next:0');
    } finally {
      holder.resume();
    }
    await workers.finish([holder, next]);
    const out = linesOf(holder);
    assert.ok(out.some((line) => line.startsWith('LOST holder:0')), `the holder noticed the loss\n${out.join('\n')}`);
    assert.ok(out.includes('OWNED false'));
    assert.ok(out.includes('EXIT-REJECTED SessionExpired'), `the server refused the stale holder's way out\n${out.join('\n')}`);
    const log = await readLog(observer, paths.logPath);
    assert.deepEqual(log, ['enter holder:0', 'enter next:0', 'exit next:0', 'enter next:1', 'exit next:1']);
    assertOneAtATime(log, new Set(['holder:0']));
  });

  test('lock: processes whose connections a proxy keeps cutting', { timeout: TEST_TIMEOUT_MS }, async () => {
    const paths = await scenario(observer, 'mp-lock-cuts');
    const proxy = await TcpProxy.start(server);
    proxies.push(proxy);
    const procs = ['a', 'b', 'c'].map((id) =>
      workers.spawn('lock-worker', `lock-cut-${id}`, { connectString: proxy.connectString, lockPath: paths.recipePath, ...paths, id, mode: 'loop', iterations: 8, sessionTimeoutMs: 30_000 }),
    );
    await Promise.all(procs.map((proc) => workers.line(proc, 'READY')));
    const cutting = keepCutting(proxy, () => !procs.some((proc) => proc.running));
    await workers.finish(procs);
    assert.ok((await cutting) > 0);
    const log = await readLog(observer, paths.logPath);
    assertOneAtATime(log, lostTokens(procs));
    assert.equal(countOf(log, 'exit'), 24);
    assert.deepEqual(await observer.getChildren(paths.recipePath).catch(() => []), [], 'no orphaned lock node');
  });

  test('leader latch: three processes, three terms each, exactly one leader at a time', { timeout: TEST_TIMEOUT_MS }, async () => {
    const paths = await scenario(observer, 'mp-latch');
    const procs = ['a', 'b', 'c'].map((id) =>
      workers.spawn('latch-worker', `latch-${id}`, { connectString: server.connectString, latchPath: paths.recipePath, ...paths, id, mode: 'rotate', terms: 3, sessionTimeoutMs: 30_000 }),
    );
    await workers.finish(procs);
    const log = await readLog(observer, paths.logPath);
    assertOneAtATime(log, lostTokens(procs));
    assert.equal(countOf(log, 'exit'), 9);
  });

  test('leader latch: a leader paused until its session expires loses leadership; the next leader never overlaps it', { timeout: TEST_TIMEOUT_MS }, async () => {
    const paths = await scenario(observer, 'mp-latch-expiry');
    const common = { connectString: server.connectString, latchPath: paths.recipePath, ...paths };
    const leader = workers.spawn('latch-worker', 'latch-leader', { ...common, id: 'leader', mode: 'hold', terms: 1, sessionTimeoutMs: 2_000 });
    await workers.line(leader, 'LEADING leader:0');
    const next = workers.spawn('latch-worker', 'latch-next', { ...common, id: 'next', mode: 'rotate', terms: 1, sessionTimeoutMs: 30_000 });
    await until(async () => (await observer.getChildren(paths.recipePath)).length === 2, 'the second participant to join', WORKER_DEADLINE_MS);
    leader.pause();
    try {
      await workers.line(next, 'LEADING next:0');
    } finally {
      leader.resume();
    }
    await workers.finish([leader, next]);
    const out = linesOf(leader);
    assert.ok(out.includes('LOST leader:0 closed'), out.join('\n'));
    assert.ok(out.includes('LEADER false'));
    assert.ok(out.includes('EXIT-REJECTED SessionExpired'), out.join('\n'));
    assert.deepEqual(await readLog(observer, paths.logPath), ['enter leader:0', 'enter next:0', 'exit next:0']);
  });

  for (const cut of [false, true]) {
    test(`queue: three producers and three consumers, every item exactly once${cut ? ', connections cut by a proxy' : ''}`, { timeout: TEST_TIMEOUT_MS }, async () => {
      const base = uniquePath(cut ? 'mp-queue-cuts' : 'mp-queue');
      let connectString = server.connectString;
      let proxy: TcpProxy | undefined;
      if (cut) {
        proxy = await TcpProxy.start(server);
        proxies.push(proxy);
        connectString = proxy.connectString;
      }
      const common = { connectString, queuePath: `${base}/queue`, donePath: `${base}/done`, sessionTimeoutMs: 30_000, count: 40 };
      const producers = ['p0', 'p1', 'p2'].map((id) => workers.spawn('queue-worker', `queue-${id}`, { ...common, id, role: 'producer' }));
      const consumers = ['c0', 'c1', 'c2'].map((id) => workers.spawn('queue-worker', `queue-${id}`, { ...common, id, role: 'consumer' }));
      const all = [...producers, ...consumers];
      await Promise.all(all.map((proc) => workers.line(proc, 'READY')));
      const cutting = proxy === undefined ? Promise.resolve(0) : keepCutting(proxy, () => !all.some((proc) => proc.running));
      await workers.finish(producers);
      await observer.create(`${base}/done`);
      await workers.finish(consumers);
      await cutting;
      const expected = ['p0', 'p1', 'p2'].flatMap((id) => Array.from({ length: 40 }, (_, i) => `${id}-${i}`));
      assertExactlyOnce(consumers, expected);
      const left = (await observer.getChildren(`${base}/queue`)).filter((name) => name.includes('qn-'));
      assert.deepEqual(left, [], 'the queue is empty');
    });
  }
});

/** A zkts server process on a port and data dir that outlive it, so that it can be killed and started again. */
class RestartableServer {
  private proc: ManagedProcess | null = null;
  private readonly workDir = mkdtempSync(join(tmpdir(), 'zkts-recipes-restart-'));
  private readonly releaseWorkDir = removeAtExit(this.workDir);

  constructor(readonly port: number) {
    writeFileSync(
      join(this.workDir, 'zoo.cfg'),
      formatConfig({
        tickTime: '200',
        minSessionTimeout: '400',
        maxSessionTimeout: '60000',
        clientPort: String(port),
        clientPortAddress: '127.0.0.1',
        dataDir: join(this.workDir, 'data'),
        '4lw.commands.whitelist': '*',
      }),
    );
  }

  get connectString(): string {
    return `127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    const proc = spawnManaged(process.execPath, [ZKTS_MAIN, 'server', join(this.workDir, 'zoo.cfg')], { name: `zkts-restart:${this.port}`, cwd: this.workDir });
    this.proc = proc;
    await waitFor(async () => (await fourLetterWord('127.0.0.1', this.port, 'ruok').catch(() => '')) === 'imok', {
      what: 'the zkts server to answer ruok',
      timeoutMs: 60_000,
      giveUpIf: () => (proc.running ? undefined : 'the server exited'),
      diagnostics: () => proc.describe(),
    });
  }

  async kill9(): Promise<void> {
    await this.proc?.kill9();
    this.proc = null;
  }

  async destroy(): Promise<void> {
    await this.proc?.stop();
    this.proc = null;
    rmSync(this.workDir, { recursive: true, force: true });
    this.releaseWorkDir();
  }
}

describe('recipes across a server restart', { skip: serverKind() === 'reference' ? 'restarts a zkts server process' : false }, () => {
  let server: RestartableServer | undefined;
  const pool = new ClientPool();
  const workers = new Workers();

  after(async () => {
    await workers.stopAll();
    await pool.closeAll();
    await server?.destroy();
  });

  test('lock and queue workers carry on through kill -9 and restarts of the server', { timeout: TEST_TIMEOUT_MS }, async () => {
    const [port] = await allocatePorts(1);
    server = new RestartableServer(port!);
    await server.start();
    const observer = await pool.connect(server.connectString);
    const paths = await scenario(observer, 'restart-lock');
    const queueBase = uniquePath('restart-queue');
    const lockers = ['a', 'b', 'c'].map((id) =>
      workers.spawn('lock-worker', `restart-lock-${id}`, { connectString: server!.connectString, lockPath: paths.recipePath, ...paths, id, mode: 'loop', iterations: 12, sessionTimeoutMs: 30_000 }),
    );
    const queueCommon = { connectString: server.connectString, queuePath: `${queueBase}/queue`, donePath: `${queueBase}/done`, sessionTimeoutMs: 30_000, count: 40 };
    const producers = ['p0', 'p1'].map((id) => workers.spawn('queue-worker', `restart-${id}`, { ...queueCommon, id, role: 'producer' }));
    const consumers = ['c0', 'c1'].map((id) => workers.spawn('queue-worker', `restart-${id}`, { ...queueCommon, id, role: 'consumer' }));
    const all = [...lockers, ...producers, ...consumers];
    await Promise.all(all.map((proc) => workers.line(proc, 'READY')));

    for (let restart = 0; restart < 2; restart++) {
      // Let some work happen first (progress, not time: an ENTERED or TOOK line after the last restart).
      const before = all.reduce((sum, proc) => sum + linesOf(proc).length, 0);
      await until(() => all.reduce((sum, proc) => sum + linesOf(proc).length, 0) > before + 3 || !all.some((p) => p.running), 'some progress');
      await server.kill9();
      await server.start();
    }
    await workers.finish([...lockers, ...producers]);
    // The observer's session survived the restarts too.
    await observer.create(`${queueBase}/done`);
    await workers.finish(consumers);

    const log = await readLog(observer, paths.logPath);
    assertOneAtATime(log, lostTokens(lockers));
    assert.equal(countOf(log, 'exit'), 36);
    const expected = ['p0', 'p1'].flatMap((id) => Array.from({ length: 40 }, (_, i) => `${id}-${i}`));
    assertExactlyOnce(consumers, expected);
  });
});
