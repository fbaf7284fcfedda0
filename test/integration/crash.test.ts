/**
 * Durability under kill -9: a zkts server under a stream of concurrent
 * writes from several clients is killed with SIGKILL at random moments,
 * many times. After each restart every acknowledged write must be there
 * with the right data and version, no multi is half-applied, and the zxids
 * go on from where the log ends, in the next epoch (recovery itself refuses
 * a gap).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, describe, it } from 'node:test';
import { connectNzk, type NzkClient } from '../harness/nzk.js';
import { allocatePorts } from '../harness/ports.js';
import { removeAtExit, sleep, spawnManaged, waitFor, type ManagedProcess } from '../harness/process.js';
import { fourLetterWord, formatConfig } from '../harness/zkts-server.js';

const ROUNDS = Number(process.env.ZKTS_CRASH_ROUNDS ?? 8);
const WRITERS = 4;
const ZKTS_MAIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

/** A zkts server on a data dir that outlives it, so it can be killed and restarted. */
class RestartableServer {
  private proc: ManagedProcess | null = null;
  readonly workDir = mkdtempSync(join(tmpdir(), 'zkts-crash-'));
  private readonly releaseWorkDir = removeAtExit(this.workDir);

  constructor(readonly port: number) {
    writeFileSync(
      join(this.workDir, 'zoo.cfg'),
      formatConfig({
        tickTime: '2000',
        clientPort: String(port),
        clientPortAddress: '127.0.0.1',
        dataDir: join(this.workDir, 'data'),
        '4lw.commands.whitelist': '*',
        // Small, so snapshots are taken (and interrupted) during the test.
        snapCount: '300',
        preAllocSize: '256',
      }),
    );
  }

  get connectString(): string {
    return `127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    const proc = spawnManaged(process.execPath, [ZKTS_MAIN, 'server', join(this.workDir, 'zoo.cfg')], {
      name: `zkts-crash:${this.port}`,
      cwd: this.workDir,
    });
    this.proc = proc;
    await waitFor(async () => (await fourLetterWord('127.0.0.1', this.port, 'ruok').catch(() => '')) === 'imok', {
      what: 'the restarted server to answer ruok',
      timeoutMs: 60_000,
      giveUpIf: () => (proc.running ? undefined : 'the server exited'),
      diagnostics: () => proc.describe(),
    });
  }

  async kill9(): Promise<void> {
    await this.proc?.kill9();
    this.proc = null;
  }

  async zxid(): Promise<bigint> {
    const srvr = await fourLetterWord('127.0.0.1', this.port, 'srvr');
    return BigInt(/Zxid: (0x[0-9a-f]+)/.exec(srvr)![1]!);
  }

  async destroy(): Promise<void> {
    await this.proc?.stop();
    rmSync(this.workDir, { recursive: true, force: true });
    this.releaseWorkDir();
  }
}

/** What one writer asked for and what the server acknowledged. */
interface WriterLog {
  /** Highest value acknowledged for the writer's counter node (its version equals its value). */
  ackedValue: number;
  /** Highest value ever sent. */
  attemptedValue: number;
  /** Multis acknowledged, and all attempted (each creates two nodes). */
  ackedMultis: string[];
  attemptedMultis: string[];
  maxAckedZxid: bigint;
}

/** Writes until the connection dies: setData with version checks, and two-node multis. */
async function runWriter(client: NzkClient, id: number, log: WriterLog, round: number): Promise<void> {
  const node = `/crash/w${id}`;
  try {
    for (let step = 0; ; step++) {
      if (step % 3 === 2) {
        const name = `/crash/m-${id}-${round}-${step}`;
        log.attemptedMultis.push(name);
        const results = await client.transaction([
          { op: 'create', path: `${name}-a`, data: 'a' },
          { op: 'create', path: `${name}-b`, data: 'b' },
        ]);
        log.ackedMultis.push(name);
        const zxid = results[0]?.stat?.czxid;
        if (zxid !== undefined && zxid > log.maxAckedZxid) log.maxAckedZxid = zxid;
      } else {
        const value = log.ackedValue + 1;
        log.attemptedValue = Math.max(log.attemptedValue, value);
        const stat = await client.setData(node, String(value), log.ackedValue);
        assert.equal(stat.version, value);
        log.ackedValue = value;
        if (stat.mzxid > log.maxAckedZxid) log.maxAckedZxid = stat.mzxid;
      }
    }
  } catch {
    // The server was killed: this writer's round is over.
  }
}

describe('kill -9 during concurrent writes', () => {
  let server: RestartableServer | undefined;
  after(async () => {
    await server?.destroy();
  });

  it(`loses no acknowledged write across ${ROUNDS} crashes`, { timeout: 600_000 }, async () => {
    const [port] = await allocatePorts(1);
    const srv = new RestartableServer(port!);
    server = srv;
    await srv.start();
    const setup = await connectNzk(srv.connectString);
    await setup.create('/crash');
    for (let w = 0; w < WRITERS; w++) await setup.create(`/crash/w${w}`, '0');
    await setup.close();
    const logs: WriterLog[] = Array.from({ length: WRITERS }, () => ({
      ackedValue: 0,
      attemptedValue: 0,
      ackedMultis: [],
      attemptedMultis: [],
      maxAckedZxid: 0n,
    }));

    for (let round = 0; round < ROUNDS; round++) {
      const clients = await Promise.all(logs.map(() => connectNzk(srv.connectString)));
      const writers = clients.map((client, w) => runWriter(client, w, logs[w]!, round));
      await sleep(150 + Math.floor(Math.random() * 1200));
      await srv.kill9();
      await Promise.all(writers);
      await Promise.all(clients.map((c) => c.close()));

      await srv.start();
      const recoveredZxid: bigint = await srv.zxid();
      const checker = await connectNzk(srv.connectString);
      try {
        for (const [w, log] of logs.entries()) {
          assert.ok(recoveredZxid >= log.maxAckedZxid, `round ${round}: recovered zxid ${recoveredZxid} < acked ${log.maxAckedZxid}`);
          const { data, stat } = await checker.getData(`/crash/w${w}`);
          const value = Number(data!.toString());
          // Durable but unacknowledged writes may survive; acknowledged ones must.
          assert.ok(value >= log.ackedValue && value <= log.attemptedValue, `round ${round} writer ${w}: ${value} not in [${log.ackedValue}, ${log.attemptedValue}]`);
          assert.equal(stat.version, value, `round ${round} writer ${w}: version and data disagree`);
          log.ackedValue = value;
          log.attemptedValue = value;
          for (const name of log.attemptedMultis) {
            const [a, b] = await Promise.all([checker.exists(`${name}-a`), checker.exists(`${name}-b`)]);
            assert.equal(a === null, b === null, `round ${round}: multi ${name} half-applied`);
            if (log.ackedMultis.includes(name)) assert.ok(a !== null, `round ${round}: acknowledged multi ${name} lost`);
          }
          log.attemptedMultis = [];
          log.ackedMultis = [];
        }
        // A restart starts a new epoch (a standalone server is an ensemble of
        // one): the checker's session is its first transaction, so this create
        // is the second, right after the recovered log.
        const created = await checker.create(`/crash/after-${round}`);
        const { stat } = await checker.getData(created);
        const epoch = (recoveredZxid >> 32n) + 1n;
        assert.equal(stat.czxid, (epoch << 32n) + 2n);
      } finally {
        await checker.close();
      }
    }
  });
});
