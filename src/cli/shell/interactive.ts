/**
 * Reading commands interactively. On a terminal: node:readline with line
 * editing, a history kept across runs in ~/.zkts_history, tab completion,
 * zkCli's JLine prompt, and watch notifications printed as they arrive
 * (below the line being typed, which is then shown again under a new
 * prompt). From a pipe: what zkCli does without JLine, one command per
 * line, no prompt.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { createInterface, type Interface } from 'node:readline';
import { splitLine } from './command-line.js';
import { complete } from './completion.js';
import { COMMAND_NAMES, type Shell, type ShellOutput } from './shell.js';

const HISTORY_FILE = '.zkts_history';
/** As many lines as JLine keeps. */
const HISTORY_SIZE = 500;

/** Writes to the process's streams; a notification that comes while a prompt is shown goes below it and the prompt is redrawn. */
export class ConsoleOutput implements ShellOutput {
  /** Set while a prompt waits for input. */
  private prompt: { rl: Interface; text: () => string } | null = null;

  stdout(text: string): void {
    process.stdout.write(text);
  }

  stderr(text: string): void {
    process.stderr.write(text);
  }

  notify(text: string): void {
    const prompt = this.prompt;
    if (prompt === null) {
      this.stdout(text);
      return;
    }
    // The text starts on a new line below the input; the newlines after it make up for the rows the
    // input takes above the cursor, which readline moves up by before it draws the prompt again.
    this.stdout(text + '\n'.repeat(prompt.rl.getCursorPos().rows));
    prompt.rl.setPrompt(prompt.text());
    prompt.rl.prompt(true);
  }

  promptShown(prompt: { rl: Interface; text: () => string } | null): void {
    this.prompt = prompt;
  }
}

/**
 * Reads and runs lines until quit or the end of input (Ctrl-D; Ctrl-C at
 * the prompt too). Line editing needs the terminal on both sides; with
 * either redirected, lines are read as from a pipe.
 */
export async function runInteractive(shell: Shell, output: ConsoleOutput): Promise<void> {
  if (process.stdin.isTTY === true && process.stdout.isTTY === true) await readTerminal(shell, output);
  else await readPipe(shell, output);
}

async function readPipe(shell: Shell, output: ConsoleOutput): Promise<void> {
  output.stdout('Welcome to ZooKeeper!\nJLine support is disabled\n');
  const rl = createInterface({ input: process.stdin, terminal: false, crlfDelay: Infinity });
  for await (const line of rl) {
    await shell.executeLine(line);
    if (shell.quitRequested) break;
  }
  rl.close();
}

async function readTerminal(shell: Shell, output: ConsoleOutput): Promise<void> {
  output.stdout('Welcome to ZooKeeper!\nJLine support is enabled\n');
  const historyPath = join(homedir(), HISTORY_FILE);
  const rl = createInterface({
    input: process.stdin,
    output: process.stdout,
    history: loadHistory(historyPath),
    historySize: HISTORY_SIZE,
    completer: (line: string, callback: (error: null, result: [string[], string]) => void) => {
      void complete(line, COMMAND_NAMES, (dir) => shell.childrenForCompletion(dir)).then((result) => callback(null, result));
    },
  });
  rl.on('history', (lines: string[]) => saveHistory(historyPath, lines));
  const showPrompt = (): void => {
    // readline reads keys in raw mode; it was left while the command ran (see below).
    process.stdin.setRawMode(true);
    rl.setPrompt(shell.prompt());
    output.promptShown({ rl, text: () => shell.prompt() });
    rl.prompt();
  };
  showPrompt();
  for await (const line of rl) {
    output.promptShown(null);
    // While a command runs, keys wait in the terminal, and Ctrl-C is a signal again: it ends a command that hangs (and the shell), as in zkCli.
    rl.pause();
    process.stdin.setRawMode(false);
    await shell.executeLine(line);
    if (shell.quitRequested) break;
    showPrompt();
  }
  // Ended by Ctrl-D or Ctrl-C at the prompt: end its line.
  if (!shell.quitRequested) output.stdout('\n');
  rl.close();
}

/** The file holds the oldest line first; readline wants the newest first. */
function loadHistory(path: string): string[] {
  try {
    return readFileSync(path, 'utf8')
      .split('\n')
      .filter((line) => line !== '')
      .slice(-HISTORY_SIZE)
      .reverse();
  } catch {
    return []; // none yet, or unreadable: start afresh
  }
}

let historySaveFailed = false;

/**
 * Rewritten after every line, so that a shell that is killed keeps its
 * history too. addauth lines hold credentials: they are recalled within the
 * run but not written, and the file is readable by its owner only.
 */
function saveHistory(path: string, newestFirst: string[]): void {
  const kept = newestFirst.filter((line) => splitLine(line)[0] !== 'addauth').reverse();
  try {
    writeFileSync(path, kept.map((line) => `${line}\n`).join(''), { mode: 0o600 });
  } catch (error) {
    if (historySaveFailed) return;
    historySaveFailed = true;
    process.stderr.write(`cannot save the history in ${path}: ${(error as Error).message}\n`);
  }
}
