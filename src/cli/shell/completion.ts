/**
 * Tab completion as zkCli's JLineZNodeCompleter does it: the word before
 * the cursor is completed to a znode name if it starts with "/" (from the
 * children of its parent), otherwise to a command name.
 */
import { javaSplit } from './java.js';

/** [candidates, the text before the cursor they complete], as node:readline's completer returns them. */
export async function complete(
  lineBeforeCursor: string,
  commands: readonly string[],
  childrenOf: (dir: string) => Promise<string[]>,
): Promise<[string[], string]> {
  const word = lineBeforeCursor.endsWith(' ') ? '' : (javaSplit(lineBeforeCursor, ' ').at(-1) ?? '');
  if (!word.startsWith('/')) return [commands.filter((command) => command.startsWith(word)), word];
  const nameStart = word.lastIndexOf('/') + 1;
  const prefix = word.slice(nameStart);
  const dir = nameStart === 1 ? '/' : word.slice(0, nameStart - 1);
  const names = (await childrenOf(dir)).filter((name) => name.startsWith(prefix)).sort();
  return [names, prefix];
}
