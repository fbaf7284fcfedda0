/**
 * The interactive shell driven through a terminal (a tmux pane), key by
 * key: the prompt, tab completion of commands and znode paths, history
 * recalled with the up arrow in a later run, and a watch notification that
 * arrives while a line is being typed.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import type { ZkClient } from '../../src/client/mod.js';
import { removeAtExit } from '../harness/process.js';
import { skipUnlessInstalled } from '../harness/reference-zk.js';
import { startZkts, type ZkServerHandle } from '../harness/zkts-server.js';
import { connect, ZKTS_MAIN } from './helpers.js';
import { isTmuxAvailable, TmuxPane } from './tmux.js';

const skip = skipUnlessInstalled({ tmux: await isTmuxAvailable() });

describe('zkts shell in a terminal', { skip }, () => {
  let server: ZkServerHandle;
  let client: ZkClient;
  /** Holds a HOME for each test (the shell keeps its history there) and tmux's configurations. */
  let workDir: string;
  let releaseWorkDir: () => void;
  const panes: TmuxPane[] = [];

  before(async () => {
    server = await startZkts();
    client = await connect(server.connectString);
    await client.create('/completion', 'the data');
    await client.create('/completion/alpha');
    await client.create('/completion/alpha/one');
    await client.create('/completion/alpha/two');
    await client.create('/completion/apricot');
    await client.create('/completion/beta');
    await client.create('/watched', 'before');
    workDir = await mkdtemp(join(tmpdir(), 'zkts-shell-terminal-'));
    releaseWorkDir = removeAtExit(workDir);
  });

  afterEach(async () => {
    for (const pane of panes.splice(0)) await pane.kill();
  });

  after(async () => {
    await client?.close();
    await server?.stop();
    if (workDir !== undefined) {
      await rm(workDir, { recursive: true, force: true });
      releaseWorkDir();
    }
  });

  async function newHome(): Promise<string> {
    return mkdtemp(join(workDir, 'home-'));
  }

  async function startShell(home: string): Promise<TmuxPane> {
    const pane = await TmuxPane.start(workDir, [process.execPath, ZKTS_MAIN, 'shell', '-server', server.connectString], { HOME: home });
    panes.push(pane);
    await pane.waitForLastLine(prompt(0));
    return pane;
  }

  function prompt(count: number): string {
    return `[zk: ${server.connectString}(CONNECTED) ${count}]`;
  }

  it('shows the banner and a prompt, and completes command names and znode paths with TAB', async () => {
    const pane = await startShell(await newHome());
    const screen = await pane.screen();
    assert.match(screen, /^Connecting to 127\.0\.0\.1:\d+\nWelcome to ZooKeeper!\nJLine support is enabled\n/);
    assert.match(screen, /WatchedEvent state:SyncConnected type:None path:null/);

    await pane.type('getAl');
    await pane.keys('Tab');
    await pane.waitForLastLine(`${prompt(0)} getAllChildrenNumber`);
    await pane.type(' /compl');
    await pane.keys('Tab');
    await pane.waitForLastLine(`${prompt(0)} getAllChildrenNumber /completion`);
    await pane.keys('Enter');
    await pane.waitForLastLine(prompt(1));
    assert.match(await pane.screen(), /getAllChildrenNumber \/completion\n5\n/);

    // Two candidates: TAB completes what they share (nothing more here), a second TAB lists them.
    await pane.type('ls /completion/a');
    const listed = await pane.waitForScreen('the candidates alpha and apricot', async (screen) => {
      if (/alpha\s+apricot/.test(screen)) return true;
      await pane.keys('Tab');
      return false;
    });
    assert.equal(listed.split('\n').at(-1), `${prompt(1)} ls /completion/a`);
    await pane.type('l');
    await pane.keys('Tab');
    await pane.waitForLastLine(`${prompt(1)} ls /completion/alpha`);
    await pane.keys('Enter');
    await pane.waitForLastLine(prompt(2));
    assert.match(await pane.screen(), /ls \/completion\/alpha\n\[one, two\]\n/);

    await pane.type('quit');
    await pane.keys('Enter');
    assert.equal(await pane.waitForExit(), 0);
  });

  it('recalls the lines of an earlier run with the up arrow', async () => {
    const home = await newHome();
    const first = await startShell(home);
    for (const line of ['get /completion', 'addauth digest user:secret', 'ls /nope']) {
      await first.type(line);
      await first.keys('Enter');
    }
    await first.waitForLastLine(prompt(3));
    // Ctrl-D ends the shell with the status of its last command.
    await first.keys('C-d');
    assert.equal(await first.waitForExit(), 1);
    // Credentials are not written.
    assert.equal(await readFile(join(home, '.zkts_history'), 'utf8'), 'get /completion\nls /nope\n');

    const second = await startShell(home);
    await second.keys('Up');
    await second.waitForLastLine(`${prompt(0)} ls /nope`);
    await second.keys('Up');
    await second.waitForLastLine(`${prompt(0)} get /completion`);
    await second.keys('Enter');
    await second.waitForLastLine(prompt(1));
    assert.match(await second.screen(), /get \/completion\nthe data\n/);
    await second.keys('C-d');
    assert.equal(await second.waitForExit(), 0);
    assert.equal(await readFile(join(home, '.zkts_history'), 'utf8'), 'get /completion\nls /nope\nget /completion\n');
  });

  it('prints a watch notification as it arrives, then the line being typed again', async () => {
    const pane = await startShell(await newHome());
    await pane.type('get -w /watched');
    await pane.keys('Enter');
    await pane.waitForLastLine(prompt(1));
    await pane.type('ls /compl');
    await pane.waitForLastLine(`${prompt(1)} ls /compl`);

    await client.setData('/watched', 'after');
    const screen = await pane.waitForScreen('the notification', (text) => text.includes('type:NodeDataChanged path:/watched'));
    assert.match(screen, /\nWATCHER::\n\nWatchedEvent state:SyncConnected type:NodeDataChanged path:\/watched\n/);
    await pane.waitForLastLine(`${prompt(1)} ls /compl`);

    // The line is still being edited: completion and Enter work on it.
    await pane.keys('Tab');
    await pane.waitForLastLine(`${prompt(1)} ls /completion`);
    await pane.keys('Enter');
    await pane.waitForLastLine(prompt(2));
    assert.match(await pane.screen(), /\[alpha, apricot, beta\]\n/);
    await pane.keys('C-d');
    assert.equal(await pane.waitForExit(), 0);
  });
});
