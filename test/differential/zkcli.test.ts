// Differential scenarios through zkCli.sh (ZooKeeper 3.8's own command-line
// client): the same command sequence against zkts and against Apache
// ZooKeeper 3.8 must print the same output, once zxids, dates and session ids
// are normalised.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { runZkCliBatch } from '../harness/zkcli.js';
import { assertSameTranscripts, ServerPair, skipUnlessReferenceTools, type Target } from './pair.js';

describe('differential: zkCli.sh', { skip: skipUnlessReferenceTools() }, () => {
  let pair: ServerPair | undefined;
  before(async () => {
    pair = await ServerPair.start('zkcli');
  });
  after(async () => {
    await pair?.stop();
  });

  /**
   * Runs the commands (R stands for the scenario's root path, also right
   * after /zookeeper/quota) in one zkCli
   * per server and requires the same normalised output, command by command.
   */
  async function same(name: string, commands: string[]): Promise<void> {
    assert.ok(pair, 'servers did not start');
    const { zkts, reference } = await pair.run(name, (target) => zkCliScenario(target, commands));
    assertSameTranscripts(zkts, reference);
  }

  test('create in every mode, get -s, stat, ls variants', () =>
    same('create-get-ls', [
      'create R root-data',
      'create R/p persistent',
      'create -e R/e ephemeral',
      'create -s R/s- seq',
      'create -s -e R/es- eseq',
      'create -c R/c',
      'create -t 600000 R/t ttl',
      'create -s -t 600000 R/ts- ttlseq',
      'create -e -c R/bad',
      'create -t 0 R/t0',
      'create -t -5 R/tneg',
      'create -e -t 100 R/et',
      'create R/p dup',
      'create R/missing/child',
      'create -e R/e/child',
      'create nopath',
      'create R/trailing/',
      'get R',
      'get -s R',
      'get -s R/e',
      'get -s R/c',
      'get -s R/t',
      'stat R',
      'stat R/nothing',
      'ls R',
      'ls -s R',
      'ls -R R',
      'ls R/nothing',
      'ls /zookeeper',
      'getAllChildrenNumber R',
      'getAllChildrenNumber R/nothing',
      'getEphemerals R',
      'getEphemerals',
      'delete R/c',
      'delete R/t',
      'delete R/ts-0000000006',
    ]));

  test('set, get, delete with versions; deleteall; null and empty data', () =>
    same('set-delete', [
      'create R',
      'create R/n',
      'get -s R/n',
      'set R/n ""',
      'get -s R/n',
      'set -v 1 R/n one',
      'set -v 1 R/n stale',
      'set -s R/n two',
      'set -s -v 2 R/n three',
      'set R/nothing x',
      'get R/nothing',
      'delete -v 0 R/n',
      'delete R/nothing',
      'create R/n/a',
      'create R/n/a/b deep',
      'delete R/n',
      'deleteall R/n',
      'ls R',
      'deleteall R/nothing',
      'create R/sp "with spaces and \'quotes\'"',
      'get R/sp',
      'delete /zookeeper',
      'delete /zookeeper/config',
      'delete /',
      'deleteall R',
      'ls R',
    ]));

  test('ACLs: getAcl, setAcl, addauth, digest, ip, world, NoAuth and InvalidACL messages', () =>
    same('acls', [
      'create R',
      'getAcl R',
      'getAcl -s R',
      'setAcl R world:anyone:cdrwa',
      'setAcl -s R world:anyone:cdrwa',
      'setAcl -v 5 R world:anyone:cdr',
      'setAcl R world:nobody:cdrwa',
      'setAcl R bogus:x:cdrwa',
      'setAcl R ip:127.0.0.1:cdrwa,ip:10.0.0.0/8:r',
      'getAcl R',
      'create R/d x digest:alice:aYXlLOpEooaV1cRAvUL1fp9Qt7E=:cdrwa',
      'get R/d',
      'getAcl R/d',
      'set R/d y',
      'addauth digest alice:secret',
      'get R/d',
      'getAcl R/d',
      'create R/a x auth::cdrwa',
      'getAcl R/a',
      'create R/r x world:anyone:r',
      'set R/r y',
      'create R/r/c',
      'delete R/r',
      'setAcl R/r world:anyone:w',
      'get R/r',
      'ls R/r',
      'stat R/r',
      'setAcl -R R world:anyone:cdrwa',
      'getAcl R/d',
      'whoami',
      'addauth digest bob:pw',
      'whoami',
      'getAcl /zookeeper/config',
      'set /zookeeper/config x',
    ]));

  test('watches: get -w, ls -w, stat -w, addWatch, removewatches', () =>
    same('watches', [
      'create R data',
      'get -w R',
      'set R changed',
      'ls -w R',
      'create R/c',
      'stat -w R/c',
      'delete R/c',
      'stat -w R/later',
      'create R/later',
      'addWatch R',
      'create R/x',
      'set R x',
      'addWatch -m PERSISTENT_RECURSIVE R/x',
      'create R/x/y',
      'set R/x/y z',
      'delete R/x/y',
      'removewatches R',
      'removewatches R',
      'set R after',
      'get -w R',
      'removewatches R -d',
      'ls -w R',
      'removewatches R -c',
      'removewatches R/nothing',
      'addWatch -m BOGUS R',
      'addWatch R/nothing',
      'create R/nothing',
      'ls R',
    ]));

  test('sync, config, getEphemerals, whoami, listquota, reconfig', () =>
    same('misc', [
      'sync /',
      'sync R',
      'config',
      'config -s',
      'create R',
      'create -e R/e1',
      'create -e R/e2',
      'getEphemerals R',
      'getEphemerals /nothing',
      'whoami',
      'listquota R',
      'reconfig -remove 1',
    ]));

  // The server keeps each quota's usage in .../zookeeper_stats: recounted when the stats node is
  // created, updated on every create, delete and setData below the quota root.
  test(
    'quotas: setquota, listquota, the usage the server keeps, delquota',
    () =>
      same('quota', [
        'create R',
        'create R/q',
        'create R/q/pre 123',
        'setquota -n 3 R/q',
        'listquota R/q',
        'create R/q/a 12345',
        'create R/q/b',
        'set R/q/a 1234567890',
        'listquota R/q',
        'get /zookeeper/quotaR/q/zookeeper_stats',
        'ls -R /zookeeper/quota',
        'create R/b',
        'setquota -B 100 R/b',
        'create R/b/x 0123456789',
        'listquota R/b',
        'delete R/q/b',
        'listquota R/q',
        'delquota -n R/q',
        'listquota R/q',
        'delquota R/q',
        'listquota R/q',
        'delquota R/b',
      ]),
  );

  test('paths the client lets through and the server judges', () =>
    same('odd-paths', ['create R', 'create R/ü☃ unicode', 'get R/ü☃', 'ls R', 'create R/a..b', 'create R/... x', 'ls R']));
});

