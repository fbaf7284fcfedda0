/** ACL constants and the digest scheme's helper, as ZooKeeper's ZooDefs.Ids provides them. */
import { createHash } from 'node:crypto';
import { Perms } from '../protocol/constants.js';
import type { ACL, Id } from '../protocol/records.js';

export { Perms };

/** Everyone: world:anyone. */
export const ANYONE_ID_UNSAFE: Readonly<Id> = Object.freeze({ scheme: 'world', id: 'anyone' });
/** The identities the connection has authenticated as, when used in an ACL (auth scheme). */
export const AUTH_IDS: Readonly<Id> = Object.freeze({ scheme: 'auth', id: '' });

/** Anyone may do anything. */
export const OPEN_ACL_UNSAFE: readonly ACL[] = Object.freeze([Object.freeze({ perms: Perms.ALL, id: ANYONE_ID_UNSAFE })]);
/** The creator's authenticated identities may do anything (the connection must have authenticated). */
export const CREATOR_ALL_ACL: readonly ACL[] = Object.freeze([Object.freeze({ perms: Perms.ALL, id: AUTH_IDS })]);
/** Anyone may read. */
export const READ_ACL_UNSAFE: readonly ACL[] = Object.freeze([Object.freeze({ perms: Perms.READ, id: ANYONE_ID_UNSAFE })]);

/**
 * The digest scheme's identity for a user and password: the id is
 * `user:base64(sha1("user:password"))`, as ACLs name it. Authenticate with
 * `client.addAuth('digest', `${user}:${password}`)`.
 */
export function digestAuth(user: string, password: string): Id {
  const hash = createHash('sha1').update(`${user}:${password}`, 'utf8').digest('base64');
  return { scheme: 'digest', id: `${user}:${hash}` };
}
