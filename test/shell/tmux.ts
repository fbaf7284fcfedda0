/**
 * A program driven through a terminal as a user would drive it: it runs in
 * a tmux pane (a real pseudo-terminal), keys are sent with send-keys, and
 * the screen is read back with capture-pane. Each TmuxPane has its own tmux
 * server, socket and configuration, in the test's directory, so it shares
 * nothing with the user's tmux. The program runs under sh, which prints "[exit <status>]"
 * when it ends (tmux's own pane_dead_status is not always set); the pane
 * stays after that.
 */
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { isGroupAlive, waitFor } from '../harness/process.js';

const run = promisify(execFile);
const TMUX_COMMAND_TIMEOUT_MS = 10_000;
const SCREEN_WAIT_MS = 30_000;

export async function isTmuxAvailable(): Promise<boolean> {
  try {
    await run('tmux', ['-V'], { timeout: TMUX_COMMAND_TIMEOUT_MS });
    return true;
  } catch {
    return false;
  }
}

let panes = 0;

export class TmuxPane {
  private constructor(
    private readonly socket: string,
    private readonly configPath: string,
    /** The tmux server (it daemonizes: not a child of this process). */
    readonly serverPid: number,
    /** The sh running the program; it leads the pane's process group, the program included. */
    readonly panePid: number,
  ) {}

  /** Starts `command` in a fresh tmux server, in a pane of the given size, with `env` added to its environment. */
  static async start(workDir: string, command: string[], env: Record<string, string>, size = { columns: 160, rows: 40 }): Promise<TmuxPane> {
    const name = `tmux-${++panes}`;
    const socket = join(workDir, `${name}.sock`);
    const configPath = join(workDir, `${name}.conf`);
    // No status line (the screen is the program's alone); a pane whose program exited stays, with its status.
    await writeFile(configPath, 'set -g status off\nset -g remain-on-exit on\nset -g history-limit 1000\n');
    const envArgs = Object.entries(env).flatMap(([name, value]) => ['-e', `${name}=${value}`]);
    const wrapped = ['sh', '-c', '"$@"; echo "[exit $?]"', 'sh', ...command];
    await tmux(socket, configPath, ['new-session', '-d', '-s', 'test', '-x', String(size.columns), '-y', String(size.rows), ...envArgs, '--', ...wrapped]);
    const [serverPid, panePid] = (await tmux(socket, configPath, ['display-message', '-p', '-t', 'test', '#{pid} #{pane_pid}'])).trim().split(' ').map(Number);
    if (!Number.isInteger(serverPid) || !Number.isInteger(panePid)) throw new Error(`tmux did not say its pids (${serverPid}, ${panePid})`);
    return new TmuxPane(socket, configPath, serverPid!, panePid!);
  }

  /** Keys by tmux's names: "Tab", "Enter", "Up", "C-d", ... */
  async keys(...keys: string[]): Promise<void> {
    await tmux(this.socket, this.configPath, ['send-keys', '-t', 'test', ...keys]);
  }

  /** Text typed as it is (no key names). */
  async type(text: string): Promise<void> {
    await tmux(this.socket, this.configPath, ['send-keys', '-t', 'test', '-l', '--', text]);
  }

  /** The visible screen, trailing blank lines removed. */
  async screen(): Promise<string> {
    const text = await tmux(this.socket, this.configPath, ['capture-pane', '-p', '-t', 'test']);
    return text.replace(/\n+$/, '');
  }

  /** The last non-blank line of the screen: where the program's cursor line is while it reads. */
  async lastLine(): Promise<string> {
    return (await this.screen()).split('\n').at(-1) ?? '';
  }

  /** Waits until the screen satisfies `check` (which may act, e.g. press a key again); returns the screen. */
  async waitForScreen(what: string, check: (screen: string) => boolean | Promise<boolean>): Promise<string> {
    let last = '';
    return waitFor(
      async () => {
        last = await this.screen();
        return (await check(last)) ? last : undefined;
      },
      { what, timeoutMs: SCREEN_WAIT_MS, intervalMs: 100, diagnostics: () => `--- screen ---\n${last}\n--- end of screen ---` },
    );
  }

  /** Waits until the last line is exactly `line` (a prompt and what was typed after it). */
  async waitForLastLine(line: string): Promise<string> {
    return this.waitForScreen(`the last line to be ${JSON.stringify(line)}`, (screen) => (screen.split('\n').at(-1) ?? '') === line);
  }

  /** Waits for the program to exit; returns its exit status. */
  async waitForExit(): Promise<number> {
    const screen = await this.waitForScreen('the program in the tmux pane to exit', (text) => /^\[exit \d+\]$/m.test(text));
    return Number(/^\[exit (\d+)\]$/m.exec(screen)![1]);
  }

  /** Ends the program and the tmux server, by their pids. */
  async kill(): Promise<void> {
    killGroup(this.panePid);
    // Asked first, the server removes its socket on the way out.
    await tmux(this.socket, this.configPath, ['kill-server']).catch(() => undefined);
    await waitFor(() => !isGroupAlive(this.serverPid), { what: 'the tmux server to exit', timeoutMs: SCREEN_WAIT_MS }).catch(() => killGroup(this.serverPid));
    for (const pid of [this.panePid, this.serverPid]) {
      await waitFor(() => !isGroupAlive(pid), { what: `process group ${pid} of tmux to end`, timeoutMs: SCREEN_WAIT_MS });
    }
  }
}

function killGroup(pid: number): void {
  try {
    process.kill(-pid, 'SIGKILL');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
  }
}

async function tmux(socket: string, configPath: string, args: string[]): Promise<string> {
  const { stdout } = await run('tmux', ['-S', socket, '-f', configPath, ...args], { timeout: TMUX_COMMAND_TIMEOUT_MS });
  return stdout;
}
