/**
 * Child processes for tests: spawned in their own process group (so a server
 * and anything it starts are signalled together), with output captured in
 * memory, and tracked in a registry that kills whatever is still running when
 * the test process exits and dumps recent output when a test in it failed.
 *
 * Set ZKTS_TEST_VERBOSE=1 to also stream every child's output to stderr live.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync, rmSync } from 'node:fs';

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface ManagedSpawnOptions {
  /** Label used in diagnostics. */
  name: string;
  cwd?: string;
  /** Complete environment; defaults to this process's. */
  env?: NodeJS.ProcessEnv;
  /** Written to the child's stdin, which is then closed; without it stdin is empty. */
  stdin?: string;
  /** Keep the complete stdout/stderr (for short-lived tools whose output is the result). */
  collectOutput?: boolean;
  /** Show the recent output when this test process ends with a failure. Default true. */
  dumpOnFailure?: boolean;
}

const RECENT_LINE_LIMIT = 200;
/** After the process exits, how long to wait for its pipes to drain. */
const PIPE_DRAIN_MS = 2_000;
const DEFAULT_STOP_GRACE_MS = 10_000;
/** SIGKILL cannot be ignored, but a process in uninterruptible sleep can take a while to go. */
const KILL_WAIT_MS = 30_000;
const VERBOSE = process.env.ZKTS_TEST_VERBOSE === '1';

export class ManagedProcess {
  readonly name: string;
  readonly pid: number;
  /** Resolves once the process has exited and its output has been read. */
  readonly exited: Promise<ExitInfo>;

  private exit: ExitInfo | undefined;
  private paused = false;
  private readonly recent: string[] = [];
  private readonly partialLine = { stdout: '', stderr: '' };
  private readonly collected: { stdout: string; stderr: string } | undefined;

