/**
 * A queue producer or consumer in its own process. A producer puts
 * `count` items named `<id>-<n>`; a consumer takes items and prints each
 * ("TOOK p1-7") until the test has created `donePath` and the queue is
 * empty.
 */
import { DistributedQueue } from '../../../src/client/recipes/mod.js';
import { connect, retry, run, say, settings } from './common.js';

interface Settings {
  connectString: string;
  queuePath: string;
  donePath: string;
  id: string;
  role: 'producer' | 'consumer';
  count: number;
  sessionTimeoutMs: number;
}

const config = settings<Settings>();

async function produce(): Promise<void> {
  const client = await connect(config.connectString, config.sessionTimeoutMs);
  say('READY');
  const queue = new DistributedQueue(client, config.queuePath);
  for (let i = 0; i < config.count; i++) await queue.put(`${config.id}-${i}`);
  await client.close();
  say(`DONE ${config.count}`);
}

async function consume(): Promise<void> {
  const client = await connect(config.connectString, config.sessionTimeoutMs);
  say('READY');
  const queue = new DistributedQueue(client, config.queuePath);
  let taken = 0;
  for (;;) {
    const item = await queue.take({ timeoutMs: 500 });
    if (item !== null) {
      say(`TOOK ${item.data?.toString('utf8')}`);
      taken++;
      continue;
    }
    if ((await retry(() => client.exists(config.donePath))) !== null && (await queue.size()) === 0) break;
  }
  await client.close();
  say(`DONE ${taken}`);
}

run(config.role === 'producer' ? produce : consume);
