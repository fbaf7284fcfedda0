/**
 * Running `zkts shell` and zkCli.sh side by side, and reading their output
 * the same way: the startup banner is dropped and watch notifications
 * ("\nWATCHER::\n\nWatchedEvent ...") are taken out of stdout into a list,
 * because zkCli prints them from another thread, in between anything.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ZkClient } from '../../src/client/mod.js';
import { runProcess } from '../harness/process.js';
import { CLIENT_JVM_FLAGS, runZkCli, ZKCLI_SCRIPT } from '../harness/zkcli.js';

const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url)); // from dist/test/shell/
export const ZKTS_MAIN = join(REPO_ROOT, 'dist', 'src', 'cli', 'main.js');

export interface ShellRun {
  /** stdout without the banner and the watch notifications. */
  stdout: string;
  stderr: string;
  code: number;
  /** "WatchedEvent state:... type:... path:..." lines, in order. */
  watchEvents: string[];
  /** stdout as printed. */
  raw: string;
}

const RUN_TIMEOUT_MS = 60_000;

/** `zkts shell -server <cs> <args...>`: one-shot with args, a session reading `stdin` without. */
export async function runZktsShell(connectString: string, args: string[], stdin?: string, env: Record<string, string> = {}): Promise<ShellRun> {
  const run = await runProcess(process.execPath, [ZKTS_MAIN, 'shell', '-server', connectString, ...args], {
    name: 'zkts shell',
    timeoutMs: RUN_TIMEOUT_MS,
    stdin: stdin ?? '',
    env: { ...process.env, ...env },
  });
  if (run.code === null) throw new Error(`zkts shell was killed by ${run.signal}`);
  return { ...splitStdout(run.stdout), stderr: joinLines(splitLines(run.stderr)), code: run.code, raw: run.stdout };
}

/** zkCli.sh reading commands from stdin (no JLine on Debian: no prompt, no echo). */
export async function runZkCliSession(connectString: string, stdin: string): Promise<ShellRun> {
  const run = await runProcess(ZKCLI_SCRIPT, ['-server', connectString], {
    name: 'zkCli',
    timeoutMs: RUN_TIMEOUT_MS,
    stdin,
    env: { ...process.env, CLIENT_JVMFLAGS: CLIENT_JVM_FLAGS },
  });
  if (run.code === null) throw new Error(`zkCli was killed by ${run.signal}`);
  const stderr = joinLines(splitLines(run.stderr).filter((line) => !line.startsWith('SLF4J: ') && !/^OpenJDK .*VM warning:/.test(line)));
  return { ...splitStdout(run.stdout), stderr, code: run.code, raw: run.stdout };
}

/** zkCli.sh one-shot, read as runZktsShell reads the shell. */
export async function runZkCliOneShot(connectString: string, args: string[]): Promise<ShellRun> {
  const run = await runZkCli(connectString, args, { timeoutMs: RUN_TIMEOUT_MS });
  return { ...run, raw: '' };
}

const BANNER = [/^Connecting to \S+$/, /^Welcome to ZooKeeper!$/, /^JLine support is (en|dis)abled$/];
const WATCH_EVENT = /^WatchedEvent state:\S+ type:\S+ path:/;

/** As the harness reads zkCli's output: lines, each ended by "\n" (also a last one printed without). */
function splitStdout(raw: string): { stdout: string; watchEvents: string[] } {
  const lines = splitLines(raw);
  let start = 0;
  while (start < lines.length && BANNER.some((re) => re.test(lines[start]!))) start++;
  const kept: string[] = [];
  const watchEvents: string[] = [];
  for (let i = start; i < lines.length; i++) {
    const line = lines[i]!;
    const next = lines[i + 1] ?? '';
    if (line === '' && next === 'WATCHER::') {
      i++;
      continue;
    }
    if (line === '' && WATCH_EVENT.test(next)) {
      watchEvents.push(next);
      i++;
      continue;
    }
    kept.push(line);
  }
  return { stdout: joinLines(kept), watchEvents };
}

function splitLines(text: string): string[] {
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  return lines;
}

function joinLines(lines: string[]): string {
  return lines.map((line) => `${line}\n`).join('');
}

/**
 * What differs between two runs that did the same thing in different
 * places: times, zxids and session ids (TTL nodes' ephemeralOwner, 0xff...,
 * is kept: it encodes the TTL).
 */
export function normalize(text: string): string {
  return text
    .replace(/[A-Z][a-z]{2} [A-Z][a-z]{2} \d\d \d\d:\d\d:\d\d \S+ \d{4}/g, '<date>')
    .replace(/^(cZxid|mZxid|pZxid) = 0x[0-9a-f]+$/gm, '$1 = <zxid>')
    .replace(/^ephemeralOwner = 0x(?!0$)(?!ff)[0-9a-f]+$/gm, 'ephemeralOwner = <session>');
}

/** The shell lists its `help` command in the usage text; zkCli has none. */
export function withoutHelpLine(stderr: string): string {
  return stderr.replace(/^\thelp \n/m, '');
}

/** Connects a client for setting up or checking a test; the caller closes it. */
export function connect(connectString: string): Promise<ZkClient> {
  return ZkClient.connect(connectString, { sessionTimeoutMs: 30_000, timeoutMs: 30_000 });
}

/** Compares what matters to a script: stdout and stderr (both normalised) and the exit status. */
export function assertSameRun(actual: ShellRun, expected: ShellRun, what: string, options: { normalise: boolean }): void {
  const view = (run: ShellRun, isShell: boolean): { stdout: string; stderr: string; code: number } => {
    const stderr = isShell ? withoutHelpLine(run.stderr) : run.stderr;
    return options.normalise
      ? { stdout: normalize(run.stdout), stderr: normalize(stderr), code: run.code }
      : { stdout: run.stdout, stderr, code: run.code };
  };
  assert.deepEqual(view(actual, true), view(expected, false), `${what}\n--- zkts shell stdout ---\n${actual.raw}\n--- stderr ---\n${actual.stderr}`);
}
