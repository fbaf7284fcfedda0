/**
 * zkCli's CliException family: a failed command prints the message on
 * stderr and sets the exit status (1, or 127 for an unknown command).
 */
import { ErrorCode, KeeperError } from '../../client/mod.js';
import { keeperExceptionMessage } from './java.js';

export class CliError extends Error {
  override name = 'CliError';

  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
  }
}

/** CommandNotFoundException. */
export function commandNotFound(command: string): CliError {
  return new CliError(`Command not found: Command not found ${command}`, 127);
}

/**
 * Where the Java client throws IllegalArgumentException (an invalid path, a
 * TTL out of range); the commands turn it into MalformedPathException,
 * which prints just the message.
 */
export class IllegalArgument extends Error {
  override name = 'IllegalArgument';
}

/** CliWrapperException's message for a KeeperException. */
export function cliWrapperMessage(error: KeeperError): string {
  const path = error.path ?? 'null';
  switch (error.code) {
    case ErrorCode.NoNode:
      return `Node does not exist: ${path}`;
    case ErrorCode.NoChildrenForEphemerals:
      return `Ephemerals cannot have children: ${path}`;
    case ErrorCode.NodeExists:
      return `Node already exists: ${path}`;
    case ErrorCode.NotEmpty:
      return `Node not empty: ${path}`;
    case ErrorCode.NotReadOnly:
      return `Not a read-only call: ${path}`;
    case ErrorCode.InvalidACL:
      return `Acl is not valid : ${path}`;
    case ErrorCode.NoAuth:
      return `Insufficient permission : ${path}`;
    case ErrorCode.BadArguments:
      return `Arguments are not valid : ${path}`;
    case ErrorCode.BadVersion:
      return `version No is not valid : ${path}`;
    case ErrorCode.ReconfigInProgress:
      return 'Another reconfiguration is in progress -- concurrent reconfigs not supported (yet)';
    case ErrorCode.NewConfigNoQuorum:
      return (
        'No quorum of new config is connected and up-to-date with the leader of last commmitted config - ' +
        'try invoking reconfiguration after new servers are connected and synced'
      );
    case ErrorCode.QuotaExceeded:
      return `Quota has exceeded : ${path}`;
    default:
      return keeperExceptionMessage(error.code, error.path);
  }
}

/**
 * How the commands report a failed call, as most of zkCli's commands do:
 * an invalid argument prints its message, a KeeperException its
 * CliWrapperException message. Anything else is a bug and propagates.
 */
export function toCliError(error: unknown): unknown {
  if (error instanceof IllegalArgument) return new CliError(error.message);
  if (error instanceof KeeperError) return new CliError(cliWrapperMessage(error));
  return error;
}
