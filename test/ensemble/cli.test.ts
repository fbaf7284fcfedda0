/**
 * `zkts ensemble`: three servers from generated configs, one leader, data
 * written through one server readable through another, everything gone after
 * SIGTERM, and the same data again on a second run over the same dir.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { ZkClient } from '../../src/client/mod.js';
import { allocatePorts, isFree } from '../harness/ports.js';
import { removeAtExit, spawnManaged, waitFor, withTimeout, type ManagedProcess } from '../harness/process.js';
import { fourLetterWord } from '../harness/zkts-server.js';

const ZKTS_MAIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const SERVERS = 3;
const STARTUP_MS = 60_000;

describe('zkts ensemble', () => {
  it('runs three servers in the foreground, stops them on SIGTERM, and reuses the data', { timeout: 180_000 }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'zkts-ensemble-cli-'));
    const releaseDir = removeAtExit(dir);
    try {
      const basePort = await freeBasePort();
      const ports = Array.from({ length: SERVERS }, (_, i) => basePort + i);

      const first = await startCommand(basePort, dir);
      try {
        const modes = await Promise.all(ports.map(async (port) => /^Mode: (\S+)$/m.exec(await fourLetterWord('127.0.0.1', port, 'srvr'))?.[1]));
        assert.deepEqual(modes.filter((m) => m === 'leader').length, 1, `modes: ${modes}`);
        const writer = await ZkClient.connect(`127.0.0.1:${ports[0]}`);
        await writer.create('/from-server-1', 'hello');
        await writer.close();
        const reader = await ZkClient.connect(`127.0.0.1:${ports[1]}`);
        await reader.sync('/from-server-1');
        assert.equal((await reader.getData('/from-server-1')).data?.toString(), 'hello');
        await reader.close();
        await stopCommand(first.proc, first.serverPids);
      } finally {
        await first.proc.stop();
      }

      const second = await startCommand(basePort, dir);
      try {
        assert.match(second.proc.stdout, /reusing the data in /);
        const reader = await ZkClient.connect(ports.map((port) => `127.0.0.1:${port}`).join(','));
        assert.equal((await reader.getData('/from-server-1')).data?.toString(), 'hello');
        await reader.close();
        await stopCommand(second.proc, second.serverPids);
      } finally {
        await second.proc.stop();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
      releaseDir();
    }
  });
});

/** A base port with the client, quorum and election ports of every server free. */
async function freeBasePort(): Promise<number> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const [base] = await allocatePorts(SERVERS);
    const needed = [0, 1000, 2000].flatMap((offset) => Array.from({ length: SERVERS }, (_, i) => base! + offset + i));
    if ((await Promise.all(needed.map(isFree))).every(Boolean)) return base!;
  }
  throw new Error('no base port with all ensemble ports free');
}

/** Starts the command and waits until it reports a leader; returns the servers' pids it printed. */
async function startCommand(basePort: number, dir: string): Promise<{ proc: ManagedProcess; serverPids: number[] }> {
  const proc = spawnManaged(process.execPath, [ZKTS_MAIN, 'ensemble', '--servers', String(SERVERS), '--base-port', String(basePort), '--dir', dir], {
    name: 'zkts ensemble',
    collectOutput: true,
  });
  await waitFor(() => /\[ensemble\] server \d leads/.test(proc.stdout), {
    what: 'zkts ensemble to report a leader',
    timeoutMs: STARTUP_MS,
    giveUpIf: () => (proc.running ? undefined : 'it exited'),
    diagnostics: () => proc.describe(),
  });
  const started = /\[ensemble\] servers started: (.*)$/m.exec(proc.stdout)?.[1] ?? '';
  const serverPids = [...started.matchAll(/pid (\d+)/g)].map((m) => Number(m[1]));
  assert.equal(serverPids.length, SERVERS, `could not read the pids from: ${started}`);
  return { proc, serverPids };
}

/** SIGTERM to the command alone (not its process group): it must stop every server and exit 0. */
async function stopCommand(proc: ManagedProcess, serverPids: number[]): Promise<void> {
  process.kill(proc.pid, 'SIGTERM');
  const exit = await withTimeout(proc.exited, 60_000);
  assert.deepEqual(exit, { code: 0, signal: null }, proc.describe());
  assert.match(proc.stdout, /all servers stopped/);
  for (const pid of serverPids) assert.ok(!isRunning(pid), `server pid ${pid} outlived zkts ensemble`);
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
