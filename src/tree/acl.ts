/**
 * ACLs: the built-in schemes (world, auth, digest, ip, and the super user),
 * `sasl` when its authentication provider is configured, permission checks, and an interning cache so that the many znodes that
 * share an ACL list share one copy (as Apache ZooKeeper's
 * ReferenceCountedACLCache does).
 */
import { createHash } from 'node:crypto';
import { isIP } from 'node:net';
import { Perms } from '../protocol/constants.js';
import type { ACL, Id } from '../protocol/records.js';

export const ANYONE_ID: Id = { scheme: 'world', id: 'anyone' };
export const OPEN_ACL_UNSAFE: readonly ACL[] = [{ perms: Perms.ALL, id: ANYONE_ID }];
export const READ_ACL_UNSAFE: readonly ACL[] = [{ perms: Perms.READ, id: ANYONE_ID }];
/** The identity a connection gains when it authenticates as the super user. */
export const SUPER_ID: Id = { scheme: 'super', id: '' };

/** `user:base64(sha1("user:password"))`, the digest scheme's ACL id. */
export function digestOf(userPassword: string): string {
  const user = userPassword.split(':', 1)[0]!;
  return `${user}:${createHash('sha1').update(userPassword, 'utf8').digest('base64')}`;
}

/** The bytes of an IPv4 or IPv6 address, or null if it is neither. */
export function addressBytes(address: string): number[] | null {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return addressBytes(mapped[1]!);
  const version = isIP(address);
  if (version === 4) return address.split('.').map(Number);
  if (version !== 6) return null;
  const [head, tail] = address.includes('::') ? address.split('::') : [address, undefined];
  // A group may be a dotted IPv4 tail (64:ff9b::10.0.0.1), which stands for two groups.
  const groupsOf = (part: string | undefined): number[] =>
    part === undefined || part === ''
      ? []
      : part.split(':').flatMap((g) => {
          if (!g.includes('.')) return [parseInt(g, 16)];
          const [a, b, c, d] = g.split('.').map(Number);
          return [(a << 8) | b, (c << 8) | d];
        });
  const front = groupsOf(head);
  const back = groupsOf(tail);
  const groups =
    tail === undefined ? front : [...front, ...new Array<number>(8 - front.length - back.length).fill(0), ...back];
  return groups.flatMap((g) => [g >> 8, g & 0xff]);
}

/** Whether an ip ACL expression (`addr` or `addr/bits`) is well formed. */
export function isValidIpExpression(expr: string): boolean {
  return parseIpExpression(expr) !== null;
}

function parseIpExpression(expr: string): { bytes: number[]; bits: number } | null {
  const slash = expr.indexOf('/');
  const bytes = addressBytes(slash === -1 ? expr : expr.slice(0, slash));
  if (bytes === null) return null;
  if (slash === -1) return { bytes, bits: bytes.length * 8 };
  const bitsText = expr.slice(slash + 1);
  if (!/^\d+$/.test(bitsText)) return null;
  const bits = Number(bitsText);
  return bits <= bytes.length * 8 ? { bytes, bits } : null;
}

/** Whether `clientAddress` falls inside the ip ACL expression `expr`. */
export function ipMatches(clientAddress: string, expr: string): boolean {
  const acl = parseIpExpression(expr);
  const client = addressBytes(clientAddress);
  if (acl === null || client === null || client.length !== acl.bytes.length) return false;
  for (let bit = 0; bit < acl.bits; bit += 8) {
    const maskBits = Math.min(8, acl.bits - bit);
    const mask = (0xff << (8 - maskBits)) & 0xff;
    if ((client[bit >> 3]! & mask) !== (acl.bytes[bit >> 3]! & mask)) return false;
  }
  return true;
}

/**
 * ACL schemes of configured authentication providers beyond world, digest and ip (only `sasl`
 * is implemented). Without its provider a scheme is unknown to ZooKeeper: ACLs naming it are
 * invalid, and identities of it neither match ACLs nor count as authenticated.
 */
export type ProviderSchemes = ReadonlySet<string>;
export const NO_PROVIDER_SCHEMES: ProviderSchemes = new Set();

/** Whether an ACL id is valid for its scheme (AuthenticationProvider.isValid). */
function isValidId(id: Id, providerSchemes: ProviderSchemes): boolean {
  switch (id.scheme) {
    case 'world':
      return id.id === 'anyone';
    case 'digest':
      return javaSplit(id.id, ':').length === 2;
    case 'ip':
      return isValidIpExpression(id.id);
    case 'sasl':
      return providerSchemes.has('sasl') && isValidKerberosName(id.id);
    default:
      return false;
  }
}

