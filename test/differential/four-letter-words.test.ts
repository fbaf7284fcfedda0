// Four-letter words: zkts must answer in ZooKeeper 3.8's formats, which
// monitoring scripts parse. Values differ between servers (counters, ports,
// dates, versions), so the outputs are compared by SHAPE: the same lines,
// keys and separators, with numbers, hex ids and dates replaced by markers
// (integers N and decimals D kept apart, since a latency printed as 0.19
// where ZooKeeper prints 0 would break a parser).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { OpCode } from '../../src/protocol/constants.js';
import { PathWatchRequest } from '../../src/protocol/records.js';
import { fourLetterWord, type ZkServerHandle } from '../harness/zkts-server.js';
import { ServerPair, skipUnlessReferenceTools, type ServerKind } from './pair.js';
import { body, HALF_OPEN_PROBE, HalfOpenSocket, RawClient } from './raw-client.js';
import { connect } from 'node:net';

/** Every word, with an empty output expected from both (hash: no digest yet; stmk without its argument). */
const WORDS = ['ruok', 'isro', 'srvr', 'stat', 'conf', 'cons', 'envi', 'dirs', 'wchs', 'wchc', 'wchp', 'dump', 'gtmk', 'hash', 'stmk', 'crst', 'srst'];

describe('differential: four-letter words', { skip: skipUnlessReferenceTools() }, () => {
  let pair: ServerPair | undefined;
  before(async () => {
    pair = await ServerPair.start('4lw');
  });
  after(async () => {
    await pair?.stop();
  });

  /**
   * Puts both servers in the same state (one session with a data watch and a
   * child watch), asks each word of each, and returns the outputs.
   */
  async function outputs(words: readonly string[]): Promise<Record<ServerKind, Record<string, string>>> {
    assert.ok(pair, 'servers did not start');
    const ask = async (server: ZkServerHandle): Promise<Record<string, string>> => {
      const session = await RawClient.session(server.connectString);
      try {
        await session.request(OpCode.getData, body(PathWatchRequest, { path: '/zookeeper', watch: true }));
        await session.request(OpCode.getChildren, body(PathWatchRequest, { path: '/', watch: true }));
        const out: Record<string, string> = {};
        for (const word of words) out[word] = await fourLetterWord(server.host, server.port, word);
        return out;
      } finally {
        await session.close();
      }
    };
    const [zkts, reference] = await Promise.all([ask(pair.zkts), ask(pair.reference)]);
    return { zkts, reference };
  }

  test('ruok, isro, gtmk and stmk answer exactly alike', async () => {
    const { zkts, reference } = await outputs(['ruok', 'isro', 'gtmk', 'stmk', 'hash']);
    assert.deepEqual(zkts, reference);
    assert.equal(zkts.ruok, 'imok');
  });

  test('stmk with a mask sets it; gtmk reads it back', async () => {
    assert.ok(pair, 'servers did not start');
    const setAndGet = async (server: ZkServerHandle): Promise<string[]> => {
      const mask = Buffer.alloc(12);
      mask.write('stmk', 0, 'latin1');
      mask.writeBigInt64BE(0x1f2n, 4);
      const set = await rawFourLetterWord(server, mask);
      const get = await fourLetterWord(server.host, server.port, 'gtmk');
      const reset = Buffer.from(mask);
      reset.writeBigInt64BE(306n, 4);
      await rawFourLetterWord(server, reset);
      return [set, get];
    };
    const [zkts, reference] = await Promise.all([setAndGet(pair.zkts), setAndGet(pair.reference)]);
    assert.deepEqual(zkts, reference);
    assert.deepEqual(reference, ['498', '498']);
  });

  test('after answering, the server closes its socket outright, even while the client keeps its own half open', async () => {
    assert.ok(pair, 'servers did not start');
    const exchange = async (server: ZkServerHandle): Promise<unknown> => {
      const socket = await HalfOpenSocket.open(server.host, server.port);
      try {
        socket.write(Buffer.from('ruok'));
        const serverEnded = await socket.waitEnded();
        const closedAfterProbe = serverEnded && (await socket.probeUntilClosed(HALF_OPEN_PROBE));
        return { output: socket.received.toString('latin1'), serverEnded, closedAfterProbe };
      } finally {
        socket.destroy();
      }
    };
    const [zkts, reference] = await Promise.all([exchange(pair.zkts), exchange(pair.reference)]);
    assert.deepEqual(zkts, reference);
    assert.deepEqual(reference, { output: 'imok', serverEnded: true, closedAfterProbe: true });
  });

  test('srvr, stat, cons, conf, dirs, wchs, wchc, wchp, dump, crst, srst have the same shape', async () => {
    const words = WORDS.filter((w) => !['envi', 'ruok', 'isro', 'gtmk', 'stmk', 'hash'].includes(w));
    const { zkts, reference } = await outputs(words);
    for (const word of words) {
      assert.deepEqual(shapeOf(word, zkts[word] ?? ''), shapeOf(word, reference[word] ?? ''), `${word}:\n--- zkts ---\n${zkts[word]}\n--- ZooKeeper 3.8 ---\n${reference[word]}`);
    }
    // The same tree: the same node count (ZooKeeper counts the root's "" alias too).
    const nodeCount = (text: string | undefined): string | undefined => /^Node count: (\d+)$/m.exec(text ?? '')?.[1];
    assert.equal(nodeCount(zkts.srvr), nodeCount(reference.srvr));
  });

  test('mntr: every key zkts prints is one of ZooKeeper 3.8\'s, with a value of the same kind, and the essential ones are there', async () => {
    const { zkts, reference } = await outputs(['mntr']);
    const parse = (text: string): Map<string, string> =>
      new Map(
        text
          .split('\n')
          .filter((line) => line !== '')
          .map((line) => {
            const [key, value, ...rest] = line.split('\t');
            assert.equal(rest.length, 0, `mntr line with more than one tab: ${JSON.stringify(line)}`);
            return [key!, value ?? ''] as const;
          }),
      );
    const ours = parse(zkts.mntr ?? '');
    const theirs = parse(reference.mntr ?? '');
    // Keys zkts adds; a parser of key/value lines is not disturbed by an extra one.
    const zktsExtras = new Set(['zk_last_processed_zxid']);
    for (const [key, value] of ours) {
      if (zktsExtras.has(key)) continue;
      assert.ok(theirs.has(key), `zkts prints ${key}, which ZooKeeper 3.8 does not`);
      assert.equal(valueKind(value), valueKind(theirs.get(key)!), `${key}: zkts ${value}, ZooKeeper ${theirs.get(key)}`);
    }
    const essential = ['zk_version', 'zk_server_state', 'zk_avg_latency', 'zk_max_latency', 'zk_min_latency', 'zk_packets_received', 'zk_packets_sent', 'zk_num_alive_connections', 'zk_outstanding_requests', 'zk_znode_count', 'zk_watch_count', 'zk_ephemerals_count', 'zk_approximate_data_size'];
    for (const key of essential) assert.ok(ours.has(key), `zkts mntr lacks ${key}`);
    // Counts that describe the same state are equal, not just alike.
    for (const key of ['zk_znode_count', 'zk_watch_count', 'zk_ephemerals_count', 'zk_approximate_data_size', 'zk_server_state']) {
      assert.equal(ours.get(key), theirs.get(key), key);
    }
  });

  test('envi: ZooKeeper\'s keys other than the JVM\'s', async () => {
    const { zkts, reference } = await outputs(['envi']);
    const keys = (text: string): string[] => text.split('\n').slice(1).filter((l) => l.includes('=')).map((l) => l.slice(0, l.indexOf('=')));
    assert.equal(zkts.envi?.split('\n')[0], 'Environment:');
    const missing = keys(reference.envi ?? '').filter((key) => !key.startsWith('java.') && !keys(zkts.envi ?? '').includes(key));
    assert.deepEqual(missing, []);
  });

  describe('with a restricted whitelist', () => {
    let restricted: ServerPair | undefined;
    before(async () => {
      restricted = await ServerPair.start('4lw-restricted', { zooCfg: { '4lw.commands.whitelist': 'srvr, ruok' } });
    });
    after(async () => {
      await restricted?.stop();
    });

    test('words outside it get the same refusal, words in it run', async () => {
      assert.ok(restricted, 'servers did not start');
      const ask = async (server: ZkServerHandle): Promise<Record<string, string>> => {
        const out: Record<string, string> = {};
        for (const word of [...WORDS, 'mntr']) {
          const text = await fourLetterWord(server.host, server.port, word);
          out[word] = word === 'srvr' ? shapeOf(word, text).join('\n') : text;
        }
        return out;
      };
      const [zkts, reference] = await Promise.all([ask(restricted.zkts), ask(restricted.reference)]);
      assert.deepEqual(zkts, reference);
      assert.equal(reference.stat, 'stat is not executed because it is not in the whitelist.\n');
    });
  });
});

