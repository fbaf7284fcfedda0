/**
 * The shell proper, ZooKeeperMain's counterpart: one connection at a time,
 * the numbered history, redo, printwatches, and the dispatch of each command
 * line to its command. It is driven by the one-shot runner (one command
 * from the arguments) or the interactive one (lines from a terminal or a
 * pipe), and it prints what zkCli prints, on the same streams:
 *
 * - watch notifications and connection state changes as
 *   "\nWATCHER::\n\nWatchedEvent state:... type:... path:...\n" (stdout);
 * - a failed command's message on stderr, setting the exit status that
 *   quit, the end of input and one-shot mode exit with;
 * - "Not connected" (stdout) for a command given after the session ended.
 */
import { ErrorCode, KeeperState, ZkClient, type ClientState, type KeeperStateValue, type WatchEvent } from '../../client/mod.js';
import { EventType } from '../../protocol/constants.js';
import { usageOf, type CommandContext } from './command.js';
import { splitLine } from './command-line.js';
import { CLI_COMMANDS } from './commands.js';
import { CliError, commandNotFound } from './errors.js';
import { decodeJavaInt, keeperExceptionMessage, NumberFormatError, watchedEventString } from './java.js';
import { Zk } from './zk.js';

export interface ShellOutput {
  stdout(text: string): void;
  stderr(text: string): void;
  /** A notification, which may come at any time, also while a prompt is shown. */
  notify(text: string): void;
}

export interface ShellOptions {
  /** host:port[,host:port...][/chroot] */
  server: string;
  sessionTimeoutMs: number;
  /** -r: accept a read-only server. */
  readOnly: boolean;
  /** -waitforconnection: each connect waits for the session (up to the session timeout). */
  waitForConnection: boolean;
  /** Connect at once (interactive); otherwise on the first request (one-shot). */
  connectEagerly: boolean;
}

/** The shell's own commands, next to the CLI_COMMANDS, with their usage. */
const SHELL_COMMANDS: ReadonlyMap<string, string> = new Map([
  ['connect', 'host:port'],
  ['history', ''],
  ['redo', 'cmdno'],
  ['printwatches', 'on|off'],
  ['quit', ''],
  ['help', ''],
]);

/** Every command name, sorted as zkCli sorts them (by UTF-16 code unit: addWatch before addauth). */
export const COMMAND_NAMES: readonly string[] = [...CLI_COMMANDS.keys(), ...SHELL_COMMANDS.keys()].sort();

/** How many earlier lines `history` shows besides itself. */
const HISTORY_SHOWN = 10;

/** Tab completion must not hang on a slow or lost connection. */
const COMPLETION_TIMEOUT_MS = 2000;

/** The Java client's state names, for the prompt. */
const JAVA_STATES: Record<ClientState, string> = {
  idle: 'NOT_CONNECTED',
  connecting: 'CONNECTING',
  connected: 'CONNECTED',
  connectedReadOnly: 'CONNECTEDREADONLY',
  expired: 'CLOSED',
  authFailed: 'AUTH_FAILED',
  closed: 'CLOSED',
};

/** States.isAlive(): a session that may still serve requests. */
function isAlive(state: ClientState): boolean {
  return state !== 'expired' && state !== 'authFailed' && state !== 'closed';
}

export class Shell {
  /** The status of the last command: what quit, the end of input and one-shot mode exit with. */
  exitCode = 0;
  /** Set by quit: the runner stops reading. */
  quitRequested = false;

  private zk!: Zk;
  private host = '';
  private readonly history = new Map<number, string>();
  private commandCount = 0;
  private printWatches = true;

  private constructor(
    private readonly options: ShellOptions,
    private readonly output: ShellOutput,
  ) {}

  /** Prints "Connecting to ..." and connects; fails (CliError) if the connect string is invalid. */
  static async open(options: ShellOptions, output: ShellOutput): Promise<Shell> {
    const shell = new Shell(options, output);
    output.stdout(`Connecting to ${options.server}\n`);
    await shell.connectToZK(options.server);
    return shell;
  }

  /** zkCli's JLine prompt: "[zk: host:port(CONNECTED) 3] ". */
  prompt(): string {
    return `[zk: ${this.host}(${JAVA_STATES[this.zk.client.state]}) ${this.commandCount}] `;
  }

  /** Runs one line typed at the prompt; a blank line is skipped and not numbered. */
  async executeLine(line: string): Promise<void> {
    // zkCli skips only the empty line; it reads a line of spaces as the (unknown) command " ".
    if (line.trim() === '') return;
    this.history.set(this.commandCount, line);
    await this.processCmd(splitLine(line));
    this.commandCount++;
  }

  /** Runs one command given as words (one-shot mode): nothing is added to the history. */
  async executeWords(words: string[]): Promise<void> {
    await this.processCmd(words);
  }

  /** The children of `dir` for tab completion, or none if they cannot be read quickly. */
  async childrenForCompletion(dir: string): Promise<string[]> {
    if (!isAlive(this.zk.client.state)) return [];
    try {
      return await this.zk.client.getChildren(dir, { timeoutMs: COMPLETION_TIMEOUT_MS });
    } catch {
      return [];
    }
  }

  /** Ends the session without reporting it (the end of input, or of a one-shot command). */
  async shutdown(): Promise<void> {
    this.zk.client.removeAllListeners();
    await this.zk.client.close();
    await this.zk.closeExtras();
  }

