/**
 * What the recipe worker processes share. A worker gets its settings as one
 * JSON argument and reports on stdout, one line per fact ("ENTERED w1:3").
 *
 * The critical section is checked by the server, not by clocks: entering
 * creates an ephemeral marker node in a multi that also checks the holder's
 * own node (the fence) and appends "enter <token>" to a log of persistent-
 * sequential nodes; leaving deletes the marker and appends "exit <token>"
 * the same way. A second holder would find the marker (NodeExists) and
 * report VIOLATION; the log gives the order in which the server saw it all.
 */
import { CreateMode, ErrorCode, KeeperError, MultiError, ZkClient, type Op } from '../../../src/client/mod.js';

export function settings<T>(): T {
  return JSON.parse(process.argv[2] ?? '{}') as T;
}

export function say(line: string): void {
  process.stdout.write(`${line}\n`);
}

export async function connect(connectString: string, sessionTimeoutMs: number): Promise<ZkClient> {
  const client = await ZkClient.connect(connectString, { sessionTimeoutMs, timeoutMs: 120_000 });
  client.on('expired', () => say('EXPIRED'));
  return client;
}

export function isCode(error: unknown, code: number): boolean {
  return error instanceof KeeperError && error.code === code;
}

/** Runs a read again after ConnectionLoss (the client queues it until it has reconnected). */
export async function retry<T>(call: () => Promise<T>): Promise<T> {
  for (;;) {
    try {
      return await call();
    } catch (error) {
      if (!isCode(error, ErrorCode.ConnectionLoss)) throw error;
    }
  }
}

async function readMarker(client: ZkClient, markerPath: string): Promise<string | null> {
  for (;;) {
    try {
      return (await client.getData(markerPath)).data?.toString('utf8') ?? '';
    } catch (error) {
      if (isCode(error, ErrorCode.NoNode)) return null;
      if (!isCode(error, ErrorCode.ConnectionLoss)) throw error;
    }
  }
}

export type SectionResult = 'done' | 'violation' | 'fenced';

/**
 * Enters the critical section. After a ConnectionLoss the marker tells
 * whether the multi was applied (a session's requests are applied in order,
 * so the read sent after it sees its effect).
 */
export async function enterSection(client: ZkClient, fence: Op, markerPath: string, logPath: string, token: string): Promise<SectionResult> {
  for (;;) {
    try {
      await client.multi([
        fence,
        { type: 'create', path: markerPath, data: token, mode: CreateMode.EPHEMERAL },
        { type: 'create', path: `${logPath}/e-`, data: `enter ${token}`, mode: CreateMode.PERSISTENT_SEQUENTIAL },
      ]);
      return 'done';
    } catch (error) {
      if (error instanceof MultiError) {
        if (error.failedIndex === 0) return 'fenced';
        if (error.code === ErrorCode.NodeExists) {
          say(`VIOLATION ${token} found the marker of ${await readMarker(client, markerPath)}`);
          return 'violation';
        }
      }
      if (!isCode(error, ErrorCode.ConnectionLoss)) throw error;
    }
    if ((await readMarker(client, markerPath)) === token) return 'done';
  }
}

/** Leaves the critical section (same ConnectionLoss reasoning: only this holder deletes its marker). */
export async function exitSection(client: ZkClient, fence: Op, markerPath: string, logPath: string, token: string): Promise<SectionResult> {
  for (;;) {
    try {
      await client.multi([
        fence,
        { type: 'delete', path: markerPath },
        { type: 'create', path: `${logPath}/e-`, data: `exit ${token}`, mode: CreateMode.PERSISTENT_SEQUENTIAL },
      ]);
      return 'done';
    } catch (error) {
      if (error instanceof MultiError && error.failedIndex === 0) return 'fenced';
      if (error instanceof MultiError && error.code === ErrorCode.NoNode) {
        say(`VIOLATION ${token} found no marker on the way out`);
        return 'violation';
      }
      if (!isCode(error, ErrorCode.ConnectionLoss)) throw error;
    }
    if ((await readMarker(client, markerPath)) !== token) return 'done';
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Runs the worker's main function; any failure is printed and makes the exit status 1. */
export function run(main: () => Promise<void>): void {
  main().then(
    () => process.exit(0),
    (error: unknown) => {
      say(`FAILED ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
      process.exit(1);
    },
  );
}
