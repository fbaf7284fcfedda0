import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { Perms } from '../../src/protocol/constants.js';
import type { ACL, Id } from '../../src/protocol/records.js';
import {
  ANYONE_ID,
  AclCache,
  OPEN_ACL_UNSAFE,
  READ_ACL_UNSAFE,
  SUPER_ID,
  aclPermits,
  addressBytes,
  digestOf,
  fixupAcl,
  ipMatches,
  isValidIpExpression,
  maskDigests,
  removeDuplicateAcls,
} from '../../src/tree/acl.js';

const digest = (id: string): Id => ({ scheme: 'digest', id });
const ip = (id: string): Id => ({ scheme: 'ip', id });
const acl = (perms: number, id: Id): ACL => ({ perms, id });

describe('digestOf', () => {
  it('matches DigestAuthenticationProvider.generateDigest', () => {
    // From `java -cp '/usr/share/java/*' org.apache.zookeeper.server.auth.DigestAuthenticationProvider ...` (3.8.0).
    assert.equal(digestOf('bob:secret'), 'bob:fyVmFCwVbTJYrznoSu1koqYEYF0=');
    assert.equal(digestOf('üser:pässwörd'), 'üser:4e06bn6Nn+1Kqz6xfwELO4h23TI=');
    // Only the first colon separates user from password, but the whole text is hashed.
    assert.equal(digestOf('a:b:c'), 'a:cLzgnoJ6mP5qz3w+mwvPE2vDgu0=');
    assert.equal(digestOf(':'), ':BaefBs8/Z/cm2uaNGKIpD2yaUMk=');
  });

  it('gives the superDigest an operator computes with openssl', () => {
    // echo -n super:test | openssl sha1 -binary | base64
    assert.equal(digestOf('super:test'), 'super:D/InIHSb7yEEbrWz8b9l71RjZJU=');
  });

  it('is user:base64(sha1(user:password)) for any input', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 12 }), fc.string({ unit: 'binary', maxLength: 12 }), (user, password) => {
        fc.pre(!user.includes(':'));
        const text = `${user}:${password}`;
        assert.equal(digestOf(text), `${user}:${createHash('sha1').update(text, 'utf8').digest('base64')}`);
      }),
      { seed: 99, numRuns: 200 },
    );
  });
});

