/**
 * The differential set-up: one zkts and one reference ZooKeeper 3.8 with the
 * same settings, and a runner that plays one scenario against each and
 * returns both transcripts for comparison.
 *
 * A scenario is an async function of a Target. It drives a client library
 * against `target.connectString`, under its own root path `target.root`
 * (unique per scenario, so scenarios on a shared server do not meet), and
 * records what it observes in `target.t`, a Transcript. The transcripts of
 * the two servers must then be deepEqual.
 */
import assert from 'node:assert/strict';
import { isKazooAvailable } from '../harness/kazoo.js';
import { isReferenceZkAvailable, skipUnlessInstalled, startReferenceZk } from '../harness/reference-zk.js';
import { isZkCliAvailable } from '../harness/zkcli.js';
import { startZkts, type ZkServerHandle } from '../harness/zkts-server.js';
import { Normalizer } from './normalize.js';

export type ServerKind = 'zkts' | 'reference';

/** Set ZKTS_DIFF_DUMP=1 to print every reference transcript (to see what a scenario observes). */
const DUMP_TRANSCRIPTS = process.env.ZKTS_DIFF_DUMP === '1';

/** An ordered record of one scenario's observations, with its normaliser. */
export class Transcript {
  readonly entries: unknown[] = [];
  readonly norm = new Normalizer();

  /** Appends one observation (any JSON-able value). */
  note(entry: unknown): void {
    this.entries.push(entry);
  }

  /** The entries, followed by the relative order of the zxids they mention. */
  final(): unknown[] {
    return [...this.entries, { zxidOrder: this.norm.zxidOrder() }];
  }
}

/** A client library's error, by name and code where it has them. */
export function describeError(e: unknown): unknown {
  if (typeof e === 'object' && e !== null) {
    const { name, code, results } = e as { name?: unknown; code?: unknown; results?: unknown };
    if (typeof name === 'string' && typeof code === 'number') return { name, code, ...(results !== undefined && { results }) };
    if (typeof name === 'string' && name !== 'Error') return { name };
  }
  return { thrown: String(e) };
}

export interface Target {
  kind: ServerKind;
  server: ZkServerHandle;
  connectString: string;
  /** The scenario's own root path: "/<file>-<n>-<scenario>"; not created. */
  root: string;
  t: Transcript;
}

export interface PairOptions {
  /** zoo.cfg keys for both servers. */
  zooCfg?: Record<string, string>;
  /**
   * ZooKeeper system properties: -D flags for the reference JVM, zoo.cfg keys
   * (zkts accepts them by their property names) for zkts.
   */
  systemProperties?: Record<string, string>;
}

/** As the reference harness runs ZooKeeper: TTL nodes on, containers reaped within a second or two. */
const DEFAULT_SYSTEM_PROPERTIES: Record<string, string> = {
  'zookeeper.extendedTypesEnabled': 'true',
  'znode.container.checkIntervalMs': '1000',
};

/** The `skip` option for suites that need all reference tools. */
export function skipUnlessReferenceTools(): string | false {
  return skipUnlessInstalled({
    'reference ZooKeeper': isReferenceZkAvailable(),
    zkCli: isZkCliAvailable(),
    kazoo: isKazooAvailable(),
  });
}

export class ServerPair {
  private scenarioCount = 0;

  private constructor(
    readonly zkts: ZkServerHandle,
    readonly reference: ZkServerHandle,
    private readonly prefix: string,
  ) {}

  /** Starts both servers (in parallel); `prefix` names this file's scenario roots. */
  static async start(prefix: string, opts: PairOptions = {}): Promise<ServerPair> {
    const properties = { ...DEFAULT_SYSTEM_PROPERTIES, ...opts.systemProperties };
    const [zkts, reference] = await Promise.allSettled([
      startZkts({ config: { ...properties, ...opts.zooCfg } }),
      startReferenceZk({
        extraConfig: opts.zooCfg ?? {},
        jvmFlags: Object.entries(properties).map(([key, value]) => `-D${key}=${value}`),
      }),
    ]);
    if (zkts.status === 'rejected' || reference.status === 'rejected') {
      if (zkts.status === 'fulfilled') await zkts.value.stop();
      if (reference.status === 'fulfilled') await reference.value.stop();
      throw zkts.status === 'rejected' ? zkts.reason : (reference as PromiseRejectedResult).reason;
    }
    return new ServerPair(zkts.value, reference.value, prefix);
  }

