/**
 * A Lock contender in its own process (see common.ts for the checks).
 * mode 'loop': `iterations` times acquire, enter, work a little, exit,
 * release; a session that expires is reported and replaced by a new client.
 * mode 'hold': acquire and enter once, then stay inside until the lock is
 * lost, and check that the server refuses the way out.
 */
import { ErrorCode, errorName, type ZkClient } from '../../../src/client/mod.js';
import { Lock } from '../../../src/client/recipes/mod.js';
import { connect, enterSection, exitSection, isCode, run, say, settings, sleep } from './common.js';

interface Settings {
  connectString: string;
  lockPath: string;
  markerPath: string;
  logPath: string;
  id: string;
  mode: 'loop' | 'hold';
  iterations: number;
  sessionTimeoutMs: number;
}

const config = settings<Settings>();

async function loop(): Promise<void> {
  let client: ZkClient = await connect(config.connectString, config.sessionTimeoutMs);
  say('READY');
  let done = 0;
  for (let i = 0; done < config.iterations; i++) {
    const token = `${config.id}:${i}`;
    const lock = new Lock(client, config.lockPath, { data: config.id });
    lock.on('lost', (reason) => say(`LOST ${token} ${reason}`));
    try {
      await lock.acquire();
      const entered = await enterSection(client, lock.fencingOp(), config.markerPath, config.logPath, token);
      if (entered === 'violation') return;
      if (entered === 'done') {
        say(`ENTERED ${token}`);
        await sleep(Math.random() * 10);
        const exited = await exitSection(client, lock.fencingOp(), config.markerPath, config.logPath, token);
        if (exited === 'violation') return;
        if (exited === 'done') {
          say(`EXITED ${token}`);
          done++;
        } else {
          say(`LOST ${token} fenced on the way out`);
        }
      } else {
        say(`LOST ${token} fenced on the way in`);
      }
      await lock.release();
    } catch (error) {
      if (!isCode(error, ErrorCode.SessionExpired)) throw error;
      // The session is gone, and the lock with it: carry on with a new client.
      say(`LOST ${token} session expired`);
      await client.close();
      client = await connect(config.connectString, config.sessionTimeoutMs);
    }
  }
  await client.close();
  say(`DONE ${done}`);
}

async function hold(): Promise<void> {
  const client = await connect(config.connectString, config.sessionTimeoutMs);
  const token = `${config.id}:0`;
  const lock = new Lock(client, config.lockPath, { data: config.id });
  const lost = new Promise<string>((resolve) => lock.once('lost', resolve));
  await lock.acquire();
  const fence = lock.fencingOp();
  if ((await enterSection(client, fence, config.markerPath, config.logPath, token)) !== 'done') throw new Error('could not enter');
  say(`ENTERED ${token}`);
  const reason = await lost;
  say(`LOST ${token} ${reason}`);
  say(`OWNED ${lock.isOwned}`);
  try {
    await exitSection(client, fence, config.markerPath, config.logPath, token);
    say('EXIT-ACCEPTED');
  } catch (error) {
    say(`EXIT-REJECTED ${isCode(error, ErrorCode.SessionExpired) ? errorName(ErrorCode.SessionExpired) : String(error)}`);
  }
  await lock.release();
  await client.close();
  say('DONE 0');
}

run(config.mode === 'hold' ? hold : loop);