describe('ip addresses and expressions', () => {
  it('parses IPv4, IPv6 and IPv4-mapped IPv6 addresses into bytes', () => {
    assert.deepEqual(addressBytes('10.1.2.3'), [10, 1, 2, 3]);
    assert.deepEqual(addressBytes('::ffff:10.1.2.3'), [10, 1, 2, 3]);
    assert.deepEqual(addressBytes('::FFFF:10.1.2.3'), [10, 1, 2, 3]);
    assert.deepEqual(addressBytes('::1'), [...new Array<number>(15).fill(0), 1]);
    assert.deepEqual(addressBytes('::'), new Array<number>(16).fill(0));
    assert.deepEqual(addressBytes('2001:db8::ff00:42'), [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0, 0, 0x42]);
    assert.deepEqual(addressBytes('fe80::'), [0xfe, 0x80, ...new Array<number>(14).fill(0)]);
    assert.deepEqual(addressBytes('1:2:3:4:5:6:7:8'), [0, 1, 0, 2, 0, 3, 0, 4, 0, 5, 0, 6, 0, 7, 0, 8]);
    for (const bad of ['', 'localhost', '256.0.0.1', '1.2.3', '1.2.3.4.5', ':::', '1::2::3', 'g::1']) {
      assert.equal(addressBytes(bad), null, bad);
    }
  });

  it('parses IPv6 addresses written with a dotted IPv4 tail', () => {
    // The NAT64 prefix: 64:ff9b::10.0.0.1 is 64:ff9b::a00:1.
    assert.deepEqual(addressBytes('64:ff9b::10.0.0.1'), addressBytes('64:ff9b::a00:1'));
    assert.deepEqual(addressBytes('::10.0.0.1'), addressBytes('::a00:1'));
    assert.ok(ipMatches('64:ff9b::a00:1', '64:ff9b::10.0.0.1/128'));
  });

  it('validates ip expressions as IPAuthenticationProvider.isValid does (plus IPv6)', () => {
    const valid = ['10.0.0.1', '10.0.0.0/8', '0.0.0.0/0', '10.1.2.3/32', '::1', '2001:db8::/32', '::/0', '::1/128'];
    const invalid = ['', 'host', '10.0.0.0/33', '10.0.0.0/-1', '10.0.0.0/', '10.0.0.0/8/9', '10.0.0.0/x', '::1/129', '1.2.3'];
    for (const expr of valid) assert.equal(isValidIpExpression(expr), true, expr);
    for (const expr of invalid) assert.equal(isValidIpExpression(expr), false, expr);
  });

  it('matches addresses against IPv4 prefixes of any length', () => {
    const cases: [string, string, boolean][] = [
      ['10.1.2.3', '10.1.2.3', true],
      ['10.1.2.4', '10.1.2.3', false],
      ['10.1.2.3', '10.1.2.3/32', true],
      ['10.1.2.4', '10.1.2.3/32', false],
      ['10.1.2.200', '10.1.2.0/24', true],
      ['10.1.3.0', '10.1.2.0/24', false],
      ['10.255.0.1', '10.0.0.0/8', true],
      ['11.0.0.1', '10.0.0.0/8', false],
      ['10.31.255.255', '10.16.0.0/12', true],
      ['10.32.0.0', '10.16.0.0/12', false],
      ['10.15.255.255', '10.16.0.0/12', false],
      // The host bits of the expression are ignored, as Java masks both sides.
      ['10.1.2.3', '10.9.9.9/8', true],
      ['1.2.3.4', '0.0.0.0/0', true],
      ['255.255.255.255', '9.9.9.9/0', true],
      // Node reports IPv4 clients of a dual-stack socket as IPv4-mapped IPv6.
      ['::ffff:10.1.2.3', '10.0.0.0/8', true],
      ['::ffff:11.1.2.3', '10.0.0.0/8', false],
      ['10.1.2.3', '::ffff:10.1.2.3', true],
    ];
    for (const [client, expr, expected] of cases) assert.equal(ipMatches(client, expr), expected, `${client} in ${expr}`);
  });

  it('matches addresses against IPv6 prefixes, never across address families', () => {
    const cases: [string, string, boolean][] = [
      ['::1', '::1', true],
      ['::1', '::1/128', true],
      ['::2', '::1/128', false],
      ['::2', '::1/126', true],
      ['2001:db8:1::5', '2001:db8::/32', true],
      ['2001:db9::5', '2001:db8::/32', false],
      ['fe80::1', '::/0', true],
      ['10.0.0.1', '::/0', false],
      ['::1', '0.0.0.0/0', false],
    ];
    for (const [client, expr, expected] of cases) assert.equal(ipMatches(client, expr), expected, `${client} in ${expr}`);
  });

  it('never matches with an invalid expression or client address', () => {
    for (const expr of ['10.0.0.0/33', 'nonsense', '10.0.0.0/']) assert.equal(ipMatches('10.0.0.1', expr), false, expr);
    assert.equal(ipMatches('not-an-ip', '0.0.0.0/0'), false);
  });
});

