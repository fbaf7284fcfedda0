/**
 * `zkts shell -server <cs> <cmd...>` against zkCli.sh, on a zkts server:
 * the table of cases.ts, then what only zkts's shell does (where zkCli
 * crashes, or has no such command).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { allocatePorts } from '../harness/ports.js';
import { isReferenceZkAvailable, skipUnlessInstalled } from '../harness/reference-zk.js';
import { isZkCliAvailable } from '../harness/zkcli.js';
import { startZkts, type ZkServerHandle } from '../harness/zkts-server.js';
import { CASES } from './cases.js';
import { runCase } from './compare.js';
import { assertSameRun, connect, runZkCliOneShot, runZktsShell } from './helpers.js';

const skip = skipUnlessInstalled({ zkCli: isZkCliAvailable(), java: isReferenceZkAvailable() });

describe('zkts shell one-shot, compared with zkCli.sh on a zkts server', { skip }, () => {
  let server: ZkServerHandle;

  before(async () => {
    server = await startZkts({ config: { extendedTypesEnabled: 'true' } });
  });

  after(async () => {
    await server?.stop();
  });

  for (const [index, shellCase] of CASES.entries()) {
    it(shellCase.name, () => runCase(server.connectString, shellCase, `oneshot-${index}`));
  }

  it('fails like zkCli when the server is down', async () => {
    const [port] = await allocatePorts(1);
    const args = ['-timeout', '2000', 'ls', '/'];
    const expected = await runZkCliOneShot(`127.0.0.1:${port}`, args);
    const actual = await runZktsShell(`127.0.0.1:${port}`, args);
    assertSameRun(actual, expected, 'ls on a closed port', { normalise: false });
    assert.equal(actual.stderr, 'KeeperErrorCode = ConnectionLoss for /\n');
  });

  it('prints the banner and the connection event on stdout, as zkCli does', async () => {
    const admin = await connect(server.connectString);
    await admin.create('/banner');
    await admin.close();
    const run = await runZktsShell(`${server.connectString}/banner`, ['ls', '/']);
    assert.equal(run.raw, `Connecting to ${server.connectString}/banner\n\nWATCHER::\n\nWatchedEvent state:SyncConnected type:None path:null\n[]\n`);
    // A command that fails before it needs the server does not connect (zkCli usually exits first).
    const failed = await runZktsShell(server.connectString, ['ls']);
    assert.equal(failed.raw, `Connecting to ${server.connectString}\n`);
    assert.equal(failed.stderr, 'ls [-s] [-w] [-R] path\n');
    assert.equal(failed.code, 1);
  });

  it('has help, and a version of its own', async () => {
    const help = await runZktsShell(server.connectString, ['help']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /^ZooKeeper -server host:port .*\n\taddWatch .*\n/);
    assert.match(help.stdout, /^\tls \[-s\] \[-w\] \[-R\] path$/m);
    assert.match(help.stdout, /^\thelp $/m);
    assert.equal(help.stderr, '');
    const version = await runZktsShell(server.connectString, ['version']);
    assert.match(version.stdout, /^ZooKeeper CLI version: 3\.8\.\d+-zkts-\S+, built on .*\n$/);
    assert.equal(version.code, 0);
  });

  it('reports what zkCli dies of, and what it cannot do', async () => {
    const admin = await connect(server.connectString);
    await admin.create('/crash', 'x');
    await admin.close();
    const expectations: Array<[string[], string, number]> = [
      [['set', '-v', 'x', '/crash', 'y'], '-v argument must be an int value\n', 1],
      [['delete', '-v', '1.5', '/crash'], '-v argument must be an int value\n', 1],
      [['addWatch', 'relative'], 'Path must start with / character\n', 1],
      [['redo', 'x'], 'Command index is not a number: x\n', 1],
      [['reconfig', '-remove', '1'], 'reconfig is not supported by the zkts shell\n', 1],
    ];
    for (const [args, stderr, code] of expectations) {
      const run = await runZktsShell(server.connectString, args);
      assert.deepEqual({ stderr: run.stderr, code: run.code }, { stderr, code }, args.join(' '));
    }
    const config = await runZktsShell(server.connectString, ['-client-configuration', 'zk.properties', 'ls', '/']);
    assert.deepEqual({ stderr: config.stderr, code: config.code }, { stderr: '-client-configuration is not supported by the zkts shell\n', code: 2 });
    const badServer = await runZktsShell('127.0.0.1:notaport', ['ls', '/']);
    assert.equal(badServer.code, 1);
    assert.match(badServer.stderr, /bad port/);
  });

  it('closes its session on exit, so its ephemeral nodes go at once', async () => {
    const admin = await connect(server.connectString);
    await admin.create('/eph-exit');
    const run = await runZktsShell(`${server.connectString}/eph-exit`, ['create', '-e', '/e']);
    assert.equal(run.stderr, 'Created /e\n');
    assert.equal(await admin.exists('/eph-exit/e'), null);
    await admin.close();
  });
});