/**
 * SASLAuthenticationProvider.isValid parses the id as a Kerberos name: `name`, or
 * `service[/host]@REALM`; only an `@` outside that form makes it invalid.
 */
function isValidKerberosName(name: string): boolean {
  return !name.includes('@') || /^[^/@]*(\/[^/@]*)?@[^/@]*$/.test(name);
}

/** String.split as Java does it: trailing empty strings are dropped ("bob:" has one part). */
function javaSplit(text: string, separator: string): string[] {
  const parts = text.split(separator);
  while (parts.length > 0 && parts[parts.length - 1] === '') parts.pop();
  return parts;
}

/**
 * Orders a connection's identities (in place) as ZooKeeper iterates its auth
 * set, a ConcurrentHashMap key set: by bucket (the Id's Java hash spread over
 * 16 buckets), then by insertion. whoAmI lists identities in this order and an
 * `auth` ACL expands into it. Past 12 identities the Java map would resize, and
 * the order here is then only close.
 */
export function orderLikeZooKeeperAuthSet(ids: Id[]): void {
  ids.sort((a, b) => authSetBucket(a) - authSetBucket(b)); // a stable sort keeps insertion order within a bucket
}

function authSetBucket(id: Id): number {
  // org.apache.zookeeper.data.Id.hashCode, then ConcurrentHashMap.spread and a 16-bucket table.
  const hash = (Math.imul(37, (Math.imul(37, 17) + javaStringHash(id.scheme)) | 0) + javaStringHash(id.id)) | 0;
  return (hash ^ (hash >>> 16)) & 15;
}

function javaStringHash(s: string): number {
  let hash = 0;
  for (let i = 0; i < s.length; i++) hash = (Math.imul(31, hash) + s.charCodeAt(i)) | 0;
  return hash;
}

/** Whether a connection's identity counts for the `auth` ACL scheme (its provider's isAuthenticated). */
function isAuthenticatedId(id: Id, providerSchemes: ProviderSchemes): boolean {
  return id.scheme === 'digest' || (id.scheme === 'sasl' && providerSchemes.has('sasl'));
}

/**
 * Validates an ACL list for create/setACL and expands `auth` entries into the
 * connection's authenticated identities (PrepRequestProcessor.fixupACL).
 * Returns null when the list is invalid (the request fails with InvalidACL).
 */
export function fixupAcl(
  acls: ACL[],
  authIds: readonly Id[],
  providerSchemes: ProviderSchemes = NO_PROVIDER_SCHEMES,
): ACL[] | null {
  // Nearly every create names one world:anyone entry, valid as it is.
  if (acls.length === 1 && acls[0]!.id.scheme === 'world' && acls[0]!.id.id === 'anyone') return acls;
  const unique = removeDuplicateAcls(acls);
  if (unique.length === 0) return null;
  const fixed: ACL[] = [];
  for (const acl of unique) {
    if (acl.id.scheme === 'auth') {
      const authenticated = authIds.filter((cid) => isAuthenticatedId(cid, providerSchemes));
      if (authenticated.length === 0) return null;
      for (const cid of authenticated) fixed.push({ perms: acl.perms, id: cid });
    } else if (isValidId(acl.id, providerSchemes)) {
      fixed.push(acl);
    } else {
      return null;
    }
  }
  return fixed;
}

function aclEquals(a: ACL, b: ACL): boolean {
  return a.perms === b.perms && a.id.scheme === b.id.scheme && a.id.id === b.id.id;
}