describe('fixupAcl', () => {
  const bob = digest(digestOf('bob:secret'));
  const alice = digest(digestOf('alice:pw'));

  it('rejects an empty list', () => {
    assert.equal(fixupAcl([], [bob]), null);
  });

  it('keeps valid world, digest and ip entries in order', () => {
    const list = [acl(Perms.READ, ANYONE_ID), acl(Perms.ALL, bob), acl(Perms.WRITE, ip('10.0.0.0/8'))];
    assert.deepEqual(fixupAcl(list, []), list);
  });

  it('expands an auth entry into the connection’s digest identities only, keeping its perms', () => {
    const authIds = [ip('10.0.0.1'), bob, SUPER_ID, alice, { scheme: 'x509', id: 'CN=client' }];
    assert.deepEqual(fixupAcl([acl(Perms.READ | Perms.WRITE, { scheme: 'auth', id: 'ignored' })], authIds), [
      acl(Perms.READ | Perms.WRITE, bob),
      acl(Perms.READ | Perms.WRITE, alice),
    ]);
  });

  it('rejects an auth entry when the connection has no digest identity', () => {
    const auth = acl(Perms.ALL, { scheme: 'auth', id: '' });
    assert.equal(fixupAcl([auth], []), null);
    assert.equal(fixupAcl([auth], [ip('10.0.0.1'), SUPER_ID]), null);
  });

  it('rejects unknown schemes and ids their scheme does not accept', () => {
    const invalid: Id[] = [
      { scheme: 'world', id: 'everyone' },
      { scheme: 'x509', id: 'CN=a' },
      { scheme: 'sasl', id: 'bob' },
      { scheme: 'super', id: '' },
      { scheme: 'nope', id: 'x' },
      digest('bob'),
      digest('a:b:c'),
      digest(':'),
      ip('10.0.0.0/33'),
      ip('host.example'),
    ];
    for (const id of invalid) {
      assert.equal(fixupAcl([acl(Perms.ALL, id)], [bob]), null, `${id.scheme}:${id.id}`);
      // One bad entry spoils the whole list.
      assert.equal(fixupAcl([acl(Perms.ALL, ANYONE_ID), acl(Perms.ALL, id)], [bob]), null, `${id.scheme}:${id.id}`);
    }
  });

  it('validates digest ids with Java’s split(":"), which drops trailing empty parts', () => {
    // DigestAuthenticationProvider.isValid is `id.split(":").length == 2`.
    assert.equal(fixupAcl([acl(Perms.ALL, digest('bob:'))], []), null);
    assert.deepEqual(fixupAcl([acl(Perms.ALL, digest('bob:hash:'))], []), [acl(Perms.ALL, digest('bob:hash:'))]);
    assert.deepEqual(fixupAcl([acl(Perms.ALL, digest(':hash'))], []), [acl(Perms.ALL, digest(':hash'))]);
  });

  it('removes duplicate entries but keeps the same id with different perms', () => {
    const list = [
      acl(Perms.ALL, ANYONE_ID),
      acl(Perms.READ, bob),
      { perms: Perms.ALL, id: { scheme: 'world', id: 'anyone' } },
      acl(Perms.READ, bob),
      acl(Perms.WRITE, bob),
    ];
    assert.deepEqual(fixupAcl(list, []), [acl(Perms.ALL, ANYONE_ID), acl(Perms.READ, bob), acl(Perms.WRITE, bob)]);
    assert.deepEqual(removeDuplicateAcls(list), fixupAcl(list, []));
  });
});

