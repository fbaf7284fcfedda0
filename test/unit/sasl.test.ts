import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { DigestMd5Server, SaslError, digestUsersOf, parseDirectives, parseJaasConfig } from '../../src/server/sasl.js';

/** The JAAS file kazoo's test harness writes for ZOOKEEPER_JAAS_AUTH=digest. */
const KAZOO_JAAS = `
Server {
    org.apache.zookeeper.server.auth.DigestLoginModule required
    user_super="super_secret"
    user_jaasuser="jaas_password";
};`;

describe('JAAS configuration', () => {
  it("reads kazoo's digest section", () => {
    const sections = parseJaasConfig(KAZOO_JAAS, 'jaas.conf');
    assert.deepEqual([...sections.keys()], ['Server']);
    const [module] = sections.get('Server')!;
    assert.equal(module!.className, 'org.apache.zookeeper.server.auth.DigestLoginModule');
    assert.equal(module!.flag, 'required');
    assert.deepEqual(
      [...digestUsersOf(sections.get('Server'))!],
      [
        ['super', 'super_secret'],
        ['jaasuser', 'jaas_password'],
      ],
    );
  });

  it('reads several sections and modules, comments, unquoted values and escapes', () => {
    const sections = parseJaasConfig(
      [
        '// the server',
        'Server { /* two modules */',
        '  com.sun.security.auth.module.Krb5LoginModule required useKeyTab=true keyTab="/a b.keytab";',
        '  org.apache.zookeeper.server.auth.DigestLoginModule required user_bob="p\\"w";',
        '};',
        'Client { org.apache.zookeeper.server.auth.DigestLoginModule required username="bob" password="x"; };',
      ].join('\n'),
      'jaas.conf',
    );
    assert.deepEqual([...sections.keys()], ['Server', 'Client']);
    const server = sections.get('Server')!;
    assert.deepEqual([...server[0]!.options], [
      ['useKeyTab', 'true'],
      ['keyTab', '/a b.keytab'],
    ]);
    assert.deepEqual([...digestUsersOf(server)!], [['bob', 'p"w']]);
  });

  it('has no digest users without a DigestLoginModule, or without the section', () => {
    const kerberos = parseJaasConfig('Server { com.sun.security.auth.module.Krb5LoginModule required; };', 'j');
    assert.equal(digestUsersOf(kerberos.get('Server')), undefined);
    assert.equal(digestUsersOf(parseJaasConfig('', 'j').get('Server')), undefined);
  });

  it('rejects a malformed file, naming it', () => {
    for (const text of ['Server {', 'Server { a required x= ; };', 'Server { a required x="y; };', 'Server { a required; }']) {
      assert.throws(() => parseJaasConfig(text, 'jaas.conf'), /^JaasConfigError: jaas\.conf: /, text);
    }
  });
});

/** The client side of DIGEST-MD5 (RFC 2831), as pure-sasl computes it for kazoo. */
function clientResponse(
  challenge: Map<string, string>,
  { username, password, cnonce = 'OA6MHXh6VqTrRk', nc = '00000001', digestUri = 'zookeeper/zk-sasl-md5', authzid }: {
    username: string;
    password: string;
    cnonce?: string;
    nc?: string;
    digestUri?: string;
    authzid?: string;
  },
): { response: string; rspauth: string } {
  const md5 = (data: Buffer | string): Buffer => createHash('md5').update(data).digest();
  const realm = challenge.get('realm')!;
  const nonce = challenge.get('nonce')!;
  const a1 = Buffer.concat([
    md5(`${username}:${realm}:${password}`),
    Buffer.from(`:${nonce}:${cnonce}${authzid === undefined ? '' : `:${authzid}`}`),
  ]);
  const kd = (a2: string): string =>
    md5(`${md5(a1).toString('hex')}:${nonce}:${nc}:${cnonce}:auth:${md5(a2).toString('hex')}`).toString('hex');
  const fields = [
    `username="${username}"`,
    `realm="${realm}"`,
    `nonce="${nonce}"`,
    `cnonce="${cnonce}"`,
    `nc=${nc}`,
    'qop=auth',
    `digest-uri="${digestUri}"`,
    ...(authzid === undefined ? [] : [`authzid="${authzid}"`]),
    `response=${kd(`AUTHENTICATE:${digestUri}`)}`,
  ];
  return { response: fields.join(','), rspauth: kd(`:${digestUri}`) };
}

