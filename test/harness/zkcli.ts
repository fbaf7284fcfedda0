/**
 * Runs Apache ZooKeeper's command-line client, /usr/share/zookeeper/bin/zkCli.sh.
 *
 * What zkCli 3.8 prints, and what is filtered out of the returned output:
 *   - stdout starts with "Connecting to <host:port>"; the interactive shell then
 *     adds "Welcome to ZooKeeper!" and "JLine support is disabled" (Debian's
 *     jline is version 1, which zkCli cannot use: so no prompts and no echo).
 *   - Watch notifications are printed by the event thread as "\nWATCHER::" and
 *     "\nWatchedEvent state:... type:... path:...", at any point in between the
 *     command's lines. They are removed from stdout and returned in
 *     watchEvents (e.g. "WatchedEvent state:SyncConnected type:None path:null").
 *   - Several results go to stderr, not stdout: "Created /x" from create, and
 *     errors such as "Node does not exist: /x" or "Node already exists: /x".
 *   - The Debian jars have no slf4j binding, so the only log noise is the
 *     "SLF4J: ..." notice on stderr; log-formatted lines are dropped too in
 *     case a binding shows up.
 * One-shot mode exits 0 on success, 1 on a failed command, 127 for an unknown one.
 */
import { existsSync } from 'node:fs';
import { runProcess, type RunResult } from './process.js';

export const ZKCLI_SCRIPT = '/usr/share/zookeeper/bin/zkCli.sh';

/** zkCli.sh passes CLIENT_JVMFLAGS to java: start fast and small, leave no hsperfdata behind. */
export const CLIENT_JVM_FLAGS = '-Xmx128m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -XX:-UsePerfData -Djava.net.preferIPv4Stack=true';

export interface ZkCliOptions {
  /** Bound on the whole run, JVM start included. Default 60 s. */
  timeoutMs?: number;
  /** Added to this process's environment. */
  env?: Record<string, string>;
}

export interface ZkCliResult {
  /** The command's stdout, noise removed (see the header); lines end with "\n". */
  stdout: string;
  stderr: string;
  code: number;
  watchEvents: string[];
}

/**
 * Runs one command in one-shot mode: `zkCli.sh -server <cs> <cmd> <args...>`.
 * A string is split into arguments the way the zkCli shell splits a line
 * (whitespace; "double" or 'single' quotes group and are removed).
 */
export async function runZkCli(connectString: string, args: string[] | string, opts: ZkCliOptions = {}): Promise<ZkCliResult> {
  const argv = typeof args === 'string' ? splitCommandLine(args) : args;
  const run = await runZkCliProcess(['-server', connectString, ...argv], undefined, opts);
  const stdout = parseStdout(run.stdout);
  return { stdout: joinLines(stdout.lines), stderr: joinLines(cleanStderr(run.stderr)), code: exitCode(run), watchEvents: stdout.watchEvents };
}

export interface ZkCliBatchResult {
  /** Per command, in order: what it printed on each stream. */
  results: Array<{ command: string; stdout: string; stderr: string }>;
  watchEvents: string[];
}

/**
 * Runs several commands in one interactive zkCli (one JVM start instead of
 * one per command), then `quit`. Commands are strings as typed at the zkCli
 * prompt, or argument arrays (quoted as needed).
 *
 * Output is split per command with marker commands run after each one:
 * `version` (a known line on stdout) and an unknown command
 * `__zkts_end_<i>` ("Command not found ..." on stderr, after a usage text that
 * is dropped). So do not run `quit` mid-batch. There are no exit codes in this
 * mode: the shell exits with the status of its last command, always a marker.
 */
export async function runZkCliBatch(connectString: string, commands: Array<string | string[]>, opts: ZkCliOptions = {}): Promise<ZkCliBatchResult> {
  const lines = commands.map((command) => (typeof command === 'string' ? command : joinCommandLine(command)));
  for (const line of lines) if (/[\r\n]/.test(line)) throw new Error(`zkCli command spans lines: ${JSON.stringify(line)}`);
  const input = lines.map((line, i) => `${line}\nversion\n${endMarker(i)}\n`).join('') + 'quit\n';
  const run = await runZkCliProcess(['-server', connectString], input, opts);
  const stdout = parseStdout(run.stdout);
  const fail = (why: string): Error =>
    new Error(`zkCli batch output could not be split (${why})\n--- stdout ---\n${run.stdout}\n--- stderr ---\n${run.stderr}`);
  const stdoutChunks = splitStdout(stdout.lines, lines, fail);
  const stderrChunks = splitStderr(cleanStderr(run.stderr), lines.length, fail);
  return {
    results: lines.map((command, i) => ({ command, stdout: joinLines(stdoutChunks[i] ?? []), stderr: joinLines(stderrChunks[i] ?? []) })),
    watchEvents: stdout.watchEvents,
  };
}

export function isZkCliAvailable(): boolean {
  return existsSync(ZKCLI_SCRIPT);
}