describe('aclPermits', () => {
  const bob = digest(digestOf('bob:secret'));

  it('allows everything on an empty ACL', () => {
    assert.equal(aclPermits([], Perms.ADMIN, []), true);
  });

  it('lets the super user through every ACL', () => {
    assert.equal(aclPermits([acl(Perms.READ, bob)], Perms.ADMIN, [SUPER_ID]), true);
    assert.equal(aclPermits([acl(0, ANYONE_ID)], Perms.DELETE, [ip('1.2.3.4'), SUPER_ID]), true);
  });

  it('grants world:anyone exactly the perms in its mask', () => {
    assert.equal(aclPermits(OPEN_ACL_UNSAFE, Perms.ADMIN, []), true);
    assert.equal(aclPermits(READ_ACL_UNSAFE, Perms.READ, []), true);
    assert.equal(aclPermits(READ_ACL_UNSAFE, Perms.WRITE, []), false);
    const readWrite = [acl(Perms.READ | Perms.WRITE, ANYONE_ID)];
    for (const perm of [Perms.READ, Perms.WRITE]) assert.equal(aclPermits(readWrite, perm, []), true);
    for (const perm of [Perms.CREATE, Perms.DELETE, Perms.ADMIN]) assert.equal(aclPermits(readWrite, perm, []), false);
    assert.equal(aclPermits([acl(0, ANYONE_ID)], Perms.READ, []), false);
  });

  it('matches digest ids exactly and ip ids by prefix, each against its own scheme', () => {
    const list = [acl(Perms.READ, bob), acl(Perms.WRITE, ip('10.0.0.0/8'))];
    assert.equal(aclPermits(list, Perms.READ, [bob]), true);
    assert.equal(aclPermits(list, Perms.WRITE, [bob]), false);
    assert.equal(aclPermits(list, Perms.READ, [digest(digestOf('bob:wrong'))]), false);
    assert.equal(aclPermits(list, Perms.WRITE, [ip('10.9.9.9')]), true);
    assert.equal(aclPermits(list, Perms.WRITE, [ip('11.0.0.1')]), false);
    assert.equal(aclPermits(list, Perms.READ, [ip('10.9.9.9')]), false);
    // The same id text under another scheme is not the same identity.
    assert.equal(aclPermits([acl(Perms.READ, ip('10.0.0.1'))], Perms.READ, [digest('10.0.0.1')]), false);
    // Perms are combined across entries that match one identity each.
    assert.equal(aclPermits(list, Perms.WRITE, [ip('10.0.0.1'), bob]), true);
  });
});

describe('the sasl scheme', () => {
  const SASL_PROVIDER = new Set(['sasl']);
  const sasl = (id: string): Id => ({ scheme: 'sasl', id });

  it('is valid only with its provider configured, for names Kerberos could parse', () => {
    for (const id of ['jaasuser', 'zookeeper/host.example@EXAMPLE.COM', 'bob@EXAMPLE.COM', '']) {
      assert.deepEqual(fixupAcl([acl(Perms.ALL, sasl(id))], [], SASL_PROVIDER), [acl(Perms.ALL, sasl(id))], id);
      assert.equal(fixupAcl([acl(Perms.ALL, sasl(id))], []), null, id);
    }
    for (const id of ['a@b@c', 'a/b/c@R']) assert.equal(fixupAcl([acl(Perms.ALL, sasl(id))], [], SASL_PROVIDER), null, id);
  });

  it('matches a connection’s sasl identity exactly, only with its provider configured', () => {
    const list = [acl(Perms.READ, sasl('jaasuser'))];
    assert.equal(aclPermits(list, Perms.READ, [sasl('jaasuser')], SASL_PROVIDER), true);
    assert.equal(aclPermits(list, Perms.READ, [sasl('jaasuser2')], SASL_PROVIDER), false);
    assert.equal(aclPermits(list, Perms.READ, [digest('jaasuser')], SASL_PROVIDER), false);
    assert.equal(aclPermits(list, Perms.READ, [sasl('jaasuser')]), false);
  });

  it('counts as authenticated for an auth entry only with its provider configured', () => {
    const bob = digest(digestOf('bob:secret'));
    const auth = acl(Perms.READ, { scheme: 'auth', id: '' });
    assert.deepEqual(fixupAcl([auth], [sasl('jaasuser'), bob], SASL_PROVIDER), [acl(Perms.READ, sasl('jaasuser')), acl(Perms.READ, bob)]);
    assert.deepEqual(fixupAcl([auth], [sasl('jaasuser'), bob]), [acl(Perms.READ, bob)]);
    assert.equal(fixupAcl([auth], [sasl('jaasuser')]), null);
  });
});

