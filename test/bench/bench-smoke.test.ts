// Smoke test of `zkts bench` against a zkts server: it runs, reports what it
// promises in its JSON and writes a chart. No timing is checked: the
// benchmark's figures are for the benchmark, not for tests.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { ZkClient } from '../../src/client/mod.js';
import { runProcess } from '../harness/process.js';
import { startZkts, type ZkServerHandle } from '../harness/zkts-server.js';

const ZKTS_MAIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url)); // from dist/test/bench/

describe('zkts bench', () => {
  let server: ZkServerHandle;
  let dir: string;
  before(async () => {
    server = await startZkts();
    dir = await mkdtemp(join(tmpdir(), 'zkts-bench-smoke-'));
  });
  after(async () => {
    await server?.stop();
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  async function bench(args: string[]): Promise<Record<string, unknown>> {
    const result = await runProcess(process.execPath, [ZKTS_MAIN, 'bench', '--connect', server.connectString, '--json', '--quiet', ...args], {
      name: 'zkts bench',
      timeoutMs: 60_000,
    });
    assert.equal(result.code, 0, result.stderr);
    return JSON.parse(result.stdout) as Record<string, unknown>;
  }

  test('a timed run reports throughput, latency percentiles, a timeline and client CPU, and draws a chart', async () => {
    const chart = join(dir, 'chart.svg');
    const out = await bench(['--workload', 'mixed', '--duration', '2', '--warmup', '0.5', '--workers', '2', '--sessions', '2', '--outstanding', '4', '--chart', chart]);
    assert.equal(out.workload, 'mixed');
    assert.equal(typeof out.opsPerSec, 'number');
    assert.ok((out.ops as number) > 0);
    assert.deepEqual(out.errors, {});
    const latency = out.latencyMs as Record<string, unknown>;
    for (const key of ['min', 'mean', 'p50', 'p90', 'p99', 'p999', 'max']) assert.equal(typeof latency[key], 'number', key);
    assert.ok(Array.isArray(out.timeline) && out.timeline.length > 0);
    const client = out.client as { workerCpuPercent: unknown[]; limited: unknown };
    assert.equal(client.workerCpuPercent.length, 2);
    assert.equal(typeof client.limited, 'boolean');
    assert.ok(Array.isArray(out.warnings));
    assert.match(await readFile(chart, 'utf8'), /^<svg [^]*<\/svg>\n$/);
  });

  for (const workload of ['create', 'setData', 'getData', 'watch', 'churn', 'multi']) {
    test(`${workload}: a run of a fixed number of operations completes them all`, async () => {
      const out = await bench(['--workload', workload, '--ops', '200', '--workers', '1', '--sessions', '2', '--outstanding', '4', '--znodes', '20']);
      assert.equal(out.ops, 200);
      assert.deepEqual(out.errors, {});
    });
  }

  test('cleans up after itself', async () => {
    const result = await runProcess(process.execPath, [ZKTS_MAIN, 'bench', '--connect', server.connectString, '--workload', 'create', '--ops', '50', '--quiet', '--workers', '1', '--sessions', '1'], {
      name: 'zkts bench',
      timeoutMs: 60_000,
    });
    assert.equal(result.code, 0, result.stderr);
    const client = await ZkClient.connect(server.connectString);
    try {
      assert.equal(await client.exists('/zkts-bench'), null);
    } finally {
      await client.close();
    }
  });
});