/** Splits a command line like zkCli's shell does (MyCommandOptions.ARGS_PATTERN). */
export function splitCommandLine(line: string): string[] {
  const args: string[] = [];
  for (const match of line.matchAll(/\s*([^"'\s]\S*|"[^"]*"|'[^']*')\s*/g)) {
    const token = match[1] ?? '';
    args.push(/^(["']).*\1$/s.test(token) ? token.slice(1, -1) : token);
  }
  return args;
}

/** The inverse of splitCommandLine, for passing argument arrays to the shell. */
export function joinCommandLine(args: string[]): string {
  return args
    .map((arg) => {
      if (arg !== '' && !/[\s"']/.test(arg)) return arg;
      if (!arg.includes('"')) return `"${arg}"`;
      if (!arg.includes("'")) return `'${arg}'`;
      throw new Error(`zkCli cannot quote an argument with both kinds of quotes: ${arg}`);
    })
    .join(' ');
}

async function runZkCliProcess(args: string[], stdin: string | undefined, opts: ZkCliOptions): Promise<RunResult> {
  const env = { ...process.env, CLIENT_JVMFLAGS: CLIENT_JVM_FLAGS, ...opts.env };
  return runProcess(ZKCLI_SCRIPT, args, { name: 'zkCli', timeoutMs: opts.timeoutMs ?? 60_000, env, stdin });
}

function exitCode(run: RunResult): number {
  if (run.code === null) throw new Error(`zkCli was killed by ${run.signal}\n--- stdout ---\n${run.stdout}\n--- stderr ---\n${run.stderr}`);
  return run.code;
}

const BANNER = [/^Connecting to \S+$/, /^Welcome to ZooKeeper!$/, /^JLine support is disabled$/];
const WATCH_EVENT = /^WatchedEvent state:\S+ type:\S+ path:/;
/** log4j's ISO8601 layout, in case the classpath ever gains an slf4j binding. */
const LOG_LINE = /^\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d[,.]\d{3} .*\b(TRACE|DEBUG|INFO|WARN|ERROR|FATAL)\b/;

/** Removes the startup banner, watch notifications and log lines from stdout. */
function parseStdout(raw: string): { lines: string[]; watchEvents: string[] } {
  const input = splitLines(raw);
  let start = 0;
  while (start < input.length && BANNER.some((re) => re.test(input[start] ?? ''))) start++;
  const lines: string[] = [];
  const watchEvents: string[] = [];
  for (let i = start; i < input.length; i++) {
    const line = input[i] ?? '';
    const next = input[i + 1] ?? '';
    // Each notification line is printed as one "\n<line>" write: a blank line, then the text.
    if (line === '' && (next === 'WATCHER::' || WATCH_EVENT.test(next))) {
      if (WATCH_EVENT.test(next)) watchEvents.push(next);
      i++;
      continue;
    }
    if (LOG_LINE.test(line)) continue;
    lines.push(line);
  }
  return { lines, watchEvents };
}

function cleanStderr(raw: string): string[] {
  return splitLines(raw).filter((line) => !line.startsWith('SLF4J: ') && !LOG_LINE.test(line) && !/^OpenJDK .*VM warning:/.test(line));
}

const VERSION_LINE = /^ZooKeeper CLI version: /;

/** Each command's stdout ends at the line printed by the `version` marker after it. */
function splitStdout(lines: string[], commands: string[], fail: (why: string) => Error): string[][] {
  const chunks: string[][] = [];
  let pos = 0;
  for (const command of commands) {
    // A `version` command of the caller's own prints a version line before the marker's.
    let versionLinesLeft = splitCommandLine(command)[0] === 'version' ? 2 : 1;
    const chunk: string[] = [];
    while (versionLinesLeft > 0) {
      const line = lines[pos++];
      if (line === undefined) throw fail(`stdout ends before the marker after command ${chunks.length}`);
      if (VERSION_LINE.test(line) && --versionLinesLeft === 0) break;
      chunk.push(line);
    }
    chunks.push(chunk);
  }
  return chunks;
}

/** Each command's stderr ends at "Command not found" for its end marker, preceded by a usage text. */
function splitStderr(lines: string[], count: number, fail: (why: string) => Error): string[][] {
  const chunks: string[][] = [];
  let chunk: string[] = [];
  for (const line of lines) {
    if (line !== `Command not found: Command not found ${endMarker(chunks.length)}`) {
      chunk.push(line);
      continue;
    }
    chunks.push(withoutTrailingUsage(chunk));
    chunk = [];
  }
  if (chunks.length !== count) throw fail(`found ${chunks.length} of ${count} stderr markers`);
  return chunks;
}

/** Drops the usage text zkCli prints before "Command not found" (the last one in the chunk). */
function withoutTrailingUsage(chunk: string[]): string[] {
  for (let i = chunk.length - 1; i >= 0; i--) {
    if (chunk[i]?.startsWith('ZooKeeper -server ')) return chunk.slice(0, i);
  }
  return chunk;
}

function endMarker(index: number): string {
  return `__zkts_end_${index}`;
}

function splitLines(text: string): string[] {
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  return lines;
}

function joinLines(lines: string[]): string {
  return lines.map((line) => `${line}\n`).join('');
}
