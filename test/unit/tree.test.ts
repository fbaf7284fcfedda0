/**
 * The data tree and the preparer, driven as the server drives them:
 * prepare → (propose) → apply, with several txns in flight before apply.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { CreateMode, EventType, OpCode, Perms } from '../../src/protocol/constants.js';
import { ErrorCode } from '../../src/protocol/errors.js';
import type { ACL } from '../../src/protocol/records.js';
import type { WriteRequest } from '../../src/protocol/requests.js';
import type { Txn } from '../../src/protocol/txn.js';
import { OPEN_ACL_UNSAFE, digestOf } from '../../src/tree/acl.js';
import { ROOT_NODE, textOf } from '../../src/tree/data-tree.js';
import { ZkDatabase, type TxnResult } from '../../src/tree/database.js';
import type { Watcher } from '../../src/tree/watches.js';
import { treeDigest } from '../../src/tree/digest.js';
import { RequestPreparer, SERVER_CONTEXT, sequenceSuffix, type RequestContext } from '../../src/server/prep.js';

const SESSION = 0x100n;
const OTHER_SESSION = 0x200n;

class Harness {
  readonly db = new ZkDatabase({ extendedTypesEnabled: true });
  readonly prep: RequestPreparer;
  private time = 1_000_000;

  constructor(options: { enforceQuota?: boolean } = {}) {
    this.prep = new RequestPreparer(this.db, { extendedTypesEnabled: true, skipACL: false, reconfigEnabled: false, ...options });
    for (const id of [SESSION, OTHER_SESSION]) {
      this.applyAll([this.prep.prepareCreateSession(id, 10_000, Buffer.alloc(16), this.time)]);
    }
  }

  ctx(sessionId = SESSION, authIds: RequestContext['authIds'] = [{ scheme: 'ip', id: '127.0.0.1' }]): RequestContext {
    return { sessionId, cxid: 1, authIds };
  }

  prepare(request: WriteRequest, ctx = this.ctx()): Txn {
    return this.prep.prepare(ctx, request, ++this.time);
  }

  applyAll(txns: Txn[]): TxnResult[] {
    return txns.map((txn) => {
      const result = this.db.apply(txn);
      this.prep.applied(txn);
      return result;
    });
  }

  run(request: WriteRequest, ctx = this.ctx()): TxnResult {
    return this.applyAll([this.prepare(request, ctx)])[0]!;
  }

  create(path: string, flags: number = CreateMode.PERSISTENT, acl: readonly ACL[] = OPEN_ACL_UNSAFE, ctx = this.ctx()) {
    return this.run({ type: OpCode.create2, req: { path, data: Buffer.from('d'), acl: [...acl], flags } }, ctx);
  }

  stat(path: string) {
    const node = this.db.tree.lookup(path);
    assert.notEqual(node, -1, `${path} exists`);
    return this.db.tree.statOf(node);
  }
}

function createReq(path: string, flags: number = CreateMode.PERSISTENT): WriteRequest {
  return { type: OpCode.create, req: { path, data: null, acl: [...OPEN_ACL_UNSAFE], flags } };
}

class RecordingWatcher implements Watcher {
  readonly events: string[] = [];
  notify(type: number, path: string): void {
    this.events.push(`${type}:${path}`);
  }
}

describe('data tree', () => {
  it('starts with /zookeeper, /zookeeper/quota and /zookeeper/config, all-zero stats', () => {
    const h = new Harness();
    assert.deepEqual(h.db.tree.childrenOf(ROOT_NODE), ['zookeeper']);
    assert.deepEqual(h.db.tree.childrenOf(h.db.tree.lookup('/zookeeper')).sort(), ['config', 'quota']);
    const root = h.stat('/');
    assert.equal(root.czxid, 0);
    // Stored cversion 0 with one child: ZooKeeper shows cversion 2*0 − 1.
    assert.equal(root.cversion, -1);
    assert.equal(root.numChildren, 1);
    assert.equal(h.db.tree.nodeCount, 4);
  });

  it('create fills every Stat field and updates the parent', () => {
    const h = new Harness();
    const result = h.create('/a');
    assert.equal(result.err, ErrorCode.Ok);
    const zxid = result.stat!.czxid;
    assert.deepEqual(result.stat, {
      czxid: zxid,
      mzxid: zxid,
      ctime: result.stat!.ctime,
      mtime: result.stat!.ctime,
      version: 0,
      cversion: 0,
      aversion: 0,
      ephemeralOwner: 0n,
      dataLength: 1,
      numChildren: 0,
      pzxid: zxid,
    });
    const root = h.stat('/');
    assert.equal(root.pzxid, zxid);
    assert.equal(root.numChildren, 2);
    assert.equal(root.cversion, 0, 'one create, two children: 2*1 − 2');
  });

  it('counts creates and deletes in the client-visible cversion', () => {
    const h = new Harness();
    h.create('/p');
    h.create('/p/a');
    h.create('/p/b');
    h.run({ type: OpCode.delete, req: { path: '/p/a', version: -1 } });
    const stat = h.stat('/p');
    assert.equal(stat.numChildren, 1);
    assert.equal(stat.cversion, 3);
  });

  it('names sequential nodes after the parent cversion, which never goes back', () => {
    const h = new Harness();
    h.create('/q');
    assert.equal(h.create('/q/n-', CreateMode.PERSISTENT_SEQUENTIAL).path, '/q/n-0000000000');
    h.run({ type: OpCode.delete, req: { path: '/q/n-0000000000', version: -1 } });
    assert.equal(h.create('/q/n-', CreateMode.PERSISTENT_SEQUENTIAL).path, '/q/n-0000000001');
    assert.equal(sequenceSuffix(-2147483648), '-2147483648');
    assert.equal(sequenceSuffix(-5), '-000000005');
  });

  it('sees changes still in flight when preparing', () => {
    const h = new Harness();
    const txns = [
      h.prepare(createReq('/f')),
      h.prepare(createReq('/f/g')),
      h.prepare(createReq('/f')),
      h.prepare({ type: OpCode.delete, req: { path: '/f', version: -1 } }),
      h.prepare({ type: OpCode.setData, req: { path: '/f/g', data: Buffer.from('x'), version: 0 } }),
      h.prepare({ type: OpCode.setData, req: { path: '/f/g', data: Buffer.from('y'), version: 0 } }),
    ];
    const zxids = txns.map((t) => t.zxid);
    assert.deepEqual(
      zxids,
      zxids.map((_, i) => zxids[0]! + i),
      'every request, failed or not, takes the next zxid',
    );
    const results = h.applyAll(txns);
    assert.deepEqual(
      results.map((r) => r.err),
      [ErrorCode.Ok, ErrorCode.Ok, ErrorCode.NodeExists, ErrorCode.NotEmpty, ErrorCode.Ok, ErrorCode.BadVersion],
    );
    assert.equal(textOf(h.db.tree.dataOf(h.db.tree.lookup('/f/g'))), 'x');
    assert.equal(h.db.lastZxid, txns.at(-1)!.zxid);
  });

  it('checks create in ZooKeeper order', () => {
    const h = new Harness();
    h.create('/eph', CreateMode.EPHEMERAL);
    const errors = [
      h.run({ type: OpCode.create, req: { path: '/x', data: null, acl: [...OPEN_ACL_UNSAFE], flags: 9 } }).err,
      h.run({ type: OpCode.create, req: { path: '/x', data: null, acl: [], flags: 0 } }).err,
      h.run(createReq('/missing/child')).err,
      h.run(createReq('/eph/child')).err,
      h.run(createReq('/bad/')).err,
      h.run(createReq('noslash')).err,
      h.run({ type: OpCode.create, req: { path: '/x', data: null, acl: [...OPEN_ACL_UNSAFE], flags: CreateMode.PERSISTENT_WITH_TTL } }).err,
      h.run({ type: OpCode.createTTL, req: { path: '/x', data: null, acl: [...OPEN_ACL_UNSAFE], flags: CreateMode.PERSISTENT_WITH_TTL, ttl: 0 } }).err,
    ];
    assert.deepEqual(errors, [
      ErrorCode.BadArguments,
      ErrorCode.InvalidACL,
      ErrorCode.NoNode,
      ErrorCode.NoChildrenForEphemerals,
      ErrorCode.NoNode,
      ErrorCode.BadArguments,
      ErrorCode.BadArguments,
      ErrorCode.BadArguments,
    ]);
  });

  it('refuses TTL nodes unless extended types are enabled', () => {
    const db = new ZkDatabase({ extendedTypesEnabled: false });
    const prep = new RequestPreparer(db, { extendedTypesEnabled: false, skipACL: false, reconfigEnabled: false });
    const txn = prep.prepare(
      SERVER_CONTEXT,
      { type: OpCode.createTTL, req: { path: '/t', data: null, acl: [...OPEN_ACL_UNSAFE], flags: CreateMode.PERSISTENT_WITH_TTL, ttl: 100 } },
      1,
    );
    assert.equal(db.apply(txn).err, ErrorCode.Unimplemented);
  });

  it('hides container and TTL markers from clients and indexes them for the reaper', () => {
    const h = new Harness();
    const container = h.run({ type: OpCode.createContainer, req: { path: '/c', data: null, acl: [...OPEN_ACL_UNSAFE], flags: CreateMode.CONTAINER } });
    const ttl = h.run({ type: OpCode.createTTL, req: { path: '/t', data: null, acl: [...OPEN_ACL_UNSAFE], flags: CreateMode.PERSISTENT_WITH_TTL, ttl: 5000 } });
    assert.equal(container.stat!.ephemeralOwner, 0n);
    assert.equal(ttl.stat!.ephemeralOwner, 0n);
    assert.deepEqual([...h.db.tree.containers], ['/c']);
    assert.deepEqual([...h.db.tree.ttls], ['/t']);
    const ephemeral = h.create('/e', CreateMode.EPHEMERAL);
    assert.equal(ephemeral.stat!.ephemeralOwner, SESSION);
  });

  it('applies a failed multi as nothing, with per-op results', () => {
    const h = new Harness();
    h.create('/m');
    const before = h.db.tree.nodeCount;
    const txn = h.prepare({
      type: OpCode.multi,
      ops: [
        { type: OpCode.create, req: { path: '/m/a', data: null, acl: [...OPEN_ACL_UNSAFE], flags: 0 } },
        { type: OpCode.check, req: { path: '/m', version: 7 } },
        { type: OpCode.delete, req: { path: '/m', version: -1 } },
      ],
    });
    const result = h.applyAll([txn])[0]!;
    assert.deepEqual(
      result.multi!.map((r) => [r.type, r.err]),
      [
        [OpCode.error, ErrorCode.Ok],
        [OpCode.error, ErrorCode.BadVersion],
        [OpCode.error, ErrorCode.RuntimeInconsistency],
      ],
    );
    assert.equal(h.db.tree.nodeCount, before);
    // The rolled-back create must not linger in the pending changes.
    assert.equal(h.run(createReq('/m/a')).err, ErrorCode.Ok);
  });

  it('applies a successful multi under one zxid', () => {
    const h = new Harness();
    const result = h.run({
      type: OpCode.multi,
      ops: [
        { type: OpCode.create, req: { path: '/n', data: null, acl: [...OPEN_ACL_UNSAFE], flags: 0 } },
        { type: OpCode.create, req: { path: '/n/c', data: null, acl: [...OPEN_ACL_UNSAFE], flags: CreateMode.CONTAINER } },
        { type: OpCode.setData, req: { path: '/n', data: Buffer.from('v'), version: 0 } },
        { type: OpCode.check, req: { path: '/n', version: 1 } },
      ],
    });
    assert.deepEqual(
      result.multi!.map((r) => [r.type, r.err]),
      [
        [OpCode.create, 0],
        [OpCode.createContainer, 0],
        [OpCode.setData, 0],
        [OpCode.check, 0],
      ],
    );
    assert.equal(h.stat('/n').czxid, h.stat('/n/c').czxid);
  });

  it('deletes a session’s ephemerals on close, including ones still in flight', () => {
    const h = new Harness();
    h.create('/s');
    h.create('/s/e1', CreateMode.EPHEMERAL);
    const pending = h.prepare(createReq('/s/e2', CreateMode.EPHEMERAL));
    const close = h.prepare({ type: OpCode.closeSession }, h.ctx(SESSION));
    assert.deepEqual([...(close.body.type === OpCode.closeSession ? close.body.closeSession.paths2Delete : [])].sort(), ['/s/e1', '/s/e2']);
    assert.equal(h.prep.isClosing(SESSION), true);
    h.applyAll([pending, close]);
    assert.deepEqual(h.db.tree.childrenOf(h.db.tree.lookup('/s')), []);
    assert.equal(h.db.sessions.has(SESSION), false);
    assert.equal(h.db.tree.ephemerals.has(SESSION), false);
    assert.equal(h.run(createReq('/late'), h.ctx(SESSION)).err, ErrorCode.SessionExpired);
  });

  it('enforces ACLs with digest, ip and super identities', () => {
    const h = new Harness();
    const bob = { scheme: 'digest', id: digestOf('bob:secret') };
    h.create('/acl', CreateMode.PERSISTENT, [
      { perms: Perms.READ | Perms.CREATE, id: bob },
      { perms: Perms.READ, id: { scheme: 'ip', id: '10.0.0.0/8' } },
    ]);
    const asBob = h.ctx(SESSION, [{ scheme: 'ip', id: '127.0.0.1' }, bob]);
    const fromTen = h.ctx(SESSION, [{ scheme: 'ip', id: '10.1.2.3' }]);
    assert.equal(h.run(createReq('/acl/x'), asBob).err, ErrorCode.Ok);
    assert.equal(h.run(createReq('/acl/y'), fromTen).err, ErrorCode.NoAuth);
    assert.equal(h.run({ type: OpCode.setData, req: { path: '/acl', data: null, version: -1 } }, asBob).err, ErrorCode.NoAuth);
    assert.equal(h.run({ type: OpCode.setData, req: { path: '/acl', data: null, version: -1 } }, SERVER_CONTEXT).err, ErrorCode.Ok);
    // The auth scheme expands to the caller's authenticated identities.
    const r = h.run({ type: OpCode.setACL, req: { path: '/acl/x', acl: [{ perms: Perms.ALL, id: { scheme: 'auth', id: '' } }], version: -1 } }, asBob);
    assert.equal(r.err, ErrorCode.Ok);
    assert.deepEqual(h.db.tree.aclOf(h.db.tree.lookup('/acl/x')), [{ perms: Perms.ALL, id: bob }]);
    assert.equal(h.stat('/acl/x').aversion, 1);
  });

  it('cannot delete the system nodes', () => {
    const h = new Harness();
    for (const path of ['/', '/zookeeper', '/zookeeper/quota', '/zookeeper/config']) {
      assert.equal(h.run({ type: OpCode.delete, req: { path, version: -1 } }).err, ErrorCode.BadArguments, path);
    }
  });

  it('fires watches as ZooKeeper does', () => {
    const h = new Harness();
    const tree = h.db.tree;
    const w = new RecordingWatcher();
    const recursive = new RecordingWatcher();
    h.create('/w');
    tree.addDataWatch('/w/c', w);
    tree.addChildWatch('/w', w);
    tree.addPersistentWatch('/w', recursive, true);
    h.create('/w/c');
    assert.deepEqual(w.events, [`${EventType.NodeCreated}:/w/c`, `${EventType.NodeChildrenChanged}:/w`]);
    tree.addDataWatch('/w/c', w);
    tree.addChildWatch('/w/c', w);
    h.run({ type: OpCode.delete, req: { path: '/w/c', version: -1 } });
    // One NodeDeleted for a watcher holding both a data and a child watch.
    assert.deepEqual(w.events.slice(2), [`${EventType.NodeDeleted}:/w/c`]);
    // Recursive watches see creates and deletes below, never NodeChildrenChanged.
    assert.deepEqual(recursive.events, [`${EventType.NodeCreated}:/w/c`, `${EventType.NodeDeleted}:/w/c`]);
  });

  it('keeps znode data null distinct from empty and tracks the data size', () => {
    const h = new Harness();
    h.run({ type: OpCode.create, req: { path: '/null', data: null, acl: [...OPEN_ACL_UNSAFE], flags: 0 } });
    h.run({ type: OpCode.create, req: { path: '/empty', data: Buffer.alloc(0), acl: [...OPEN_ACL_UNSAFE], flags: 0 } });
    assert.equal(h.db.tree.dataOf(h.db.tree.lookup('/null')), null);
    assert.equal(h.db.tree.dataOf(h.db.tree.lookup('/empty'))?.length, 0);
    const size = h.db.tree.approximateDataSize;
    h.run({ type: OpCode.setData, req: { path: '/null', data: Buffer.from([0, 255, 128]), version: -1 } });
    assert.equal(h.db.tree.approximateDataSize, size + 3);
    assert.deepEqual([...h.db.tree.dataOf(h.db.tree.lookup('/null'))!], [0, 255, 128]);
  });

  it('enforces hard quotas: a create by count, a setData by the change in bytes', () => {
    const h = new Harness({ enforceQuota: true });
    const put = (path: string, bytes: number): WriteRequest => ({ type: OpCode.create, req: { path, data: Buffer.alloc(bytes), acl: [...OPEN_ACL_UNSAFE], flags: 0 } });
    const set = (path: string, bytes: number): WriteRequest => ({ type: OpCode.setData, req: { path, data: Buffer.alloc(bytes), version: -1 } });
    const errorOf = (txn: Txn): number => (txn.body.type === OpCode.error ? txn.body.error.err : ErrorCode.Ok);
    h.run(createReq('/q'));
    h.run(createReq('/zookeeper/quota/q'));
    h.run({ type: OpCode.create, req: { path: '/zookeeper/quota/q/zookeeper_limits', data: Buffer.from('count=-1,bytes=-1=;byteHardLimit=10;countHardLimit=3'), acl: [...OPEN_ACL_UNSAFE], flags: 0 } });
    h.run(createReq('/zookeeper/quota/q/zookeeper_stats'));
    h.run(put('/q/a', 6));
    // 6 bytes become 10: the limit counts the change (+4), not the new data on top of the old.
    const grow = h.prepare(set('/q/a', 10));
    assert.equal(errorOf(grow), ErrorCode.Ok);
    h.applyAll([grow]);
    assert.equal(errorOf(h.prepare(set('/q/a', 11))), ErrorCode.QuotaExceeded);
    assert.equal(errorOf(h.prepare(set('/q/a', 3))), ErrorCode.Ok);
    h.run(createReq('/q/b'));
    assert.equal(errorOf(h.prepare(createReq('/q/c'))), ErrorCode.QuotaExceeded);
    // Outside the quota root nothing is limited.
    assert.equal(errorOf(h.prepare(put('/other', 100))), ErrorCode.Ok);
  });

  it('counts descendants and recounts a quota under a node with 200,000 children', () => {
    const h = new Harness();
    const txns = [h.prepare(createReq('/wide'))];
    for (let i = 0; i < 200_000; i++) txns.push(h.prepare(createReq(`/wide/n${i}`)));
    h.applyAll(txns);
    const tree = h.db.tree;
    assert.equal(tree.descendantCount(tree.lookup('/wide')), 200_000);
    assert.equal(tree.descendantCount(ROOT_NODE), 200_001 + 3);
    // Creating the stats node counts the subtree that is already there.
    h.run(createReq('/zookeeper/quota/wide'));
    h.run({ type: OpCode.create, req: { path: '/zookeeper/quota/wide/zookeeper_limits', data: Buffer.from('count=-1,bytes=-1'), acl: [...OPEN_ACL_UNSAFE], flags: 0 } });
    h.run(createReq('/zookeeper/quota/wide/zookeeper_stats'));
    assert.equal(textOf(tree.dataOf(tree.lookup('/zookeeper/quota/wide/zookeeper_stats'))), 'count=200001,bytes=0');
  });
});

describe('tree digest', () => {
  const paths = ['/a', '/a/b', '/a/b/c', '/d', '/zookeeper/quota/a/zookeeper_limits', '/zookeeper/quota/a/zookeeper_stats', '/zookeeper/quota/a'];
  const path = fc.constantFrom(...paths);
  const data = fc.option(fc.uint8Array({ maxLength: 12 }), { nil: null });
  const request: fc.Arbitrary<WriteRequest> = fc.oneof(
    fc.record({ path, data, flags: fc.constantFrom(CreateMode.PERSISTENT, CreateMode.EPHEMERAL, CreateMode.PERSISTENT_SEQUENTIAL) }).map(
      ({ path, data, flags }) => ({ type: OpCode.create, req: { path, data, acl: [...OPEN_ACL_UNSAFE], flags } }) as WriteRequest,
    ),
    fc.record({ path, data }).map(({ path, data }) => ({ type: OpCode.setData, req: { path, data, version: -1 } }) as WriteRequest),
    path.map((path) => ({ type: OpCode.delete, req: { path, version: -1 } }) as WriteRequest),
    path.map((path) => ({ type: OpCode.setACL, req: { path, acl: [...OPEN_ACL_UNSAFE], version: -1 } }) as WriteRequest),
  );

  it('kept incrementally, always equals the digest of a walk over the tree', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(request, fc.boolean()), { maxLength: 60 }), fc.nat(60), (ops, closeAt) => {
        const h = new Harness();
        ops.forEach(([op, bySession], i) => {
          if (i === closeAt) h.run({ type: OpCode.closeSession }, h.ctx(OTHER_SESSION));
          h.run(op, h.ctx(bySession ? SESSION : OTHER_SESSION));
          assert.equal(h.db.tree.digest, treeDigest(h.db.tree));
        });
      }),
      { numRuns: 300 },
    );
  });

  it('logs the digest at every 128th zxid, as hash prints it', () => {
    const h = new Harness();
    for (let i = 0; h.db.lastZxid < 300; i++) h.create(`/n${i}`);
    assert.deepEqual(
      h.db.tree.digestLog.map((entry) => entry.zxid),
      [128, 256],
    );
    h.create('/last');
    assert.equal(h.db.tree.digestLog.length, 2, 'only zxids divisible by 128 are logged');
  });
});
