/**
 * What a reconfig request asks the membership to become, read as ZooKeeper's leader reads it,
 * with the KeeperError it answers for a malformed one. zkts does not carry reconfigs out
 * (prep.ts checks them and answers Unimplemented); this is only so that the errors match.
 */
import { ErrorCode, KeeperError } from '../protocol/errors.js';
import type { ReconfigRequest } from '../protocol/records.js';
import { ConfigError, parseQuorumServer, type QuorumServerSpec } from './config.js';

/** The membership `req` proposes, from the current one for an incremental reconfig. */
export function proposedMembership(current: readonly QuorumServerSpec[], req: ReconfigRequest): Map<number, QuorumServerSpec> {
  return req.newMembers !== '' ? newMembersOf(req.newMembers) : incrementalChange(current, req);
}

/**
 * The membership after an incremental reconfig: `leaving` is a comma-separated list of server
 * ids, `joining` of `server.N=<address>` entries (ZooKeeper's StringUtils.split: items trimmed,
 * empty ones dropped). An id that is not a number fails as ZooKeeper's uncaught
 * NumberFormatException does, with MarshallingError.
 */
function incrementalChange(current: readonly QuorumServerSpec[], req: ReconfigRequest): Map<number, QuorumServerSpec> {
  const next = new Map(current.map((server) => [server.id, server]));
  for (const leaving of splitList(req.leavingServers, ',')) next.delete(javaParseLong(leaving));
  for (const joiner of splitList(req.joiningServers, ',')) {
    const parts = splitList(joiner, '=');
    if (parts.length !== 2) throw new KeeperError(ErrorCode.BadArguments, undefined, 'wrong format of server string');
    const id = javaParseLong(parts[0]!.slice(parts[0]!.lastIndexOf('.') + 1));
    const server = quorumServerOf(id, parts[1]!, 'reconfiguration failed');
    if (server.clientPort === undefined) {
      throw new KeeperError(ErrorCode.BadArguments, undefined, 'each server should have at least 3 ports specified');
    }
    next.delete(id);
    next.set(id, server);
  }
  return next;
}

/** The membership a non-incremental reconfig names: `server.N=<address>` lines, commas or newlines apart. */
function newMembersOf(newMembers: string): Map<number, QuorumServerSpec> {
  const next = new Map<number, QuorumServerSpec>();
  for (const line of newMembers.split(/[,\n]/)) {
    const eq = line.indexOf('=');
    const key = (eq === -1 ? line : line.slice(0, eq)).trim();
    if (!key.startsWith('server.')) continue;
    const id = Number(key.slice('server.'.length));
    if (!Number.isSafeInteger(id) || id < 0) throw new KeeperError(ErrorCode.BadArguments, undefined, `${key}: not a server id`);
    next.set(id, quorumServerOf(id, eq === -1 ? '' : line.slice(eq + 1).trim()));
  }
  return next;
}

function quorumServerOf(id: number, address: string, detail?: string): QuorumServerSpec {
  try {
    return parseQuorumServer(id, address);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    throw new KeeperError(ErrorCode.BadArguments, undefined, detail ?? error.message);
  }
}

function splitList(text: string, separator: string): string[] {
  return text
    .split(separator)
    .map((item) => item.trim())
    .filter((item) => item !== '');
}

/** Long.parseLong: an optional sign and decimal digits; anything else is a NumberFormatException. */
function javaParseLong(text: string): number {
  if (!/^[+-]?\d+$/.test(text)) throw new KeeperError(ErrorCode.MarshallingError, undefined, `not a number: ${text}`);
  return Number(text);
}
