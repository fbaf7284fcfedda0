// Differential scenarios about sessions: expiry and what it removes, pings,
// reconnecting, timeouts negotiated against a configured range, and the super
// user. Sessions here are short (tickTime 2000, timeouts from 4 s), and every
// wait is bounded.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { OpCode } from '../../src/protocol/constants.js';
import { AuthPacket, CreateRequest, CreateTTLRequest, DeleteRequest, GetEphemeralsRequest, PathRequest, PathWatchRequest, SetDataRequest } from '../../src/protocol/records.js';
import { sleep, waitFor } from '../harness/process.js';
import { assertSameTranscripts, ServerPair, skipUnlessReferenceTools, type Target } from './pair.js';
import { body, RawClient, splitHostPort } from './raw-client.js';
import { acl, connectView, OPEN, RawRecorder } from './raw-recorder.js';

const SUPER_PASSWORD = 'super:letmein';
const SUPER_DIGEST = `super:${createHash('sha1').update(SUPER_PASSWORD).digest('base64')}`;
/** How long a scenario waits at most for the server to expire a session (timeouts here are 4 s). */
const EXPIRY_WAIT_MS = 60_000;

describe('differential: sessions', { skip: skipUnlessReferenceTools() }, () => {
  let pair: ServerPair | undefined;
  before(async () => {
    pair = await ServerPair.start('sessions', {
      zooCfg: { minSessionTimeout: '4000', maxSessionTimeout: '30000' },
      systemProperties: { 'zookeeper.DigestAuthenticationProvider.superDigest': SUPER_DIGEST },
    });
  });
  after(async () => {
    await pair?.stop();
  });

  async function same(name: string, scenario: (target: Target) => Promise<void>): Promise<void> {
    assert.ok(pair, 'servers did not start');
    const { zkts, reference } = await pair.run(name, scenario);
    assertSameTranscripts(zkts, reference);
  }

  const create = (path: string, data: string | null = null, flags = 0, aclList = OPEN) =>
    body(CreateRequest, { path, data: data === null ? null : Buffer.from(data), acl: aclList, flags });
  const pathWatch = (path: string, watch = false) => body(PathWatchRequest, { path, watch });

  test('timeouts are negotiated into [minSessionTimeout, maxSessionTimeout]', () =>
    same('negotiation', async (target) => {
      const [host, port] = splitHostPort(target.connectString);
      for (const timeoutMs of [1000, 4000, 10_000, 30_000, 60_000]) {
        const client = await RawClient.open(host, port);
        target.t.note({ timeoutMs, response: connectView(await client.connect({ timeoutMs }), target.t.norm) });
        await client.close();
      }
    }));

  test('an expired session loses its ephemerals, its connection and its watches; reconnecting gets "expired"', () =>
    same('expiry', async (target) => {
      const r = target.root;
      const watcher = await RawRecorder.connect(target, 'B');
      await watcher.call('create root', OpCode.create, create(r));
      const doomed = await RawRecorder.connect(target, 'A', { timeoutMs: 4000 });
      await doomed.call('create ephemeral', OpCode.create, create(`${r}/e`, 'x', 1));
      await doomed.call('data watch on root', OpCode.getData, pathWatch(r, true));
      await watcher.call('exists watch on the ephemeral', OpCode.exists, pathWatch(`${r}/e`, true));
      await watcher.call('child watch on root', OpCode.getChildren, pathWatch(r, true));
      // A now goes silent: no pings. Wait (bounded) for the server to expire it.
      await waitFor(() => watcher.client.events().length >= 2, { what: 'the expiry of session A', timeoutMs: EXPIRY_WAIT_MS });
      await doomed.client.waitClosed(EXPIRY_WAIT_MS);
      doomed.flush();
      await watcher.call('ephemeral gone', OpCode.exists, pathWatch(`${r}/e`));
      await watcher.call("setData root (A's watch went with A)", OpCode.setData, body(SetDataRequest, { path: r, data: Buffer.from('y'), version: -1 }));
      const [host, port] = splitHostPort(target.connectString);
      const again = await RawClient.open(host, port);
      const response = await again.connect({ sessionId: doomed.client.sessionId, passwd: doomed.client.session!.passwd! });
      target.t.note({ 'A reconnects': connectView(response, target.t.norm), closed: await again.waitClosed() });
      again.destroy();
      await watcher.close();
    }));

  test('several ephemerals of one expiring session: which events a watcher of each gets', () =>
    same('expiry-many', async (target) => {
      const r = target.root;
      const watcher = await RawRecorder.connect(target, 'B');
      await watcher.call('create root', OpCode.create, create(r));
      await watcher.call('create sub', OpCode.create, create(`${r}/sub`));
      const doomed = await RawRecorder.connect(target, 'A', { timeoutMs: 4000 });
      for (const name of ['a', 'b', 'c', 'sub/d']) await doomed.call(`create ${name}`, OpCode.create, create(`${r}/${name}`, null, 1));
      await doomed.call('create sequential', OpCode.create, create(`${r}/sub/s-`, null, 3));
      await doomed.call('getEphemerals', OpCode.getEphemerals, body(GetEphemeralsRequest, { prefixPath: r }));
      for (const name of ['a', 'b', 'c', 'sub/d', 'sub/s-0000000001']) await watcher.call(`watch ${name}`, OpCode.exists, pathWatch(`${r}/${name}`, true));
      await watcher.call('child watch sub', OpCode.getChildren, pathWatch(`${r}/sub`, true));
      await waitFor(() => watcher.client.events().length >= 6, { what: 'the expiry of session A', timeoutMs: EXPIRY_WAIT_MS });
      // The order of the deletes within one closeSession follows ZooKeeper's hash set of the
      // session's ephemerals; compare the set of events, not their order.
      const events = watcher.client.events().map((e) => `${e.type} ${e.path.replace(r, 'R')}`);
      target.t.note({ events: [...events].sort() });
      watcher.skipReceived();
      await watcher.call('children after', OpCode.getChildren2, pathWatch(`${r}/sub`));
      await doomed.client.end(target.connectString);
      await watcher.close();
    }));

  test('pings keep a session alive past its timeout', () =>
    same('pings', async (target) => {
      const r = target.root;
      const a = await RawRecorder.connect(target, 'A', { timeoutMs: 4000 });
      await a.call('create root', OpCode.create, create(r));
      await a.call('create ephemeral', OpCode.create, create(`${r}/e`, null, 1));
      // Six seconds of pings every half second: well past the 4 s timeout, never near it.
      for (let i = 0; i < 12; i++) {
        await a.client.request(OpCode.ping, undefined, -2);
        await sleep(500);
      }
      await a.call('still alive, ephemeral still there', OpCode.exists, pathWatch(`${r}/e`));
      await a.close();
    }));

  test('a quick reconnect keeps the session and its ephemerals', () =>
    same('quick-reconnect', async (target) => {
      const r = target.root;
      const a = await RawRecorder.connect(target, 'A', { timeoutMs: 30_000 });
      await a.call('create root', OpCode.create, create(r));
      await a.call('create ephemeral', OpCode.create, create(`${r}/e`, null, 1));
      await a.call('data watch', OpCode.getData, pathWatch(`${r}/e`, true));
      const { sessionId, passwd } = a.client.session!;
      a.client.destroy();
      const b = await RawRecorder.connect(target, 'A again', { sessionId, passwd: passwd!, timeoutMs: 30_000 });
      await b.call('ephemeral still there', OpCode.exists, pathWatch(`${r}/e`));
      await b.call('delete it (the old connection\'s watch is gone)', OpCode.delete, body(DeleteRequest, { path: `${r}/e`, version: -1 }));
      await b.call('getEphemerals', OpCode.getEphemerals, body(GetEphemeralsRequest, { prefixPath: '/' }));
      await b.close();
    }));

  test('the reaper deletes emptied containers and expired TTL nodes', () =>
    same('reaper', async (target) => {
      const r = target.root;
      const a = await RawRecorder.connect(target, 'A');
      await a.call('create root', OpCode.create, create(r));
      await a.call('create container', OpCode.createContainer, create(`${r}/c`, null, 4));
      await a.call('create child', OpCode.create, create(`${r}/c/kid`));
      await a.call('createTTL 500 ms', OpCode.createTTL, body(CreateTTLRequest, { path: `${r}/t`, data: null, acl: OPEN, flags: 5, ttl: 500 }));
      await a.call('watch container', OpCode.exists, pathWatch(`${r}/c`, true));
      await a.call('watch TTL node', OpCode.exists, pathWatch(`${r}/t`, true));
      await a.call('delete the child', OpCode.delete, body(DeleteRequest, { path: `${r}/c/kid`, version: -1 }));
      // Both go within a few reaper rounds (checkIntervalMs is 1000 on both servers).
      await waitFor(() => a.client.events().length >= 2, { what: 'the reaper', timeoutMs: EXPIRY_WAIT_MS });
      const events = a.client.events().map((e) => `${e.type} ${e.path.replace(r, 'R')}`);
      target.t.note({ reaped: [...events].sort() });
      a.skipReceived();
      await a.call('children after', OpCode.getChildren2, pathWatch(r));
      await a.close();
    }));

  test('the super user (superDigest) passes every ACL check', () =>
    same('super', async (target) => {
      const r = target.root;
      const owner = await RawRecorder.connect(target, 'owner');
      await owner.call('create root', OpCode.create, create(r));
      await owner.call('create locked', OpCode.create, create(`${r}/locked`, 'secret', 0, acl([0, 'world', 'anyone'])));
      await owner.call('create digest-only', OpCode.create, create(`${r}/alice`, 'a', 0, acl([31, 'digest', 'alice:aYXlLOpEooaV1cRAvUL1fp9Qt7E='])));
      await owner.close();
      const su = await RawRecorder.connect(target, 'super');
      await su.call('read locked before auth', OpCode.getData, pathWatch(`${r}/locked`));
      await su.call('auth super', OpCode.auth, body(AuthPacket, { type: 0, scheme: 'digest', auth: Buffer.from(SUPER_PASSWORD) }), undefined, -4);
      await su.call('whoAmI', OpCode.whoAmI);
      await su.call('read locked', OpCode.getData, pathWatch(`${r}/locked`));
      await su.call('getACL digest-only (unmasked)', OpCode.getACL, body(PathRequest, { path: `${r}/alice` }));
      await su.call('create under locked', OpCode.create, create(`${r}/locked/kid`));
      await su.call('create with auth ACL', OpCode.create, create(`${r}/mine`, null, 0, acl([31, 'auth', ''])));
      await su.call('getACL of it', OpCode.getACL, body(PathRequest, { path: `${r}/mine` }));
      await su.call('delete under locked', OpCode.delete, body(DeleteRequest, { path: `${r}/locked/kid`, version: -1 }));
      await su.call('wrong super password', OpCode.auth, body(AuthPacket, { type: 0, scheme: 'digest', auth: Buffer.from('super:nope') }), undefined, -4);
      await su.call('whoAmI', OpCode.whoAmI);
      await su.close();
    }));
});
