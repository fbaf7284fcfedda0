/**
 * The shell's pieces that copy Java behaviour, against what Java (zkCli
 * 3.8, commons-cli 1.5, JDK 17) does with the same input. The expected
 * values were taken from those.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import { ErrorCode, EventType, KeeperState } from '../../src/client/mod.js';
import { parseAcl } from '../../src/cli/shell/acl-parser.js';
import { clientConfigString } from '../../src/cli/shell/client-config.js';
import { parseCommand, splitLine, type CommandOptions } from '../../src/cli/shell/command-line.js';
import { complete } from '../../src/cli/shell/completion.js';
import {
  decodeJavaInt,
  idToString,
  javaSplit,
  keeperExceptionMessage,
  parseJavaInt,
  parseJavaLong,
  permString,
  statLines,
  toHexString,
  watchedEventString,
} from '../../src/cli/shell/java.js';
import { StatsTrack } from '../../src/cli/shell/quota.js';

const run = promisify(execFile);

describe('splitting a command line as zkCli does', () => {
  it('splits at spaces and takes quoted words whole, without their quotes', () => {
    assert.deepEqual(splitLine('ls /a'), ['ls', '/a']);
    assert.deepEqual(splitLine('  create  /x "hello world"\t'), ['create', '/x', 'hello world']);
    assert.deepEqual(splitLine(`set /x 'it is' "a" ''`), ['set', '/x', 'it is', 'a', '']);
    // A word that does not start with a quote runs to the next space, quotes and all.
    assert.deepEqual(splitLine('create /x a"b c"'), ['create', '/x', 'a"b', 'c"']);
    // A quote that starts no complete word is skipped; before one at the start of a line, a space makes a word.
    assert.deepEqual(splitLine('ls /a "'), ['ls', '/a']);
    assert.deepEqual(splitLine('  "x'), [' "x']);
  });
});

describe("parsing a command's flags as commons-cli's DefaultParser does", () => {
  const SET: CommandOptions = { options: [{ key: 's', hasArg: false, description: 'stats' }, { key: 'v', hasArg: true, description: 'version' }] };
  const LS: CommandOptions = { options: ['s', 'w', 'R'].map((key) => ({ key, hasArg: false, description: key })) };
  const QUOTA: CommandOptions = {
    options: [
      { key: 'n', hasArg: true, description: 'num soft quota' },
      { key: 'b', hasArg: true, description: 'bytes soft quota' },
    ],
    group: { keys: ['n', 'b'], required: true },
  };
  const error = (message: string): { message: string } => ({ message });

  it('reads flags, values and the other words', () => {
    const cl = parseCommand(SET, ['set', '-s', '-v', '3', '/a', 'data']);
    assert.deepEqual([cl.has('s'), cl.value('v'), cl.args], [true, '3', ['set', '/a', 'data']]);
    assert.equal(parseCommand(SET, ['set', '-v5', '/a', 'x']).value('v'), '5');
    assert.equal(parseCommand(SET, ['set', '-v=5', '/a', 'x']).value('v'), '5');
    assert.equal(parseCommand(SET, ['set', '-v', '-1', '/a', 'x']).value('v'), '-1');
    assert.equal(parseCommand(SET, ['set', '-sv', '7', '/a', 'x']).value('v'), '7');
    assert.equal(parseCommand(SET, ['set', '-v', '1', '-v', '2', '/a', 'x']).value('v'), '1');
    const concatenated = parseCommand(LS, ['ls', '-sRw', '/']);
    assert.deepEqual([concatenated.has('s'), concatenated.has('R'), concatenated.has('w')], [true, true, true]);
    assert.deepEqual(parseCommand(LS, ['ls', '--', '-s']).args, ['ls', '-s']);
    assert.deepEqual(parseCommand(LS, ['ls', '-', '']).args, ['ls', '-', '']);
    assert.deepEqual(parseCommand(LS, ['ls', '/a', '-s']).args, ['ls', '/a']);
  });

  it("fails with commons-cli's exceptions", () => {
    assert.throws(() => parseCommand(LS, ['ls', '-x', '/']), error('org.apache.commons.cli.UnrecognizedOptionException: Unrecognized option: -x'));
    assert.throws(() => parseCommand(LS, ['ls', '-sx', '/']), error('org.apache.commons.cli.UnrecognizedOptionException: Unrecognized option: -sx'));
    assert.throws(() => parseCommand(LS, ['ls', '--s', '/']), error('org.apache.commons.cli.UnrecognizedOptionException: Unrecognized option: --s'));
    assert.throws(() => parseCommand(LS, ['ls', '-s=1', '/']), error('org.apache.commons.cli.UnrecognizedOptionException: Unrecognized option: -s=1'));
    assert.throws(() => parseCommand(SET, ['set', '-v']), error('org.apache.commons.cli.MissingArgumentException: Missing argument for option: v'));
    assert.throws(() => parseCommand(SET, ['set', '-v', '-s', '/a', 'x']), error('org.apache.commons.cli.MissingArgumentException: Missing argument for option: v'));
    assert.throws(
      () => parseCommand(QUOTA, ['setquota', '/a']),
      error('org.apache.commons.cli.MissingOptionException: Missing required option: [-n num soft quota, -b bytes soft quota]'),
    );
    assert.throws(
      () => parseCommand(QUOTA, ['setquota', '-n', '1', '-b', '2', '/a']),
      error("org.apache.commons.cli.AlreadySelectedException: The option 'b' was specified but an option from this group has already been selected: 'n'"),
    );
    assert.equal(parseCommand(QUOTA, ['setquota', '-n', '1', '-n', '2', '/a']).value('n'), '1');
  });
});

describe('Java number parsing', () => {
  it('parses ints and longs as Integer.parseInt and Long.parseLong do', () => {
    assert.equal(parseJavaInt('+5'), 5);
    assert.equal(parseJavaInt('-2147483648'), -2147483648);
    assert.throws(() => parseJavaInt('2147483648'));
    assert.throws(() => parseJavaInt('1.5'));
    assert.throws(() => parseJavaInt(' 1'));
    assert.equal(parseJavaLong('9223372036854775807'), 9223372036854775807n);
    assert.throws(() => parseJavaLong('9223372036854775808'));
  });

  it('decodes as Integer.decode does', () => {
    assert.deepEqual(['0', '10', '0x10', '0X1f', '#10', '010', '-0x1', '+7'].map(decodeJavaInt), [0, 10, 16, 31, 16, 8, -1, 7]);
    for (const bad of ['08', 'x', '', '0x', '--1']) assert.throws(() => decodeJavaInt(bad), bad);
  });

  it('prints longs in hex as Long.toHexString does', () => {
    assert.equal(toHexString(0), '0');
    assert.equal(toHexString(0x1f), '1f');
    assert.equal(toHexString(-1n), 'ffffffffffffffff');
  });
});

describe("Java's String.split", () => {
  it('drops trailing empty strings, unless there is no separator at all', () => {
    assert.deepEqual(javaSplit('a,b', ','), ['a', 'b']);
    assert.deepEqual(javaSplit('a,b,,', ','), ['a', 'b']);
    assert.deepEqual(javaSplit(',a', ','), ['', 'a']);
    assert.deepEqual(javaSplit(',,', ','), []);
    assert.deepEqual(javaSplit('', ','), ['']);
    assert.deepEqual(javaSplit('/', '/'), []);
    assert.deepEqual(javaSplit('/a/b', '/'), ['', 'a', 'b']);
  });
});

describe("zkCli's printing of ZooKeeper's records", () => {
  it('prints an Id as its jute record does, escaped and ending in a line break', () => {
    assert.equal(idToString({ scheme: 'world', id: 'anyone' }), "'world,'anyone\n");
    assert.equal(idToString({ scheme: 'ip', id: '10.0.0.1,x%y}\n' }), "'ip,'10.0.0.1%2Cx%25y%7D%0A\n");
  });

  it('prints permissions in the order c, d, r, w, a', () => {
    assert.deepEqual([31, 0, 1 | 4, 2 | 16].map(permString), ['cdrwa', '', 'cr', 'wa']);
  });

  it('prints a Stat with hex zxids and session ids', () => {
    const lines = statLines({
      czxid: 0x1a,
      mzxid: 0x1b,
      ctime: 0,
      mtime: 1768435200000,
      version: 2,
      cversion: 3,
      aversion: 4,
      ephemeralOwner: -2n,
      dataLength: 5,
      numChildren: 6,
      pzxid: 0x1c,
    });
    assert.deepEqual(lines.filter((line) => !line.includes('time')), [
      'cZxid = 0x1a',
      'mZxid = 0x1b',
      'pZxid = 0x1c',
      'cversion = 3',
      'dataVersion = 2',
      'aclVersion = 4',
      'ephemeralOwner = 0xfffffffffffffffe',
      'dataLength = 5',
      'numChildren = 6',
    ]);
  });

  it('prints events and errors as WatchedEvent and KeeperException do', () => {
    assert.equal(watchedEventString({ type: EventType.None, state: KeeperState.SyncConnected, path: '' }), 'WatchedEvent state:SyncConnected type:None path:null');
    assert.equal(
      watchedEventString({ type: EventType.PersistentWatchRemoved, state: KeeperState.SyncConnected, path: '/a' }),
      'WatchedEvent state:SyncConnected type:PersistentWatchRemoved path:/a',
    );
    assert.equal(keeperExceptionMessage(ErrorCode.NoNode, '/a'), 'KeeperErrorCode = NoNode for /a');
    assert.equal(keeperExceptionMessage(ErrorCode.NotEmpty, '/a'), 'KeeperErrorCode = Directory not empty for /a');
    assert.equal(keeperExceptionMessage(ErrorCode.InvalidACL, undefined), 'KeeperErrorCode = InvalidACL');
    assert.equal(keeperExceptionMessage(ErrorCode.NoWatcher, '/w'), 'KeeperErrorCode = No such watcher for /w');
    assert.equal(keeperExceptionMessage(ErrorCode.RequestTimeout, '/t'), 'KeeperErrorCode = Unknown error REQUESTTIMEOUT for /t');
  });

  it('prints dates as Date.toString() does, in the local time zone', async () => {
    const javaDates: Record<string, string[]> = {
      UTC: ['Thu Jan 01 00:00:00 UTC 1970', 'Thu Jan 15 00:00:00 UTC 2026', 'Wed Jul 15 00:00:00 UTC 2026'],
      'Europe/Berlin': ['Thu Jan 01 01:00:00 CET 1970', 'Thu Jan 15 01:00:00 CET 2026', 'Wed Jul 15 02:00:00 CEST 2026'],
      'America/New_York': ['Wed Dec 31 19:00:00 EST 1969', 'Wed Jan 14 19:00:00 EST 2026', 'Tue Jul 14 20:00:00 EDT 2026'],
      'Asia/Kolkata': ['Thu Jan 01 05:30:00 IST 1970', 'Thu Jan 15 05:30:00 IST 2026', 'Wed Jul 15 05:30:00 IST 2026'],
    };
    const moduleUrl = new URL('../../src/cli/shell/java.js', import.meta.url).href;
    const script = `import { formatJavaDate } from ${JSON.stringify(moduleUrl)};
      for (const t of [0, 1768435200000, 1784073600000]) console.log(formatJavaDate(t));`;
    for (const [zone, expected] of Object.entries(javaDates)) {
      const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], { env: { ...process.env, TZ: zone }, timeout: 30_000 });
      assert.deepEqual(stdout.trim().split('\n'), expected, zone);
    }
  });
});

describe('ACL strings, quotas and the client configuration string', () => {
  it("parses ACLs as AclParser does, complaining about what it skips", () => {
    const complaints: string[] = [];
    const acl = parseAcl('world:anyone:rz,bogus,digest:user:abc=:cdrwa,', (line) => complaints.push(line));
    assert.deepEqual(acl, [
      { id: { scheme: 'world', id: 'anyone' }, perms: 1 },
      { id: { scheme: 'digest', id: 'user:abc=' }, perms: 31 },
    ]);
    assert.deepEqual(complaints, ['Unknown perm type: z', 'bogus does not have the form scheme:id:perm']);
  });

  it('reads and writes StatsTrack strings', () => {
    for (const text of ['count=5,bytes=-1=;byteHardLimit=-1;countHardLimit=-1', 'count=0,bytes=0', 'count=-1,bytes=10=;byteHardLimit=100;countHardLimit=2']) {
      assert.equal(StatsTrack.parse(text).toString(), text);
    }
    assert.equal(StatsTrack.parse('').toString(), 'count=-1,bytes=-1');
    assert.equal(StatsTrack.parse('bytes=7;count=2').toString(), 'count=2,bytes=7');
  });

  it('reduces a dynamic configuration to the client connect string, in the order Java lists it', () => {
    const threeServers = [
      'server.1=127.0.0.1:2888:3888:participant;0.0.0.0:2181',
      'server.2=127.0.0.1:2889:3889:participant;127.0.0.1:2182',
      'server.3=127.0.0.1:2890:3890:observer;2183',
      'version=100000000',
    ].join('\n');
    assert.equal(clientConfigString(threeServers), '100000000 127.0.0.1:2182,0.0.0.0:2181,0.0.0.0:2183');
    const odd = 'server.3=h3:1:2;2183\nserver.10=h10:1:2;[::1]:2190\nserver.2=h2:1:2\nserver.1=h1:1:2;h1:2181\nversion=abc';
    assert.equal(clientConfigString(odd), 'abc 0:0:0:0:0:0:0:1:2190,,h1:2181,0.0.0.0:2183');
    const ten = [1, 2, 3, 4, 5, 6, 7, 8, 9, 11].map((id) => `server.${id}=a:1:2;a:${id}`).join('\n') + '\nversion=5';
    assert.equal(clientConfigString(ten), '5 a:11,a:2,a:1,a:6,a:5,a:4,a:3,a:9,a:8,a:7');
    assert.equal(clientConfigString(''), ' ');
  });
});

describe('tab completion', () => {
  const commands = ['addWatch', 'addauth', 'create', 'get', 'getAcl', 'ls'];
  const children = async (dir: string): Promise<string[]> => ({ '/': ['zookeeper', 'app'], '/app': ['beta', 'alpha', 'alps'] })[dir] ?? [];

  it('completes the last word to a command, or to a child of the node it names', async () => {
    assert.deepEqual(await complete('ge', commands, children), [['get', 'getAcl'], 'ge']);
    assert.deepEqual(await complete('', commands, children), [commands, '']);
    assert.deepEqual(await complete('ls ', commands, children), [commands, '']);
    assert.deepEqual(await complete('ls /a', commands, children), [['app'], 'a']);
    assert.deepEqual(await complete('ls /app/al', commands, children), [['alpha', 'alps'], 'al']);
    assert.deepEqual(await complete('get -s /app/', commands, children), [['alpha', 'alps', 'beta'], '']);
    assert.deepEqual(await complete('ls /nope/x', commands, children), [[], 'x']);
  });
});
