/**
 * Reading a command line as zkCli does: the line is split into words by
 * ZooKeeperMain's ARGS_PATTERN, then each command parses its flags with
 * Apache commons-cli 1.5's DefaultParser. The parser is reproduced here
 * (for the subset zkCli uses: single-letter options, with or without one
 * value, and option groups) because its corner cases are part of zkCli's
 * behaviour: "-sw" is two flags, "-v5" and "-v=5" give -v the value 5,
 * "--" ends the flags, "-1" is a value, and its errors print as
 * "org.apache.commons.cli.<Exception>: <message>".
 */
import { CliError } from './errors.js';

/** ARGS_PATTERN, with Java's \s and \S (ASCII whitespace only, unlike JavaScript's). */
const WORD = /[ \t\n\v\f\r]*([^"'][^ \t\n\v\f\r]*|"[^"]*"|'[^']*')[ \t\n\v\f\r]*/g;

/**
 * Splits a line into words (MyCommandOptions.parseCommand): runs of
 * non-space, or "double" or 'single' quoted text whose quotes are removed.
 * A stray quote that starts no word is skipped.
 */
export function splitLine(line: string): string[] {
  const words: string[] = [];
  for (const match of line.matchAll(WORD)) {
    const word = match[1] ?? '';
    words.push(/^(["']).*\1$/.test(word) ? word.slice(1, -1) : word);
  }
  return words;
}

export interface OptionSpec {
  /** The single-character name: "s" for -s. */
  key: string;
  /** Takes one value (-v 3, -v3, -v=3). */
  hasArg: boolean;
  description: string;
}

export interface CommandOptions {
  options: readonly OptionSpec[];
  /** At most one of these may be given (an OptionGroup); with `required`, exactly one. */
  group?: { keys: readonly string[]; required: boolean };
}

/** What DefaultParser.parse returns: the flags given and the other words (the command name first). */
export class ParsedCommand {
  constructor(
    readonly args: string[],
    private readonly values: ReadonlyMap<string, string[]>,
  ) {}

  has(key: string): boolean {
    return this.values.has(key);
  }

  /** The first value given for the option. */
  value(key: string): string | undefined {
    return this.values.get(key)?.[0];
  }
}

function parseError(exception: string, message: string): CliError {
  return new CliError(`org.apache.commons.cli.${exception}: ${message}`);
}

/** An option occurrence still collecting its value. */
interface Pending {
  spec: OptionSpec;
  values: string[];
}

/** DefaultParser.parse(options, words) with stopAtNonOption false. */
export function parseCommand(spec: CommandOptions, words: readonly string[]): ParsedCommand {
  const byKey = new Map(spec.options.map((option) => [option.key, option]));
  const args: string[] = [];
  const values = new Map<string, string[]>();
  let selected: string | null = null;
  let current: Pending | null = null;
  let skipParsing = false;

  const acceptsArg = (pending: Pending | null): pending is Pending => pending !== null && pending.spec.hasArg && pending.values.length < 1;
  const checkRequiredArg = (): void => {
    if (acceptsArg(current)) throw parseError('MissingArgumentException', `Missing argument for option: ${current.spec.key}`);
  };
  const isShortOption = (word: string): boolean => {
    if (!word.startsWith('-') || word.length === 1) return false;
    const equals = word.indexOf('=');
    const name = equals === -1 ? word.slice(1) : word.slice(1, equals);
    return byKey.has(name) || (name.length > 0 && byKey.has(name[0]!));
  };
  const isArgument = (word: string): boolean => !isShortOption(word) || isJavaDouble(word);
  const unknown = (word: string): void => {
    if (word.startsWith('-') && word.length > 1) throw parseError('UnrecognizedOptionException', `Unrecognized option: ${word}`);
    args.push(word);
  };
  const handleOption = (option: OptionSpec): void => {
    checkRequiredArg();
    if (spec.group?.keys.includes(option.key)) {
      if (selected !== null && selected !== option.key) {
        throw parseError(
          'AlreadySelectedException',
          `The option '${option.key}' was specified but an option from this group has already been selected: '${selected}'`,
        );
      }
      selected = option.key;
    }
    // Every occurrence of an option with a value must get one, but only the first one's is ever read (getOptionValue).
    const own: string[] = [];
    if (!values.has(option.key)) values.set(option.key, own);
    current = option.hasArg ? { spec: option, values: own } : null;
  };
  const addValue = (value: string): void => {
    current!.values.push(value);
    current = null;
  };
  const handleConcatenated = (word: string): void => {
    for (let i = 1; i < word.length; i++) {
      const option = byKey.get(word[i]!);
      if (option === undefined) {
        unknown(word);
        return;
      }
      handleOption(option);
      if (current !== null && i + 1 < word.length) {
        addValue(word.slice(i + 1));
        return;
      }
    }
  };
  const handleDash = (word: string): void => {
    const name = word.slice(1);
    const equals = name.indexOf('=');
    if (equals === -1) {
      const option = byKey.get(name);
      if (option !== undefined) handleOption(option);
      else if (name.length === 1) unknown(word);
      else handleConcatenated(word);
      return;
    }
    const option = equals === 1 ? byKey.get(name.slice(0, 1)) : undefined;
    if (option === undefined || !option.hasArg) {
      unknown(word);
      return;
    }
    handleOption(option);
    addValue(name.slice(equals + 1));
  };

  for (const word of words) {
    if (skipParsing) args.push(word);
    else if (word === '--') skipParsing = true;
    else if (acceptsArg(current) && isArgument(word)) addValue(word);
    // There are no long options: "--x" is unknown, and so is a long "-xyz" unless it reads as short ones.
    else if (word.startsWith('--')) unknown(word);
    else if (word.startsWith('-') && word !== '-') handleDash(word);
    else unknown(word);
  }
  checkRequiredArg();
  if (spec.group?.required === true && selected === null) {
    const names = spec.group.keys.map((key) => `-${key} ${byKey.get(key)?.description ?? ''}`);
    throw parseError('MissingOptionException', `Missing required option: [${names.join(', ')}]`);
  }
  return new ParsedCommand(args, values);
}

/** Double.parseDouble accepts it: DefaultParser takes such a word as a value even when it starts with "-". */
function isJavaDouble(word: string): boolean {
  return /^[+-]?(NaN|Infinity|((\d+\.?\d*|\.\d+)([eE][+-]?\d+)?)[fFdD]?)$/.test(word.trim());
}

/** HelpFormatter.printHelp(usage, options) with the default layout: options sorted, names padded, three spaces before the text. */
export function helpText(usage: string, spec: CommandOptions): string[] {
  const sortKey = (option: OptionSpec): string => option.key.toLowerCase();
  const sorted = [...spec.options].sort((a, b) => (sortKey(a) < sortKey(b) ? -1 : sortKey(a) > sortKey(b) ? 1 : 0));
  const names = sorted.map((option) => `-${option.key}${option.hasArg ? ' <arg>' : ''}`);
  const width = Math.max(...names.map((name) => name.length));
  return [`usage: ${usage}`, ...sorted.map((option, i) => ` ${names[i]!.padEnd(width)}   ${option.description}`)];
}