/** Runs the commands in one zkCli against the target and writes normalised outputs into target.t. */
async function zkCliScenario(target: Target, commands: string[]): Promise<void> {
  const lines = commands.map((command) => command.replace(/(^|\s|\/zookeeper\/quota)R(?=\/|\s|$)/g, `$1${target.root}`));
  const batch = await runZkCliBatch(target.connectString, lines, { timeoutMs: 90_000 });
  const norm = new ZkCliNormalizer(target);
  for (const [i, result] of batch.results.entries()) {
    target.t.note({ command: commands[i], out: norm.text(result.stdout), err: norm.text(result.stderr) });
  }
  // "state:Closed" is printed while zkCli quits, or not, if the JVM exits first.
  const events = batch.watchEvents.filter((e) => !e.includes('state:Closed'));
  target.t.note({ watchEvents: events.map((e) => norm.line(e)) });
}

/** zkCli output with zxids, dates, session ids and the scenario root normalised. */
class ZkCliNormalizer {
  constructor(private readonly target: Target) {}

  text(text: string): string[] {
    return text
      .split('\n')
      .filter((line, i, all) => line !== '' || i < all.length - 1)
      .map((line) => this.line(line));
  }

  line(line: string): string {
    const norm = this.target.t.norm;
    const rooted = line.replaceAll(this.target.root, 'R');
    return rooted
      .replace(/^(cZxid|mZxid|pZxid) = (0x[0-9a-f]+)$/, (_m, key: string, hex: string) => `${key} = ${norm.zxid(BigInt(hex))}`)
      .replace(/^(ctime|mtime) = (.+)$/, (_m, key: string, date: string) => `${key} = ${date === 'Thu Jan 01 00:00:00 UTC 1970' ? 'epoch' : 'DATE'}`)
      .replace(/^ephemeralOwner = (0x[0-9a-f]+)$/, (_m, hex: string) => `ephemeralOwner = ${norm.session(BigInt.asIntN(64, BigInt(hex)))}`)
      .replace(/^\[(.*)\]$/, (_m, list: string) => `[${list.split(', ').sort().join(', ')}]`);
  }
}