/** The same entries in the same order (what aclKey tells apart). */
function sameAcl(a: readonly ACL[], b: readonly ACL[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (!aclEquals(a[i]!, b[i]!)) return false;
  return true;
}

export function removeDuplicateAcls(acls: readonly ACL[]): ACL[] {
  const unique: ACL[] = [];
  for (const acl of acls) if (!unique.some((u) => aclEquals(u, acl))) unique.push(acl);
  return unique;
}

/**
 * Whether identities `authIds` hold permission `perm` under `acl`
 * (ZooKeeperServer.checkACL). An empty ACL list allows everything; the super
 * identity passes every check.
 */
export function aclPermits(
  acl: readonly ACL[],
  perm: number,
  authIds: readonly Id[],
  providerSchemes: ProviderSchemes = NO_PROVIDER_SCHEMES,
): boolean {
  if (acl.length === 0) return true;
  for (const id of authIds) if (id.scheme === 'super') return true;
  for (const entry of acl) {
    if ((entry.perms & perm) === 0) continue;
    const { scheme, id } = entry.id;
    if (scheme === 'world' && id === 'anyone') return true;
    for (const authId of authIds) {
      if (authId.scheme !== scheme) continue;
      if (idMatches(scheme, authId.id, id, providerSchemes)) return true;
    }
  }
  return false;
}

/** Whether a connection's identity of `scheme` matches an ACL's id (the provider's matches). */
function idMatches(scheme: string, authId: string, aclId: string, providerSchemes: ProviderSchemes): boolean {
  switch (scheme) {
    case 'ip':
      return ipMatches(authId, aclId);
    case 'digest':
      return authId === aclId;
    case 'sasl':
      return providerSchemes.has('sasl') && authId === aclId;
    default:
      return false;
  }
}

/** getACL without ADMIN permission masks digest hashes as `user:x`. */
export function maskDigests(acl: readonly ACL[]): ACL[] {
  return acl.map((entry) =>
    entry.id.scheme === 'digest'
      ? { perms: entry.perms, id: { scheme: 'digest', id: entry.id.id.replace(/:.*/s, ':x') } }
      : entry,
  );
}

/**
 * An unambiguous key for a list. Ids come from clients and may contain any
 * character, so joining them with separators would let a crafted id make one
 * list's key equal another's (and share its reference); JSON escapes them.
 */
function aclKey(acl: readonly ACL[]): string {
  // Most lists have one entry (world:anyone): a length-prefixed key, which cannot start with
  // '[' as JSON's does and decodes one way only, costs far less than JSON.stringify.
  if (acl.length === 1) {
    const { perms, id } = acl[0]!;
    return `${perms}:${id.scheme.length}:${id.scheme}${id.id}`;
  }
  return JSON.stringify(acl.map((entry) => [entry.perms, entry.id.scheme, entry.id.id]));
}

/**
 * Interns ACL lists: znodes store a small integer reference, and the list is
 * kept once while any znode uses it.
 */
export class AclCache {
  private readonly lists: (readonly ACL[] | undefined)[] = [];
  private readonly refCounts: number[] = [];
  private readonly byKey = new Map<string, number>();
  private readonly freeRefs: number[] = [];
  /** The reference acquire returned last (its list may since have been dropped). */
  private lastRef = 0;

  /** Returns the reference for `acl`, adding one use. */
  acquire(acl: readonly ACL[]): number {
    // Most creates name the same list as the one before: no key to build then.
    const last = this.lists[this.lastRef];
    if (last !== undefined && sameAcl(last, acl)) {
      this.refCounts[this.lastRef]!++;
      return this.lastRef;
    }
    const key = aclKey(acl);
    let ref = this.byKey.get(key);
    if (ref === undefined) {
      ref = this.freeRefs.pop() ?? this.lists.length;
      this.lists[ref] = acl.map((a) => ({ perms: a.perms, id: { scheme: a.id.scheme, id: a.id.id } }));
      this.refCounts[ref] = 0;
      this.byKey.set(key, ref);
    }
    this.refCounts[ref]!++;
    this.lastRef = ref;
    return ref;
  }

  /** Drops one use of `ref`, forgetting the list when nothing uses it. */
  release(ref: number): void {
    const count = --this.refCounts[ref]!;
    if (count > 0) return;
    const acl = this.lists[ref]!;
    this.byKey.delete(aclKey(acl));
    this.lists[ref] = undefined;
    this.freeRefs.push(ref);
  }

  /** Every list in use with its reference (for snapshots). */
  entries(): { ref: number; acl: readonly ACL[] }[] {
    const out: { ref: number; acl: readonly ACL[] }[] = [];
    this.lists.forEach((acl, ref) => {
      if (acl !== undefined) out.push({ ref, acl });
    });
    return out;
  }

  /** Puts a list back at its snapshot reference, with no uses yet. */
  restore(ref: number, acl: readonly ACL[]): void {
    if (this.lists[ref] !== undefined) throw new Error(`ACL reference ${ref} restored twice`);
    this.lists[ref] = acl.map((a) => ({ perms: a.perms, id: { scheme: a.id.scheme, id: a.id.id } }));
    this.refCounts[ref] = 0;
    this.byKey.set(aclKey(acl), ref);
  }

  /** Counts one more use of a restored reference. */
  addUse(ref: number): void {
    if (this.lists[ref] === undefined) throw new Error(`ACL reference ${ref} is not in the snapshot`);
    this.refCounts[ref]!++;
  }

  get(ref: number): readonly ACL[] {
    const acl = this.lists[ref];
    if (acl === undefined) throw new Error(`ACL reference ${ref} is not in use`);
    return acl;
  }

  /** The number of distinct ACL lists in use. */
  get size(): number {
    return this.byKey.size;
  }
}