  private async processCmd(words: string[]): Promise<void> {
    try {
      await this.processZKCmd(words);
      // quit exits with the status of the command before it.
      if (!this.quitRequested) this.exitCode = 0;
    } catch (error) {
      if (!(error instanceof CliError)) throw error;
      this.exitCode = error.exitCode;
      this.output.stderr(`${error.message}\n`);
    }
  }

  private async processZKCmd(words: string[]): Promise<void> {
    const command = words[0];
    if (command === undefined) {
      this.usage();
      throw new CliError('No command entered');
    }
    if (!COMMAND_NAMES.includes(command)) {
      this.usage();
      throw commandNotFound(command);
    }
    const out = (line: string): void => this.output.stdout(`${line}\n`);
    switch (command) {
      case 'quit':
        await this.closeSession();
        this.quitRequested = true;
        return;
      case 'help':
        for (const line of this.usageLines()) out(line);
        return;
      case 'redo':
        if (words.length >= 2) await this.redo(words[1]!);
        if (this.quitRequested) return; // a redone quit
        break;
      case 'history':
        for (let i = Math.max(0, this.commandCount - HISTORY_SHOWN); i <= this.commandCount; i++) {
          out(`${i} - ${this.history.get(i) ?? 'null'}`);
        }
        break;
      case 'printwatches':
        if (words.length === 1) out(`printwatches is ${this.printWatches ? 'on' : 'off'}`);
        else this.printWatches = words[1] === 'on';
        break;
      case 'connect':
        await this.connectToZK(words[1] ?? this.host);
        break;
    }
    // As in zkCli, the shell's own commands also end here, so after close even `history` adds "Not connected".
    if (!isAlive(this.zk.client.state)) {
      out('Not connected');
      return;
    }
    await CLI_COMMANDS.get(command)?.run(words, this.context());
  }

  /** Runs history entry `index` again; it takes the place of the redo line in the history. */
  private async redo(indexText: string): Promise<void> {
    let index: number;
    try {
      index = decodeJavaInt(indexText);
    } catch (error) {
      // zkCli dies of a NumberFormatException here.
      if (error instanceof NumberFormatError) throw new CliError(`Command index is not a number: ${indexText}`);
      throw error;
    }
    if (this.commandCount <= index || index < 0) throw new CliError('Command index out of range');
    const line = this.history.get(index)!;
    const words = splitLine(line);
    if (words[0] === 'redo') throw new CliError('No redoing redos');
    this.history.set(this.commandCount, line);
    await this.processCmd(words);
  }

  private async connectToZK(server: string): Promise<void> {
    if (this.zk !== undefined && isAlive(this.zk.client.state)) await this.closeSession();
    this.host = server;
    let client: ZkClient;
    try {
      client = new ZkClient(server, { sessionTimeoutMs: this.options.sessionTimeoutMs, readOnly: this.options.readOnly });
    } catch (error) {
      throw new CliError((error as Error).message);
    }
    this.reportStateChanges(client);
    this.zk = new Zk(client, {
      connectString: server,
      sessionTimeoutMs: this.options.sessionTimeoutMs,
      readOnly: this.options.readOnly,
      watcher: (event) => this.printEvent(event),
    });
    if (this.options.connectEagerly) this.zk.start();
    if (this.options.waitForConnection) {
      try {
        await client.start({ timeoutMs: this.options.sessionTimeoutMs });
      } catch {
        await client.close();
        throw new CliError(keeperExceptionMessage(ErrorCode.ConnectionLoss, undefined));
      }
    }
  }

  /** Closes the session; its end is reported (WatchedEvent state:Closed). */
  private async closeSession(): Promise<void> {
    await this.zk.client.close();
    await this.zk.closeExtras();
  }

  /** zkCli's default watcher also hears the connection's state changes. */
  private reportStateChanges(client: ZkClient): void {
    const report = (state: KeeperStateValue) => (): void => this.printEvent({ type: EventType.None, state, path: '' });
    client.on('connected', report(KeeperState.SyncConnected));
    client.on('connectedReadOnly', report(KeeperState.ConnectedReadOnly));
    client.on('disconnected', report(KeeperState.Disconnected));
    client.on('expired', report(KeeperState.Expired));
    client.on('authFailed', report(KeeperState.AuthFailed));
    client.on('closed', report(KeeperState.Closed));
  }

  private printEvent(event: WatchEvent): void {
    if (this.printWatches) this.output.notify(`\nWATCHER::\n\n${watchedEventString(event)}\n`);
  }

  private context(): CommandContext {
    return {
      zk: this.zk,
      out: (line) => this.output.stdout(`${line}\n`),
      print: (text) => this.output.stdout(text),
      err: (line) => this.output.stderr(`${line}\n`),
      closeSession: () => this.closeSession(),
    };
  }

  private usage(): void {
    for (const line of this.usageLines()) this.output.stderr(`${line}\n`);
  }

  private usageLines(): string[] {
    const optionStr = (name: string): string => SHELL_COMMANDS.get(name) ?? CLI_COMMANDS.get(name)?.optionStr ?? '';
    return [
      'ZooKeeper -server host:port -client-configuration properties-file cmd args',
      ...COMMAND_NAMES.map((name) => `\t${usageOf({ name, optionStr: optionStr(name) })}`),
    ];
  }
}
