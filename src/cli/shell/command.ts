/** What every zkCli command (a CliCommand) is given and provides. */
import type { Zk } from './zk.js';

export interface CommandContext {
  readonly zk: Zk;
  /** println on System.out. */
  out(line: string): void;
  /** print on System.out: no line break. */
  print(text: string): void;
  /** println on System.err. */
  err(line: string): void;
  /** Closes the session (the close command); the watcher hears Closed. */
  closeSession(): Promise<void>;
}

export interface CliCommand {
  readonly name: string;
  /** The part of the usage line after the name. */
  readonly optionStr: string;
  /** Parses the words (the command name first) and runs the command; failures are CliErrors. */
  run(words: string[], ctx: CommandContext): Promise<void>;
}

export function usageOf(command: Pick<CliCommand, 'name' | 'optionStr'>): string {
  return `${command.name} ${command.optionStr}`;
}
