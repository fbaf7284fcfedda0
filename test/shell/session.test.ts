/**
 * Sessions of several commands read from stdin (zkCli without JLine, the
 * shell on a pipe), compared with zkCli.sh line for line: the numbered
 * history and redo, printwatches, close and connect, quit, the exit status
 * at the end of the input, and the watch notifications a session receives.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { ZkClient } from '../../src/client/mod.js';
import { isReferenceZkAvailable, skipUnlessInstalled } from '../harness/reference-zk.js';
import { isZkCliAvailable } from '../harness/zkcli.js';
import { startZkts, type ZkServerHandle } from '../harness/zkts-server.js';
import { assertSameRun, connect, runZkCliSession, runZktsShell } from './helpers.js';

const CLOSED_EVENT = 'WatchedEvent state:Closed type:None path:null';

const skip = skipUnlessInstalled({ zkCli: isZkCliAvailable(), java: isReferenceZkAvailable() });

describe('zkts shell sessions on a pipe, compared with zkCli.sh', { skip }, () => {
  let server: ZkServerHandle;
  let admin: ZkClient;

  before(async () => {
    server = await startZkts();
    admin = await connect(server.connectString);
  });

  after(async () => {
    await admin?.close();
    await server?.stop();
  });

  /** Runs the lines through both tools, each in its own chroot holding /a; returns the shell's run. */
  async function compareSession(name: string, lines: string[]): Promise<Awaited<ReturnType<typeof runZktsShell>>> {
    const roots = { zkcli: `/${name}-zkcli`, zkts: `/${name}-zkts` };
    for (const root of Object.values(roots)) {
      await admin.create(root);
      await admin.create(`${root}/a`, 'first');
    }
    const input = lines.map((line) => `${line}\n`).join('');
    const expected = await runZkCliSession(server.connectString + roots.zkcli, input.replaceAll('<root>', roots.zkcli));
    const actual = await runZktsShell(server.connectString + roots.zkts, [], input.replaceAll('<root>', roots.zkts));
    assertSameRun(actual, expected, name, { normalise: true });
    // zkCli.sh exits (quit, or the end of its input) while its event thread may still be about
    // to print the Closed event of the session it just closed: that one last event is printed
    // or not depending on thread timing there. The shell's own events are compared strictly.
    const expectedEvents = [...expected.watchEvents];
    if (actual.watchEvents.at(-1) === CLOSED_EVENT && expectedEvents.at(-1) !== CLOSED_EVENT) expectedEvents.push(CLOSED_EVENT);
    assert.deepEqual(actual.watchEvents, expectedEvents, `${name}: the watch notifications`);
    return actual;
  }

  it('numbers the history, redoes, prints watches on request', async () => {
    const run = await compareSession('history', [
      'ls /',
      'redo 0',
      'history',
      'redo',
      'redo 9',
      'redo 0x1',
      'redo 5',
      'printwatches',
      'printwatches off',
      'printwatches',
      'get -w /a',
      'set /a second',
      // A round trip before turning them on again: the notification of the set above has then
      // been handled, while they were off, by either tool (zkCli handles it on another thread).
      'get /a',
      'printwatches on',
      'get -w /a',
      'set /a third',
      'ls /nope',
      'history',
      '"quoted words" /a \'and more\'',
      'create /b "two words"',
      'get /b',
    ]);
    assert.match(run.stdout, /^0 - ls \/\n1 - ls \/\n2 - history\n/m);
    // The change made while printwatches was off is not printed; the one after it is.
    assert.equal(run.watchEvents.filter((event) => event.includes('NodeDataChanged')).length, 1, run.watchEvents.join('\n'));
  });

  it('closes, reconnects and quits with the status of the last command', async () => {
    const run = await compareSession('connect', [
      'ls /',
      'close',
      'ls /',
      'history',
      'close',
      'connect',
      'ls /',
      `connect ${server.connectString}<root>`,
      'get /a',
      'bogus',
      'quit',
      'ls /',
    ]);
    assert.equal(run.code, 127);
  });

  it('ends with the status of the last command at the end of the input', async () => {
    const failed = await compareSession('status-1', ['ls /', 'get /nope']);
    assert.equal(failed.code, 1);
    const succeeded = await compareSession('status-0', ['get /nope', 'ls /']);
    assert.equal(succeeded.code, 0);
  });

  it('prints the notifications of one-shot and persistent watches, once each', async () => {
    const run = await compareSession('watches', [
      'get -w /a',
      'ls -w /a',
      'stat -w /a/c',
      'create /a/c x',
      'set /a changed',
      'get -w /a',
      'ls -w /a',
      'delete /a/c',
      'addWatch -m persistent /a',
      'set /a again',
      'create /a/d',
      'removewatches /a',
      'set /a unwatched',
      // Explicit: zkCli's addWatch keeps the last -m it was given as its default (here "persistent"); the shell does not.
      'addWatch -m PERSISTENT_RECURSIVE /a',
      'create /a/d/e',
      'set /a/d/e x',
      'removewatches /a -d',
      'removewatches /a',
      'ls -R -w /a',
      'deleteall /a',
      // Time for the last notifications before the input ends: zkCli prints them from another thread.
      'sync /',
      'ls /',
    ]);
    assert.ok(run.watchEvents.includes('WatchedEvent state:SyncConnected type:NodeDataChanged path:/a'), run.watchEvents.join('\n'));
  });
});
