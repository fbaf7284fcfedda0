// Tests of the test harness itself, against the reference ZooKeeper (the
// zkts server is exercised by the tests that use this harness).
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { isKazooAvailable, isKazooError, runKazoo } from '../harness/kazoo.js';
import { connectNzk, EventCollector } from '../harness/nzk.js';
import { allocatePorts, isFree } from '../harness/ports.js';
import { isGroupAlive, runProcess, spawnManaged, waitFor } from '../harness/process.js';
import { isReferenceZkAvailable, skipUnlessInstalled, startReferenceZk } from '../harness/reference-zk.js';
import { isZkCliAvailable, joinCommandLine, runZkCli, runZkCliBatch, splitCommandLine } from '../harness/zkcli.js';
import { fourLetterWord, type ZkServerHandle } from '../harness/zkts-server.js';

describe('ports', () => {
  test('allocatePorts hands out distinct free ports, never the same one twice', async () => {
    const first = await allocatePorts(3);
    const second = await allocatePorts(3);
    const all = [...first, ...second];
    assert.equal(new Set(all).size, 6);
    for (const port of all) {
      assert.ok(port >= 20000 && port < 60000, `port ${port} out of range`);
      assert.ok(await isFree(port), `port ${port} is not free`);
    }
  });
});

describe('managed processes', () => {
  test('stop() ends the whole process group, children included', async () => {
    const proc = spawnManaged('bash', ['-c', 'sleep 300 & echo started; wait'], { name: 'sleeper' });
    await waitFor(() => proc.recentOutput().includes('started'), { what: 'sleeper to start', diagnostics: () => proc.describe() });
    proc.pause();
    proc.resume();
    const exit = await proc.stop();
    assert.equal(exit.signal, 'SIGTERM');
    assert.equal(isGroupAlive(proc.pid), false);
  });

  test('kill9() ends a process that ignores SIGTERM', async () => {
    const proc = spawnManaged('bash', ['-c', "trap '' TERM; echo ready; while true; do sleep 1; done"], { name: 'stubborn' });
    await waitFor(() => proc.recentOutput().includes('ready'), { what: 'stubborn to start', diagnostics: () => proc.describe() });
    const exit = await proc.kill9();
    assert.equal(exit.signal, 'SIGKILL');
    assert.equal(isGroupAlive(proc.pid), false);
  });

  test('runProcess returns the complete output and feeds stdin', async () => {
    const result = await runProcess('bash', ['-c', 'cat; echo oops >&2; exit 3'], { name: 'cat', timeoutMs: 30_000, stdin: 'hello\n' });
    assert.deepEqual(result, { stdout: 'hello\n', stderr: 'oops\n', code: 3, signal: null });
  });

  test('waitFor reports what it waited for and the last error', async () => {
    await assert.rejects(
      waitFor(
        () => {
          throw new Error('not yet');
        },
        { what: 'the impossible', timeoutMs: 200 },
      ),
      /timed out after 200 ms waiting for the impossible\nlast error: not yet/,
    );
  });
});

describe('zkCli command lines', () => {
  test('are split like the zkCli shell splits them', () => {
    assert.deepEqual(splitCommandLine(`create /a "x y" 'p "q"' z ""`), ['create', '/a', 'x y', 'p "q"', 'z', '']);
  });

  test('argument arrays survive quoting', () => {
    const args = ['set', '/a', 'two words', 'say "hi"', "it's", ''];
    assert.deepEqual(splitCommandLine(joinCommandLine(args)), args);
  });
});