  constructor(command: string, args: readonly string[], opts: ManagedSpawnOptions) {
    this.name = opts.name;
    this.collected = opts.collectOutput ? { stdout: '', stderr: '' } : undefined;
    const child = spawn(command, args, {
      cwd: opts.cwd,
      env: opts.env ?? process.env,
      detached: true, // own process group: signals reach the whole tree via -pid
      stdio: [opts.stdin === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    });
    if (child.pid === undefined) {
      child.once('error', () => {}); // the spawn error is reported by the throw below
      throw new Error(`failed to spawn ${opts.name}: ${command} ${args.join(' ')}`);
    }
    this.pid = child.pid;
    if (opts.stdin !== undefined && child.stdin) {
      child.stdin.on('error', () => {}); // the child may exit without reading all of it
      child.stdin.end(opts.stdin);
    }
    this.capture(child, 'stdout');
    this.capture(child, 'stderr');
    this.exited = this.watchExit(child);
    registry.add(this, opts.dumpOnFailure ?? true);
  }

  get running(): boolean {
    return this.exit === undefined;
  }

  get exitInfo(): ExitInfo | undefined {
    return this.exit;
  }

  /** Complete stdout; only for processes spawned with collectOutput. */
  get stdout(): string {
    return this.requireCollected().stdout;
  }

  /** Complete stderr; only for processes spawned with collectOutput. */
  get stderr(): string {
    return this.requireCollected().stderr;
  }

  /** The last lines of output, both streams interleaved in arrival order. */
  recentOutput(): string {
    const tail = [this.partialLine.stdout, this.partialLine.stderr].filter((l) => l !== '');
    return [...this.recent, ...tail].join('\n');
  }

  /** A headline plus recent output, for error messages. */
  describe(): string {
    const state = this.exit ? `exited ${formatExit(this.exit)}` : 'running';
    return `--- ${this.name} (pid ${this.pid}, ${state}), last ${RECENT_LINE_LIMIT} lines ---\n${this.recentOutput()}\n--- end of ${this.name} ---`;
  }

  /** SIGTERM, then SIGKILL if still alive after graceMs; resolves once the process is gone. */
  async stop(graceMs = DEFAULT_STOP_GRACE_MS): Promise<ExitInfo> {
    if (this.exit) return this.finish();
    this.signal('SIGTERM');
    if (this.paused) this.resume(); // a stopped process would not act on SIGTERM
    const exitedInTime = await withTimeout(this.exited, graceMs);
    if (exitedInTime === undefined) return this.kill9();
    return this.finish();
  }

  /** SIGKILL to the whole process group; resolves once the process is gone. */
  async kill9(): Promise<ExitInfo> {
    if (this.exit) return this.finish();
    this.signal('SIGKILL');
    const info = await withTimeout(this.exited, KILL_WAIT_MS);
    if (info === undefined) throw new Error(`${this.name} (pid ${this.pid}) survived SIGKILL for ${KILL_WAIT_MS} ms`);
    return this.finish();
  }

  /** SIGSTOP: the process (group) freezes, its sockets stay open. */
  pause(): void {
    this.signal('SIGSTOP');
    this.paused = true;
  }

  resume(): void {
    this.signal('SIGCONT');
    this.paused = false;
  }

  /** Sends a signal to the process group; a group that is already gone is not an error. */
  signal(sig: NodeJS.Signals): void {
    signalGroup(this.pid, sig);
  }

  /**
   * Waits for the leader to be gone, then kills anything it left behind in its
   * group (e.g. the java under a wrapper script) and waits for that to go too.
   */
  private async finish(): Promise<ExitInfo> {
    const info = await this.exited;
    signalGroup(this.pid, 'SIGKILL');
    await waitFor(() => !isGroupAlive(this.pid), {
      what: `the rest of process group ${this.pid} (${this.name}) to die`,
      timeoutMs: KILL_WAIT_MS,
      diagnostics: () => `still running: ${liveGroupMembers(this.pid).join(', ')}`,
    });
    registry.forget(this);
    return info;
  }

  private requireCollected(): { stdout: string; stderr: string } {
    if (!this.collected) throw new Error(`${this.name}: spawned without collectOutput`);
    return this.collected;
  }

  private capture(child: ChildProcess, stream: 'stdout' | 'stderr'): void {
    const source = child[stream];
    if (!source) return;
    source.setEncoding('utf8');
    source.on('data', (chunk: string) => {
      if (this.collected) this.collected[stream] += chunk;
      const lines = (this.partialLine[stream] + chunk).split('\n');
      this.partialLine[stream] = lines.pop() ?? '';
      for (const line of lines) this.remember(stream, line);
    });
    source.on('end', () => {
      if (this.partialLine[stream] !== '') this.remember(stream, this.partialLine[stream]);
      this.partialLine[stream] = '';
    });
  }

  private remember(stream: 'stdout' | 'stderr', line: string): void {
    const tagged = `${stream === 'stdout' ? 'out' : 'err'}| ${line}`;
    if (VERBOSE) process.stderr.write(`[${this.name} ${this.pid}] ${tagged}\n`);
    this.recent.push(tagged);
    if (this.recent.length > RECENT_LINE_LIMIT) this.recent.shift();
  }

  private watchExit(child: ChildProcess): Promise<ExitInfo> {
    const closed = new Promise<void>((resolve) => child.once('close', () => resolve()));
    return new Promise<ExitInfo>((resolve) => {
      child.once('exit', (code, signal) => {
        const info = { code, signal };
        this.exit = info;
        // Output may still be in the pipes; 'close' comes when both are drained,
        // unless something that inherited them outlives the process.
        void withTimeout(closed, PIPE_DRAIN_MS).then(() => resolve(info));
      });
    });
  }
}

export function spawnManaged(command: string, args: readonly string[], opts: ManagedSpawnOptions): ManagedProcess {
  return new ManagedProcess(command, args, opts);
}

export interface RunResult {
  stdout: string;
  stderr: string;
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface RunOptions {
  name: string;
  timeoutMs: number;
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  stdin?: string;
}

/**
 * Runs a short-lived tool to completion and returns its complete output.
 * Past timeoutMs it is killed and the promise rejects with its output.
 */
export async function runProcess(command: string, args: readonly string[], opts: RunOptions): Promise<RunResult> {
  const proc = spawnManaged(command, args, {
    name: opts.name,
    cwd: opts.cwd,
    env: opts.env,
    stdin: opts.stdin,
    collectOutput: true,
    dumpOnFailure: false, // the output is returned, or part of the error below
  });
  const info = await withTimeout(proc.exited, opts.timeoutMs);
  if (info === undefined) {
    await proc.kill9();
    throw new Error(`${opts.name} did not finish within ${opts.timeoutMs} ms\n${proc.describe()}`);
  }
  await proc.stop(); // reaps anything left in its process group
  return { stdout: proc.stdout, stderr: proc.stderr, code: info.code, signal: info.signal };
}

export interface WaitForOptions {
  /** What is awaited, for the timeout message ("reference ZooKeeper answers ruok"). */
  what: string;
  timeoutMs?: number;
  intervalMs?: number;
  /** Extra text for the timeout message, e.g. a process's recent output. */
  diagnostics?: () => string;
  /** Checked before each poll: a reason to stop waiting now (e.g. the server process died). */
  giveUpIf?: () => string | undefined;
}

/**
 * Polls `check` until it returns something other than undefined/null/false and
 * returns that. A check that throws counts as "not yet"; the last error is
 * reported if the deadline passes.
 */
export async function waitFor<T>(
  check: () => T | undefined | null | false | Promise<T | undefined | null | false>,
  opts: WaitForOptions,
): Promise<T> {
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const intervalMs = opts.intervalMs ?? 50;
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (true) {
    const reason = opts.giveUpIf?.();
    if (reason !== undefined) throw waitError(`gave up waiting for ${opts.what}: ${reason}`, lastError, opts);
    try {
      const value = await check();
      if (value !== undefined && value !== null && value !== false) return value;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() >= deadline) throw waitError(`timed out after ${timeoutMs} ms waiting for ${opts.what}`, lastError, opts);
    await sleep(intervalMs);
  }
}

function waitError(headline: string, lastError: unknown, opts: WaitForOptions): Error {
  const parts = [headline];
  if (lastError !== undefined) parts.push(`last error: ${lastError instanceof Error ? lastError.message : String(lastError)}`);
  if (opts.diagnostics) parts.push(opts.diagnostics());
  return new Error(parts.join('\n'));
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** The promise's value, or undefined if it takes longer than ms. */
export async function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** True while a process of the group led by pid is running (zombies awaiting their reaper do not count). */
export function isGroupAlive(pid: number): boolean {
  return liveGroupMembers(pid).length > 0;
}

/** Pids in process group pgid that are not zombies, from /proc. */
function liveGroupMembers(pgid: number): number[] {
  const members: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue; // exited while we looked
    }
    // "pid (comm) state ppid pgrp ...": comm may hold spaces and parentheses, so split after the last ')'.
    const [state, , pgrp] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (state !== 'Z' && state !== 'X' && Number(pgrp) === pgid) members.push(Number(entry));
  }
  return members;
}

function signalGroup(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(-pid, sig);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
  }
}