/** Sends raw bytes as a four-letter-word connection and returns everything the server sends back. */
function rawFourLetterWord(server: ZkServerHandle, bytes: Buffer, timeoutMs = 10_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const socket = connect({ host: server.host, port: server.port });
    socket.setTimeout(timeoutMs, () => socket.destroy(new Error(`no answer to a four-letter word in ${timeoutMs} ms`)));
    socket.once('connect', () => socket.write(bytes));
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.once('error', reject);
    socket.once('close', (hadError) => {
      if (!hadError) resolve(Buffer.concat(chunks).toString('latin1'));
    });
  });
}

function valueKind(value: string): string {
  if (/^-?\d+$/.test(value)) return 'integer';
  if (/^-?\d+\.\d+(E-?\d+)?$/.test(value)) return 'decimal';
  return 'text';
}

/**
 * The shape of a four-letter word's output: each line with values replaced
 * by markers. Lines whose order is a hash set's (cons, stat's clients) are
 * sorted; conf keeps only its keys; dump loses its empty expiry buckets.
 */
export function shapeOf(word: string, text: string): string[] {
  // An expiry bucket emptied by touches lingers until due, on both servers, but when is timing.
  const kept = text.split('\n').filter((line) => !(word === 'dump' && line.startsWith('0 expire at ')));
  let lines = kept.map((line) => {
    if (line.startsWith('Zookeeper version: ')) return 'Zookeeper version: V';
    if (word === 'conf' && line.includes('=')) return `${line.slice(0, line.indexOf('='))}=*`;
    return line
      .replace(/[A-Z][a-z]{2} [A-Z][a-z]{2} \d\d \d\d:\d\d:\d\d [A-Z]+ \d{4}/g, 'DATE')
      .replace(/0x[0-9a-f]+/g, '0xH')
      .replace(/\d+\.\d+\.\d+\.\d+/g, 'IP')
      .replace(/\d+\.\d+(E-?\d+)?/g, 'D')
      .replace(/\d+/g, 'N');
  });
  if (word === 'cons' || word === 'stat') lines = sortRuns(lines, (l) => l.startsWith(' /'));
  return lines;
}

/** Sorts each run of consecutive lines that match. */
function sortRuns(lines: string[], inRun: (line: string) => boolean): string[] {
  const out: string[] = [];
  let run: string[] = [];
  for (const line of [...lines, '\u0000end']) {
    if (inRun(line)) {
      run.push(line);
      continue;
    }
    out.push(...run.sort());
    run = [];
    if (line !== '\u0000end') out.push(line);
  }
  return out;
}
