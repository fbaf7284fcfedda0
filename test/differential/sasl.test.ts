// Differential scenarios about SASL through kazoo and its pure-sasl: DIGEST-MD5 against a JAAS
// DigestLoginModule section and SASLAuthenticationProvider, configured as kazoo's own test suite
// configures Apache ZooKeeper. Both servers read the same JAAS file.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { kazooScenario } from './kazoo-recorder.js';
import { assertSameTranscripts, ServerPair, skipUnlessReferenceTools } from './pair.js';

const JAAS = `
Server {
    org.apache.zookeeper.server.auth.DigestLoginModule required
    user_super="super_secret"
    user_jaasuser="jaas_password";
};
`;

describe('differential: SASL', { skip: skipUnlessReferenceTools() }, () => {
  let pair: ServerPair | undefined;
  let jaasDir: string | undefined;
  before(async () => {
    jaasDir = await mkdtemp(join(tmpdir(), 'zkts-jaas-'));
    const jaasFile = join(jaasDir, 'jaas.conf');
    await writeFile(jaasFile, JAAS);
    pair = await ServerPair.start('sasl', {
      zooCfg: { 'authProvider.1': 'org.apache.zookeeper.server.auth.SASLAuthenticationProvider' },
      // A JVM property for ZooKeeper; zkts reads it as a zoo.cfg key.
      systemProperties: { 'java.security.auth.login.config': jaasFile },
    });
  });
  after(async () => {
    await pair?.stop();
    if (jaasDir !== undefined) await rm(jaasDir, { recursive: true, force: true });
  });

  async function same(name: string, snippet: string): Promise<void> {
    assert.ok(pair, 'servers did not start');
    const { zkts, reference } = await pair.run(name, (target) => kazooScenario(target, snippet));
    assertSameTranscripts(zkts, reference);
  }

  test('a client that completes DIGEST-MD5 is sasl:<user>, which sasl ACLs admit and auth ACLs name', () =>
    same(
      'digest-md5',
      `
      sasl = new_client(sasl_options={"mechanism": "DIGEST-MD5", "username": "jaasuser", "password": "jaas_password"})
      rec("create with a sasl ACL", sasl.create, R, b"secret", acl=[make_acl("sasl", "jaasuser", all=True)])
      rec("get as the sasl user", sasl.get, R)
      rec("get unauthenticated", zk.get, R)
      rec("set unauthenticated", zk.set, R, b"x")
      rec("get_acls", sasl.get_acls, R)
      rec("create with an auth ACL", sasl.create, R + "/auth", acl=[ACL(31, Id("auth", ""))])
      rec("get_acls of the auth ACL", sasl.get_acls, R + "/auth")
      rec("create with a malformed sasl id", sasl.create, R + "/bad", acl=[make_acl("sasl", "a@b@c", all=True)])
      rec("create with a Kerberos-style sasl id", sasl.create, R + "/krb", acl=[make_acl("sasl", "zk/host@EXAMPLE.COM", read=True)])
      legacy = new_client(auth_data=[("sasl", "jaasuser:jaas_password")])
      rec("get with SASL given as auth_data", legacy.get, R)
      rec("an addauth with the sasl scheme", lambda: zk.add_auth("sasl", "jaasuser:jaas_password"))
      rec("delete the Kerberos-style one (DELETE on its parent suffices)", sasl.delete, R + "/krb")
      rec("delete", sasl.delete, R, recursive=True)
      `,
    ));

  test('a wrong password or an unknown user fails the connection with AuthFailed', () =>
    same(
      'digest-md5-failures',
      `
      # kazoo reports the connection before its SASL exchange, so start() returns either way;
      # a failed exchange shows in the first request.
      def start(**options):
          client = KazooClient(hosts=hosts, **options)
          try:
              client.start(timeout=15)
              return client.exists("/zookeeper") is not None
          finally:
              client.stop()
              client.close()
      # ZooKeeper 3.8 sometimes closes the connection before kazoo has read its AuthFailed
      # answer; kazoo then tries again until its timeout. Either way the client is refused.
      def refused(**options):
          from kazoo.exceptions import AuthFailedError
          from kazoo.handlers.threading import KazooTimeoutError
          try:
              return start(**options)
          except (AuthFailedError, KazooTimeoutError):
              return "refused"
      rec("wrong password", refused, sasl_options={"mechanism": "DIGEST-MD5", "username": "jaasuser", "password": "nope"})
      rec("unknown user", refused, sasl_options={"mechanism": "DIGEST-MD5", "username": "baduser", "password": "badpassword"})
      rec("right password", start, sasl_options={"mechanism": "DIGEST-MD5", "username": "jaasuser", "password": "jaas_password"})
      `,
    ));
});
