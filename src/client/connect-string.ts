/**
 * Connection strings as ZooKeeper's ConnectStringParser reads them:
 * `host[:port][,host[:port]...][/chroot]`, IPv6 literals in brackets, port
 * 2181 by default. The chroot is prefixed to every path sent and removed
 * from every path received.
 */
import { pathProblem } from '../protocol/paths.js';
import { badArguments } from './errors.js';

export const DEFAULT_PORT = 2181;

export interface ServerAddress {
  host: string;
  port: number;
}

export interface ParsedConnectString {
  servers: ServerAddress[];
  /** null when there is no chroot (or it is "/"). */
  chroot: string | null;
}

export function parseConnectString(connectString: string): ParsedConnectString {
  const slash = connectString.indexOf('/');
  const hostPart = slash === -1 ? connectString : connectString.slice(0, slash);
  let chroot: string | null = slash === -1 ? null : connectString.slice(slash);
  if (chroot === '/') chroot = null;
  if (chroot !== null) {
    const problem = pathProblem(chroot);
    if (problem !== null) throw badArguments(chroot, `invalid chroot in connect string: ${problem}`);
  }
  const servers = hostPart
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '')
    .map(parseServer);
  if (servers.length === 0) throw badArguments(undefined, `no server in connect string "${connectString}"`);
  return { servers, chroot };
}

function parseServer(entry: string): ServerAddress {
  let host: string;
  let portText: string | undefined;
  if (entry.startsWith('[')) {
    const close = entry.indexOf(']');
    if (close === -1) throw badArguments(undefined, `unterminated IPv6 literal in "${entry}"`);
    host = entry.slice(1, close);
    const rest = entry.slice(close + 1);
    if (rest !== '' && !rest.startsWith(':')) throw badArguments(undefined, `unexpected text after "]" in "${entry}"`);
    portText = rest === '' ? undefined : rest.slice(1);
  } else {
    const colon = entry.lastIndexOf(':');
    host = colon === -1 ? entry : entry.slice(0, colon);
    portText = colon === -1 ? undefined : entry.slice(colon + 1);
  }
  if (host === '') throw badArguments(undefined, `no host in "${entry}"`);
  if (portText === undefined || portText === '') return { host, port: DEFAULT_PORT };
  const port = Number(portText);
  if (!/^\d+$/.test(portText) || port < 1 || port > 65535) throw badArguments(undefined, `bad port in "${entry}"`);
  return { host, port };
}

/** Maps paths between the caller's view (under the chroot) and the server's. */
export class Chroot {
  constructor(readonly root: string | null) {}

  toServer(clientPath: string): string {
    if (this.root === null) return clientPath;
    return clientPath === '/' ? this.root : this.root + clientPath;
  }

  /** The caller's view of a server path; null for a path outside the chroot. */
  fromServer(serverPath: string): string | null {
    const root = this.root;
    if (root === null) return serverPath;
    if (serverPath === root) return '/';
    if (serverPath.length > root.length && serverPath.startsWith(root) && serverPath.charCodeAt(root.length) === 0x2f) {
      return serverPath.slice(root.length);
    }
    return null;
  }
}
