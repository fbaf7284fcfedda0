/**
 * `zkts shell [-server host:port[,...][/chroot]] [-timeout ms] [-r] [-waitforconnection] [cmd args...]`:
 * zkCli.sh's command line. With a command it runs that one command and
 * exits with its status (0, 1 on failure, 127 for an unknown command);
 * without, it reads commands from the terminal or from stdin.
 *
 * Unlike zkCli, the session is closed when the shell ends (at the end of
 * the input or of a one-shot command) instead of being left to expire, so
 * that its ephemeral nodes go at once.
 */
import { ConsoleOutput, runInteractive } from './interactive.js';
import { Shell } from './shell.js';
import { CliError } from './errors.js';

interface CommandLineOptions {
  server: string;
  timeout: string;
  readOnly: boolean;
  waitForConnection: boolean;
  /** The command and its words, if one was given. */
  command: string[] | null;
}

/** Returns the exit status. */
export async function runShell(argv: readonly string[]): Promise<number> {
  const output = new ConsoleOutput();
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    // A reader that goes away (zkts shell ... | head) ends the shell quietly.
    if (error.code === 'EPIPE') process.exit(0);
    throw error;
  });
  const options = parseArguments(argv, output);
  if (typeof options === 'number') return options;
  const sessionTimeoutMs = Number(options.timeout);
  if (!/^\d+$/.test(options.timeout) || sessionTimeoutMs <= 0) {
    output.stderr(`Invalid -timeout: ${options.timeout}\n`);
    return 1;
  }
  let shell: Shell;
  try {
    shell = await Shell.open(
      {
        server: options.server,
        sessionTimeoutMs,
        readOnly: options.readOnly,
        waitForConnection: options.waitForConnection,
        connectEagerly: options.command === null,
      },
      output,
    );
  } catch (error) {
    if (!(error instanceof CliError)) throw error;
    output.stderr(`${error.message}\n`);
    return error.exitCode;
  }
  if (options.command === null) await runInteractive(shell, output);
  else await shell.executeWords(options.command);
  await shell.shutdown();
  return shell.exitCode;
}

/**
 * MyCommandOptions.parseOptions: flags up to the first word that is not
 * one, which starts the command. Unknown flags are ignored. A flag missing
 * its value ends the parsing (no command: interactive), as in zkCli.
 */
function parseArguments(argv: readonly string[], output: ConsoleOutput): CommandLineOptions | number {
  const options: CommandLineOptions = { server: 'localhost:2181', timeout: '30000', readOnly: false, waitForConnection: false, command: null };
  for (let i = 0; i < argv.length; i++) {
    const word = argv[i]!;
    const value = (): string | undefined => {
      const next = argv[++i];
      if (next === undefined) output.stderr(`Error: no argument found for option ${word}\n`);
      return next;
    };
    switch (word) {
      case '-server': {
        const server = value();
        if (server === undefined) return options;
        options.server = server;
        break;
      }
      case '-timeout': {
        const timeout = value();
        if (timeout === undefined) return options;
        options.timeout = timeout;
        break;
      }
      case '-r':
        options.readOnly = true;
        break;
      case '-waitforconnection':
        options.waitForConnection = true;
        break;
      case '-client-configuration':
        // A ZKClientConfig properties file configures the Java client (SASL, TLS, ...); ZkClient has no such settings.
        output.stderr('-client-configuration is not supported by the zkts shell\n');
        return 2;
      default:
        if (!word.startsWith('-')) {
          options.command = argv.slice(i);
          return options;
        }
    }
  }
  return options;
}