const USERS = new Map([
  ['jaasuser', 'jaas_password'],
  ['super', 'super_secret'],
]);

/** Runs the exchange up to the client's response; returns the server's answer to it, or what it threw. */
function exchange(
  client: Parameters<typeof clientResponse>[1],
  tamper: (response: string) => string = (r) => r,
): { token: string; authorizationId?: string; rspauth: string } {
  const server = new DigestMd5Server(USERS);
  const challenge = parseDirectives(server.evaluate(Buffer.alloc(0)).token.toString('utf8'));
  const { response, rspauth } = clientResponse(challenge, client);
  const step = server.evaluate(Buffer.from(tamper(response), 'utf8'));
  return { token: step.token.toString('utf8'), authorizationId: step.authorizationId, rspauth };
}

describe('DIGEST-MD5 server', () => {
  it('challenges an empty first token as Java\'s DigestMD5Server does for ZooKeeper', () => {
    const server = new DigestMd5Server(USERS, 'Tm9uY2U=');
    const step = server.evaluate(Buffer.alloc(0));
    assert.equal(step.token.toString(), 'realm="zk-sasl-md5",nonce="Tm9uY2U=",qop="auth",charset=utf-8,algorithm=md5-sess');
    assert.equal(step.authorizationId, undefined);
  });

  it('accepts a correct response, answers rspauth and authorizes the user', () => {
    const { token, authorizationId, rspauth } = exchange({ username: 'jaasuser', password: 'jaas_password' });
    assert.equal(token, `rspauth=${rspauth}`);
    assert.equal(authorizationId, 'jaasuser');
  });

  it('authorizes the authenticated user even when the client names another authzid', () => {
    const { authorizationId } = exchange({ username: 'jaasuser', password: 'jaas_password', authzid: 'super' });
    assert.equal(authorizationId, 'jaasuser');
  });

  it('rejects a wrong password, an unknown user, a wrong digest-uri or nonce count', () => {
    const cases: [Parameters<typeof clientResponse>[1], RegExp][] = [
      [{ username: 'jaasuser', password: 'wrong' }, /mismatched response/],
      [{ username: 'baduser', password: 'badpassword' }, /cannot acquire password for baduser/],
      [{ username: 'jaasuser', password: 'jaas_password', digestUri: 'zookeeper/localhost' }, /mismatched URI/],
      [{ username: 'jaasuser', password: 'jaas_password', nc: '00000002' }, /nonce count/],
    ];
    for (const [client, message] of cases) assert.throws(() => exchange(client), (e) => e instanceof SaslError && message.test(e.message));
  });

  it('rejects a response to another nonce, or one missing a directive', () => {
    const client = { username: 'jaasuser', password: 'jaas_password' };
    assert.throws(() => exchange(client, (r) => r.replace(/nonce="[^"]*"/, 'nonce="other"')), /mismatched nonce/);
    assert.throws(() => exchange(client, (r) => r.replace(/cnonce="[^"]*",/, '')), /missing cnonce/);
    assert.throws(() => exchange(client, (r) => r.replace('qop=auth', 'qop=auth-conf')), /unsupported qop/);
  });

  it('rejects an initial response, and any token after the exchange ended', () => {
    assert.throws(() => new DigestMd5Server(USERS).evaluate(Buffer.from('x')), /must not have an initial response/);
    const server = new DigestMd5Server(USERS);
    server.evaluate(Buffer.alloc(0));
    assert.throws(() => server.evaluate(Buffer.from('username="jaasuser"')), SaslError);
    assert.throws(() => server.evaluate(Buffer.alloc(0)), /already completed/);
  });
});

describe('digest directives', () => {
  it('reads quoted and plain values, escapes and spaces', () => {
    assert.deepEqual(
      [...parseDirectives('username="a\\"b", nc=00000001,  qop=auth ,realm=""')],
      [
        ['username', 'a"b'],
        ['nc', '00000001'],
        ['qop', 'auth'],
        ['realm', ''],
      ],
    );
  });

  it('rejects a repeated directive or an unterminated quote', () => {
    assert.throws(() => parseDirectives('nc=1,nc=2'), /nc given twice/);
    assert.throws(() => parseDirectives('username="abc'), /unterminated/);
  });
});
