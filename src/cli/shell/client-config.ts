/**
 * `config -c`: ConfigUtils.getClientConfigStr, the dynamic configuration
 * (/zookeeper/config, a Java properties text) reduced to
 * "<version> <clientHost:port>,<clientHost:port>...".
 *
 * The servers come in the iteration order of java.util.Properties, which
 * (Java 9+) is a ConcurrentHashMap's: by hash bucket, so that is reproduced
 * to print them in the same order.
 */
import { isIPv6 } from 'node:net';

/** Properties' initial table: 16 buckets, grown when 3/4 full. */
const INITIAL_BUCKETS = 16;

export function clientConfigString(configData: string): string {
  let version = '';
  const addresses: string[] = [];
  for (const [key, value] of inHashOrder(parseProperties(configData))) {
    if (key === 'version') version = value;
    if (!key.startsWith('server.')) continue;
    const address = clientAddress(value);
    if (address === undefined) continue;
    addresses.push(address);
  }
  return `${version} ${addresses.join(',')}`;
}

/**
 * The client address of a server line "host:port:port[:role][;[clientHost:]clientPort]":
 * '' when it has none (Java then still adds the comma), undefined when the
 * line is malformed (QuorumServer throws and the entry is skipped).
 */
function clientAddress(server: string): string | undefined {
  const parts = server.trim().split(';');
  if (parts.length > 2) return undefined;
  const client = parts[1];
  if (client === undefined) return '';
  const bracketed = /^\[([^\]]*)\](?::(.*))?$/.exec(client);
  const fields = bracketed !== null ? [bracketed[1] ?? '', ...(bracketed[2] === undefined ? [] : [bracketed[2]])] : client.split(':');
  if (fields.length > 2) return undefined;
  const port = fields[fields.length - 1] ?? '';
  if (!/^[+-]?\d+$/.test(port)) return undefined;
  const host = fields.length === 2 ? fields[0]! : '0.0.0.0';
  return `${javaHostString(host)}:${Number(port)}`;
}

/** InetSocketAddress.getHostString: an IPv6 literal comes back as Java prints an Inet6Address, every group in full hex. */
function javaHostString(host: string): string {
  if (!isIPv6(host) || host.includes('.')) return host;
  const [head = '', tail] = host.split('::');
  const headGroups = head === '' ? [] : head.split(':');
  const tailGroups = tail === undefined || tail === '' ? [] : tail.split(':');
  const zeros = Array<string>(8 - headGroups.length - tailGroups.length).fill('0');
  return [...headGroups, ...(tail === undefined ? [] : zeros), ...tailGroups].map((group) => parseInt(group, 16).toString(16)).join(':');
}

/** java.util.Properties.load for what a dynamic config holds: key=value lines, comments, continuations, escapes. */
function parseProperties(text: string): Map<string, string> {
  const properties = new Map<string, string>();
  const lines = text.split(/\r\n|\r|\n/);
  for (let i = 0; i < lines.length; i++) {
    let line = lines[i]!.replace(/^[ \t\f]+/, '');
    if (line === '' || line.startsWith('#') || line.startsWith('!')) continue;
    while (/(^|[^\\])(\\\\)*\\$/.test(line) && i + 1 < lines.length) {
      line = line.slice(0, -1) + lines[++i]!.replace(/^[ \t\f]+/, '');
    }
    const match = /^((?:\\.|[^=: \t\f\\])*)[ \t\f]*[=:]?[ \t\f]*(.*)$/s.exec(line);
    if (match === null) continue;
    properties.set(unescape(match[1] ?? ''), unescape(match[2] ?? ''));
  }
  return properties;
}

function unescape(text: string): string {
  const simple: Record<string, string> = { t: '\t', n: '\n', r: '\r', f: '\f' };
  return text.replace(/\\(u[0-9a-fA-F]{4}|.)/gs, (_, escaped: string) =>
    escaped.length === 5 ? String.fromCharCode(parseInt(escaped.slice(1), 16)) : (simple[escaped] ?? escaped),
  );
}

/** The entries in ConcurrentHashMap iteration order: by bucket of the spread String.hashCode, insertion order within a bucket. */
function inHashOrder(properties: Map<string, string>): [string, string][] {
  let buckets = INITIAL_BUCKETS;
  while (properties.size >= (buckets * 3) / 4) buckets *= 2;
  const bucketOf = (key: string): number => {
    const hash = javaStringHash(key);
    return ((hash ^ (hash >>> 16)) & 0x7fffffff) & (buckets - 1);
  };
  return [...properties.entries()]
    .map((entry, index) => ({ entry, index, bucket: bucketOf(entry[0]) }))
    .sort((a, b) => a.bucket - b.bucket || a.index - b.index)
    .map(({ entry }) => entry);
}

function javaStringHash(text: string): number {
  let hash = 0;
  for (let i = 0; i < text.length; i++) hash = (Math.imul(hash, 31) + text.charCodeAt(i)) | 0;
  return hash;
}