describe(
  'harness against reference ZooKeeper',
  { skip: skipUnlessInstalled({ 'reference ZooKeeper': isReferenceZkAvailable(), zkCli: isZkCliAvailable(), kazoo: isKazooAvailable() }) },
  () => {
    let zk: ZkServerHandle | undefined;
    const server = (): ZkServerHandle => {
      assert.ok(zk, 'reference ZooKeeper did not start');
      return zk;
    };

    before(async () => {
      zk = await startReferenceZk();
    });

    after(async () => {
      await zk?.stop();
    });

    test('four-letter words', async () => {
      const { host, port } = server();
      assert.equal(await fourLetterWord(host, port, 'ruok'), 'imok');
      assert.match(await fourLetterWord(host, port, 'srvr'), /^Zookeeper version: 3\.8\.\d+.*^Mode: standalone$/ms);
      assert.match(await fourLetterWord(host, port, 'mntr'), /^zk_server_state\tstandalone$/m);
    });

    test('kazoo: results, bytes, stats and errors', async () => {
      const created = await runKazoo(
        server().connectString,
        `
        zk.create("/kazoo", b"\\x00\\xffdata")
        data, stat = zk.get("/kazoo")
        result = {"data": data, "version": stat.version, "children": zk.get_children("/"), "session": zk.client_id[0]}
        `,
      );
      assert.deepEqual(created.data, Buffer.from([0x00, 0xff, ...Buffer.from('data')]));
      assert.equal(created.version, 0);
      assert.deepEqual([...created.children].sort(), ['kazoo', 'zookeeper']);
      assert.ok(['number', 'bigint'].includes(typeof created.session));

      const missing = await runKazoo(server().connectString, 'result = zk.get("/no/such/node")');
      assert.ok(isKazooError(missing));
      assert.equal(missing.error, 'NoNodeError');
    });

    test('zkCli one-shot commands', async () => {
      const ls = await runZkCli(server().connectString, ['ls', '/']);
      assert.equal(ls.code, 0, ls.stderr);
      assert.match(ls.stdout, /^\[.*zookeeper.*\]\n$/);
      assert.ok(ls.watchEvents.includes('WatchedEvent state:SyncConnected type:None path:null'));

      const create = await runZkCli(server().connectString, 'create /x "some data"');
      assert.equal(create.code, 0, create.stderr);
      assert.equal(create.stdout, '');
      assert.equal(create.stderr, 'Created /x\n'); // zkCli reports creation on stderr

      const get = await runZkCli(server().connectString, 'get /x');
      assert.deepEqual({ code: get.code, stdout: get.stdout }, { code: 0, stdout: 'some data\n' });

      const again = await runZkCli(server().connectString, 'create /x other');
      assert.deepEqual({ code: again.code, stdout: again.stdout, stderr: again.stderr }, { code: 1, stdout: '', stderr: 'Node already exists: /x\n' });
    });

    test('zkCli batch splits output per command', async () => {
      const batch = await runZkCliBatch(server().connectString, [
        'create /batch one',
        ['set', '/batch', 'two words'],
        'get /batch',
        'get /batch/missing',
        'version',
        'ls /batch',
        'no-such-command',
      ]);
      const outputs = batch.results.map(({ stdout, stderr }) => ({ stdout, stderr }));
      assert.deepEqual(outputs.slice(0, 4), [
        { stdout: '', stderr: 'Created /batch\n' },
        { stdout: '', stderr: '' },
        { stdout: 'two words\n', stderr: '' },
        { stdout: '', stderr: 'Node does not exist: /batch/missing\n' },
      ]);
      assert.match(outputs[4]?.stdout ?? '', /^ZooKeeper CLI version: 3\.8\.\d+.*\n$/);
      assert.deepEqual(outputs[5], { stdout: '[]\n', stderr: '' });
      assert.match(outputs[6]?.stderr ?? '', /Command not found: Command not found no-such-command\n$/);
    });

    test('node-zookeeper-client: reads, writes, watches, multi', async (t) => {
      const client = await connectNzk(server().connectString);
      t.after(() => client.close());
      assert.equal(await client.create('/nzk', 'v0'), '/nzk');
      const watch = new EventCollector();
      const { data, stat } = await client.getData('/nzk', watch);
      assert.equal(data?.toString(), 'v0');
      assert.equal(stat.version, 0);
      assert.equal(typeof stat.czxid, 'bigint');

      await client.setData('/nzk', 'v1');
      assert.deepEqual(await watch.next(), { type: 'NODE_DATA_CHANGED', path: '/nzk' });
      assert.equal(await client.exists('/nzk/none'), null);
      await assert.rejects(client.create('/nzk'), { name: 'NODE_EXISTS' });

      // Version 0 must reach the server as 0, not as "any version" (-1).
      await assert.rejects(client.transaction([{ op: 'check', path: '/nzk', version: 0 }]), { name: 'BAD_VERSION' });
      const results = await client.transaction([
        { op: 'check', path: '/nzk', version: 1 },
        { op: 'create', path: '/nzk/child', data: 'c' },
        { op: 'setData', path: '/nzk', data: 'v2', version: 1 },
      ]);
      assert.deepEqual(
        results.map((r) => r.type),
        ['check', 'create', 'setData'],
      );
      assert.deepEqual((await client.getChildren('/nzk')).children, ['child']);
      await client.remove('/nzk/child');
    });

    test('stop() leaves no process and no temp dir behind', async () => {
      const { proc, dataDir, port } = server();
      await server().stop();
      assert.equal(proc.running, false);
      assert.equal(isGroupAlive(proc.pid), false);
      assert.equal(existsSync(dataDir), false);
      assert.ok(await isFree(port));
    });
  },
);