function formatExit(info: ExitInfo): string {
  return info.signal ? `by ${info.signal}` : `with code ${info.code}`;
}

/**
 * Removes `dir` (recursively) when this test process exits, after its children
 * are killed, unless the returned release function was called first.
 */
export function removeAtExit(dir: string): () => void {
  return registry.removeAtExit(dir);
}

/**
 * Every process spawned by this test process. Whatever is still running when
 * the test process exits (normally or by SIGINT/SIGTERM/SIGHUP) is killed, and
 * the temp dirs registered with removeAtExit are removed.
 */
class Registry {
  private readonly live = new Set<ManagedProcess>();
  private readonly dirs = new Set<string>();
  /** Processes whose output is shown if a test failed; the most recent few only. */
  private readonly dumpable: ManagedProcess[] = [];
  private hooksInstalled = false;

  add(proc: ManagedProcess, dumpOnFailure: boolean): void {
    this.installHooks();
    this.live.add(proc);
    if (dumpOnFailure) {
      this.dumpable.push(proc);
      if (this.dumpable.length > 10) this.dumpable.shift();
    }
  }

  forget(proc: ManagedProcess): void {
    this.live.delete(proc);
  }

  removeAtExit(dir: string): () => void {
    this.installHooks();
    this.dirs.add(dir);
    return () => this.dirs.delete(dir);
  }

  private installHooks(): void {
    if (this.hooksInstalled) return;
    this.hooksInstalled = true;
    process.on('exit', () => this.onExit());
    for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
      process.once(sig, () => {
        this.cleanUp();
        process.kill(process.pid, sig); // the listener is gone now: default action
      });
    }
  }

  private onExit(): void {
    if (process.exitCode !== undefined && process.exitCode !== 0) this.dumpRecentOutput();
    this.cleanUp();
  }

  private cleanUp(): void {
    this.killAll();
    for (const dir of this.dirs) {
      try {
        rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
      } catch {
        // A killed process may still be writing into it; nothing more to do on the way out.
      }
    }
    this.dirs.clear();
  }

  private dumpRecentOutput(): void {
    for (const proc of this.dumpable) process.stderr.write(`\n[test failed] ${proc.describe()}\n`);
  }

  private killAll(): void {
    for (const proc of this.live) {
      if (proc.running) process.stderr.write(`[harness] killing leftover ${proc.name} (pid ${proc.pid})\n`);
      signalGroup(proc.pid, 'SIGKILL');
    }
    this.live.clear();
  }
}

const registry = new Registry();
