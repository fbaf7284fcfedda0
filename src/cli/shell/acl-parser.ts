/** zkCli's AclParser: "scheme:id:perms[,...]", complaining on stderr about what it skips. */
import { Perms, type ACL } from '../../client/mod.js';
import { javaSplit } from './java.js';

const PERM_LETTERS: Record<string, number> = { r: Perms.READ, w: Perms.WRITE, c: Perms.CREATE, d: Perms.DELETE, a: Perms.ADMIN };

/**
 * The id is everything between the first and the last colon, so digest ids
 * ("digest:user:hash:cdrwa") keep theirs. An entry without two colons is
 * skipped, and so is an unknown permission letter, each with a message; an
 * ACL left empty is refused later, by the create or setAcl call.
 */
export function parseAcl(text: string, err: (line: string) => void): ACL[] {
  const acl: ACL[] = [];
  for (const entry of javaSplit(text, ',')) {
    const first = entry.indexOf(':');
    const last = entry.lastIndexOf(':');
    if (first === -1 || first === last) {
      err(`${entry} does not have the form scheme:id:perm`);
      continue;
    }
    acl.push({ id: { scheme: entry.slice(0, first), id: entry.slice(first + 1, last) }, perms: parsePerms(entry.slice(last + 1), err) });
  }
  return acl;
}

function parsePerms(letters: string, err: (line: string) => void): number {
  let perms = 0;
  for (const letter of letters) {
    const perm = PERM_LETTERS[letter];
    if (perm === undefined) err(`Unknown perm type: ${letter}`);
    else perms |= perm;
  }
  return perms;
}