describe('maskDigests', () => {
  it('hides digest hashes as user:x and leaves other schemes and the input alone', () => {
    const bob = digest('bob:fyVmFCwVbTJYrznoSu1koqYEYF0=');
    const list = [acl(Perms.ALL, bob), acl(Perms.READ, ANYONE_ID), acl(Perms.WRITE, ip('10.0.0.1'))];
    assert.deepEqual(maskDigests(list), [acl(Perms.ALL, digest('bob:x')), list[1], list[2]]);
    assert.equal(list[0]!.id.id, 'bob:fyVmFCwVbTJYrznoSu1koqYEYF0=');
  });
});

describe('AclCache', () => {
  const bob = digest(digestOf('bob:secret'));

  it('shares one reference between equal lists and copies the list in', () => {
    const cache = new AclCache();
    const entry: { perms: number; id: Id } = { perms: Perms.ALL, id: bob };
    const ref = cache.acquire([entry]);
    assert.equal(cache.acquire([acl(Perms.ALL, digest(bob.id))]), ref);
    assert.equal(cache.size, 1);
    entry.perms = 0;
    assert.deepEqual(cache.get(ref), [acl(Perms.ALL, bob)]);
  });

  it('gives distinct lists (order matters) distinct references', () => {
    const cache = new AclCache();
    const a = cache.acquire([acl(Perms.ALL, bob), acl(Perms.READ, ANYONE_ID)]);
    const b = cache.acquire([acl(Perms.READ, ANYONE_ID), acl(Perms.ALL, bob)]);
    const c = cache.acquire(OPEN_ACL_UNSAFE);
    assert.equal(new Set([a, b, c]).size, 3);
    assert.equal(cache.size, 3);
  });

  it('keeps a list until its last use is released, then reuses the freed reference', () => {
    const cache = new AclCache();
    const ref = cache.acquire(OPEN_ACL_UNSAFE);
    cache.acquire(OPEN_ACL_UNSAFE);
    const other = cache.acquire(READ_ACL_UNSAFE);
    cache.release(ref);
    assert.deepEqual(cache.get(ref), OPEN_ACL_UNSAFE);
    cache.release(ref);
    assert.throws(() => cache.get(ref), /not in use/);
    assert.equal(cache.size, 1);
    // A new list takes the freed slot; the freed list itself comes back as a new entry.
    const reused = cache.acquire([acl(Perms.ALL, bob)]);
    assert.equal(reused, ref);
    assert.deepEqual(cache.get(reused), [acl(Perms.ALL, bob)]);
    assert.equal(cache.get(other), cache.get(cache.acquire(READ_ACL_UNSAFE)));
    assert.notEqual(cache.acquire(OPEN_ACL_UNSAFE), ref);
  });

  it('never lets a client-chosen id make one list look like another', () => {
    // A valid digest id (exactly one colon) may contain control characters.
    const crafted = [acl(Perms.READ, digest('a:b\u00011\u0000ip\u000010.0.0.1'))];
    const pair = [acl(Perms.READ, digest('a:b')), acl(Perms.READ, ip('10.0.0.1'))];
    assert.notEqual(fixupAcl(crafted, []), null);
    const cache = new AclCache();
    const pairRef = cache.acquire(pair);
    const craftedRef = cache.acquire(crafted);
    assert.notEqual(craftedRef, pairRef);
    assert.deepEqual(cache.get(craftedRef), crafted);
  });

  it('interns by value: two lists share a reference exactly when they are equal', () => {
    const text = fc.string({ unit: fc.constantFrom('a', '1', ':', '\u0000', '\u0001', 'ip', 'digest'), maxLength: 6 });
    const entry = fc.record({ perms: fc.constantFrom(0, 1, 31), id: fc.record({ scheme: text, id: text }) });
    const list = fc.array(entry, { maxLength: 3 });
    fc.assert(
      fc.property(list, list, (a, b) => {
        const cache = new AclCache();
        const same = cache.acquire(a) === cache.acquire(b);
        assert.equal(same, JSON.stringify(a) === JSON.stringify(b));
      }),
      { seed: 5, numRuns: 2000 },
    );
  });
});
