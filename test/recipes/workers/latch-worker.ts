/**
 * A LeaderLatch participant in its own process (see common.ts for the
 * checks, here on a leader marker). mode 'rotate': `terms` times join,
 * wait for leadership, lead a little, leave. mode 'hold': lead once and
 * stay leader until leadership is lost, then check that the server refuses
 * the way out.
 */
import { ErrorCode, errorName, type Op, type ZkClient } from '../../../src/client/mod.js';
import { LeaderLatch } from '../../../src/client/recipes/mod.js';
import { connect, enterSection, exitSection, isCode, run, say, settings, sleep } from './common.js';

interface Settings {
  connectString: string;
  latchPath: string;
  markerPath: string;
  logPath: string;
  id: string;
  mode: 'rotate' | 'hold';
  terms: number;
  sessionTimeoutMs: number;
}

const config = settings<Settings>();

/** The fence of a leader: its latch node must still exist. */
function fenceOf(latch: LeaderLatch): Op {
  return { type: 'check', path: latch.nodePath!, version: -1 };
}

async function rotate(): Promise<void> {
  let client: ZkClient = await connect(config.connectString, config.sessionTimeoutMs);
  say('READY');
  let terms = 0;
  for (let i = 0; terms < config.terms; i++) {
    const token = `${config.id}:${i}`;
    const latch = new LeaderLatch(client, config.latchPath, { id: config.id });
    try {
      await latch.start();
      await latch.awaitLeadership();
      const fence = fenceOf(latch);
      const entered = await enterSection(client, fence, config.markerPath, config.logPath, token);
      if (entered === 'violation') return;
      if (entered === 'done') {
        say(`LEADING ${token}`);
        await sleep(Math.random() * 20);
        const exited = await exitSection(client, fence, config.markerPath, config.logPath, token);
        if (exited === 'violation') return;
        if (exited === 'done') terms++;
        else say(`LOST ${token} fenced on the way out`);
      } else {
        say(`LOST ${token} fenced on the way in`);
      }
      await latch.close();
    } catch (error) {
      if (!isCode(error, ErrorCode.SessionExpired) && !(latch.state === 'closed' && client.state === 'expired')) throw error;
      say(`LOST ${token} session expired`);
      await client.close();
      client = await connect(config.connectString, config.sessionTimeoutMs);
    }
  }
  await client.close();
  say(`DONE ${terms}`);
}

async function hold(): Promise<void> {
  const client = await connect(config.connectString, config.sessionTimeoutMs);
  const token = `${config.id}:0`;
  const latch = new LeaderLatch(client, config.latchPath, { id: config.id });
  await latch.start();
  await latch.awaitLeadership();
  const fence = fenceOf(latch);
  if ((await enterSection(client, fence, config.markerPath, config.logPath, token)) !== 'done') throw new Error('could not enter');
  const closed = new Promise<void>((resolve) => latch.once('closed', () => resolve()));
  say(`LEADING ${token}`);
  await closed;
  say(`LOST ${token} ${latch.state}`);
  say(`LEADER ${latch.hasLeadership}`);
  try {
    await exitSection(client, fence, config.markerPath, config.logPath, token);
    say('EXIT-ACCEPTED');
  } catch (error) {
    say(`EXIT-REJECTED ${isCode(error, ErrorCode.SessionExpired) ? errorName(ErrorCode.SessionExpired) : String(error)}`);
  }
  await client.close();
  say('DONE 0');
}

run(config.mode === 'hold' ? hold : rotate);