  server(kind: ServerKind): ZkServerHandle {
    return kind === 'zkts' ? this.zkts : this.reference;
  }

  /**
   * Runs `scenario` against both servers at once and returns both final
   * transcripts. A scenario that throws fails the test with its server named.
   */
  async run(name: string, scenario: (target: Target) => Promise<void>): Promise<Record<ServerKind, unknown[]>> {
    const root = `/${this.prefix}-${++this.scenarioCount}-${name.replace(/[^A-Za-z0-9]+/g, '-')}`;
    const play = async (kind: ServerKind): Promise<unknown[]> => {
      const server = this.server(kind);
      const target: Target = { kind, server, connectString: server.connectString, root, t: new Transcript() };
      try {
        await scenario(target);
      } catch (e) {
        throw new Error(`scenario "${name}" against ${kind} threw: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
      }
      return target.t.final();
    };
    // Both run to the end even if one throws, so no client is left running into the next scenario.
    const [zkts, reference] = await Promise.allSettled([play('zkts'), play('reference')]);
    if (zkts.status === 'rejected') throw zkts.reason;
    if (reference.status === 'rejected') throw reference.reason;
    if (DUMP_TRANSCRIPTS) process.stderr.write(`--- ${root} (reference) ---\n${reference.value.map(entryLine).join('\n')}\n`);
    return { zkts: zkts.value, reference: reference.value };
  }

  async stop(): Promise<void> {
    await Promise.all([this.zkts.stop(), this.reference.stop()]);
  }
}

/**
 * Splits a transcript into the entries both servers must agree on and those
 * tagged `deliberate` (steps where zkts knowingly differs from 3.8.0; the
 * test asserts each server's outcome separately).
 */
export function splitDeliberate(transcript: readonly unknown[]): [unknown[], unknown[]] {
  const isDeliberate = (e: unknown): boolean => typeof e === 'object' && e !== null && 'deliberate' in e;
  return [transcript.filter((e) => !isDeliberate(e)), transcript.filter(isDeliberate)];
}

/**
 * Asserts that two transcripts are equal. On a difference the message is a
 * line diff of the transcripts, one entry per line, which reads far better
 * than a deep-equality dump of nested objects.
 */
export function assertSameTranscripts(zkts: readonly unknown[], reference: readonly unknown[]): void {
  const zktsLines = zkts.map(entryLine);
  const referenceLines = reference.map(entryLine);
  if (zktsLines.length === referenceLines.length && zktsLines.every((line, i) => line === referenceLines[i])) return;
  throw new assert.AssertionError({
    message: `zkts and ZooKeeper 3.8 transcripts differ (- reference, + zkts):\n${lineDiff(referenceLines, zktsLines).join('\n')}`,
    actual: zkts,
    expected: reference,
    operator: 'deepStrictEqual',
  });
}

function entryLine(entry: unknown): string {
  return JSON.stringify(entry, (_key, value: unknown) => (typeof value === 'bigint' ? `${value}n` : value));
}

/** A minimal longest-common-subsequence diff: unchanged lines start with two spaces. */
export function lineDiff(before: readonly string[], after: readonly string[]): string[] {
  const n = before.length;
  const m = after.length;
  const common: number[][] = Array.from({ length: n + 1 }, () => new Array<number>(m + 1).fill(0));
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      common[i]![j] = before[i] === after[j] ? common[i + 1]![j + 1]! + 1 : Math.max(common[i + 1]![j]!, common[i]![j + 1]!);
    }
  }
  const out: string[] = [];
  let i = 0;
  let j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && before[i] === after[j]) {
      out.push(`  ${before[i++]}`);
      j++;
    } else if (j < m && (i === n || common[i]![j + 1]! >= common[i + 1]![j]!)) {
      out.push(`+ ${after[j++]}`);
    } else {
      out.push(`- ${before[i++]}`);
    }
  }
  return out;
}
