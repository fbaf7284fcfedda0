/**
 * Property tests of the protocol codecs: every record schema, transactions,
 * multi requests/responses and request bodies round-trip exactly, and
 * malformed input (truncated or corrupted) either decodes or fails with a
 * JuteError — never another exception, a hang or a huge allocation.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { JuteError, JuteReader, JuteWriter, decodeFromBuffer, encodeToBuffer } from '../../src/jute/mod.js';
import { OpCode, opName } from '../../src/protocol/constants.js';
import {
  decodeMultiRequest,
  decodeMultiResponse,
  encodeMultiRequest,
  encodeMultiResponse,
  type MultiOpInput,
  type MultiResult,
} from '../../src/protocol/multi.js';
import * as records from '../../src/protocol/records.js';
import { decodeRequest, isKnownClientOpcode } from '../../src/protocol/requests.js';
import * as txns from '../../src/protocol/txn.js';
import {
  BIG_LONG,
  INT32,
  LONG_AS_NUMBER,
  MUTATIONS,
  assertDecodesOrJuteError,
  mutate,
  sampleOf,
  schemasIn,
  withIntAtEveryOffset,
  type AnyRecord,
  type Sample,
} from './jute-arbitraries.js';

/** Fixed seed so that a failure reproduces; run counts keep the file to a few seconds. */
const SEED = 7_340_033;
const runs = (numRuns: number) => ({ seed: SEED, numRuns });

/** Length prefixes and counts that must fail fast rather than allocate. */
const HOSTILE_LENGTHS = [0x7fffffff, -2, -0x80000000];

function encodedWith(write: (w: JuteWriter) => void): Buffer {
  const w = new JuteWriter(64);
  write(w);
  return w.take();
}

/** Decoding every strict prefix of `encoded` must fail with a JuteError. */
function assertEveryCutThrows(encoded: Buffer, decode: (input: Buffer) => unknown): void {
  for (let cut = 0; cut < encoded.length; cut++) {
    const prefix = encoded.subarray(0, cut);
    assert.throws(() => decode(prefix), JuteError, `cut at ${cut} of ${encoded.toString('hex')}`);
  }
}

/** Random corruptions, and a hostile length at every offset, may decode but only ever throw JuteError. */
function assertCorruptionIsContained(
  sample: fc.Arbitrary<Buffer>,
  decode: (input: Buffer) => unknown,
  numRuns: number,
): void {
  fc.assert(
    fc.property(sample, MUTATIONS, (encoded, mutations) => {
      const bad = mutate(encoded, mutations);
      assertDecodesOrJuteError(() => decode(bad), bad);
    }),
    runs(numRuns),
  );
  fc.assert(
    fc.property(sample, (encoded) => {
      for (const length of HOSTILE_LENGTHS) {
        for (const bad of withIntAtEveryOffset(encoded, length)) assertDecodesOrJuteError(() => decode(bad), bad);
      }
    }),
    runs(Math.ceil(numRuns / 4)),
  );
}

function withType(type: number, sample: Sample): Sample {
  return {
    input: { type, ...(sample.input as object) },
    decoded: { type, ...(sample.decoded as object) },
  };
}

function hex(text: string): Buffer {
  return Buffer.from(text.replace(/\s+/g, ''), 'hex');
}

// ---- every record schema ----

const RECORD_SCHEMAS = [...schemasIn(records), ...schemasIn(txns)];

describe('record schema list', () => {
  it('finds every schema records.ts and txn.ts export, each with a distinct name', () => {
    // Everything records.ts exports at run time is a schema; txn.ts also exports its two codec functions.
    assert.equal(schemasIn(records).length, Object.keys(records).length);
    const txnFunctions = Object.values(txns).filter((v) => typeof v === 'function');
    assert.equal(schemasIn(txns).length, Object.keys(txns).length - txnFunctions.length);
    const names = RECORD_SCHEMAS.map((s) => s.name);
    assert.equal(new Set(names).size, names.length);
  });
});

for (const schema of RECORD_SCHEMAS) {
  describe(`${schema.name} record`, () => {
    const encodedSample = sampleOf(schema).map((s) => encodeToBuffer(schema, s.input as object));
    const decode = (input: Buffer) => decodeFromBuffer(schema, input);

    it('round-trips random values exactly', () => {
      fc.assert(
        fc.property(sampleOf(schema), ({ input, decoded }) => {
          assert.deepEqual(decode(encodeToBuffer(schema, input as object)), decoded);
        }),
        runs(60),
      );
    });

    it('throws JuteError when cut short at any offset', () => {
      fc.assert(
        fc.property(encodedSample, (encoded) => assertEveryCutThrows(encoded, decode)),
        runs(15),
      );
    });

    it('decodes or throws JuteError when corrupted', () => {
      assertCorruptionIsContained(encodedSample, decode, 60);
    });
  });
}

// ---- transactions ----

/** Each txn type, the TxnBody key that holds its record, and the record's schema. */
const TXN_BODIES: [type: number, key: string, schema: AnyRecord][] = [
  [OpCode.create, 'create', txns.CreateTxn],
  [OpCode.create2, 'create', txns.CreateTxn],
  [OpCode.createContainer, 'createContainer', txns.CreateContainerTxn],
  [OpCode.createTTL, 'createTTL', txns.CreateTTLTxn],
  [OpCode.delete, 'delete', txns.DeleteTxn],
  [OpCode.deleteContainer, 'delete', txns.DeleteTxn],
  [OpCode.setData, 'setData', txns.SetDataTxn],
  [OpCode.setACL, 'setACL', txns.SetACLTxn],
  [OpCode.check, 'check', txns.CheckVersionTxn],
  [OpCode.error, 'error', txns.ErrorTxn],
  [OpCode.createSession, 'createSession', txns.CreateSessionTxn],
  [OpCode.closeSession, 'closeSession', txns.CloseSessionTxn],
];

function bodySample([type, key, schema]: (typeof TXN_BODIES)[number]): fc.Arbitrary<Sample> {
  return sampleOf(schema).map((s) => ({ input: { type, [key]: s.input }, decoded: { type, [key]: s.decoded } }));
}

const SIMPLE_BODY = fc.oneof(...TXN_BODIES.map(bodySample));
const MULTI_BODY = fc.array(SIMPLE_BODY, { maxLength: 4 }).map((ops) => ({
  input: { type: OpCode.multi, ops: ops.map((op) => op.input) },
  decoded: { type: OpCode.multi, ops: ops.map((op) => op.decoded) },
}));

function txnSample(body: fc.Arbitrary<Sample>): fc.Arbitrary<Sample> {
  return fc
    .record({ clientId: BIG_LONG, cxid: INT32, zxid: LONG_AS_NUMBER, time: LONG_AS_NUMBER, body })
    .map(({ body: b, ...header }) => ({ input: { ...header, body: b.input }, decoded: { ...header, body: b.decoded } }));
}

const ANY_TXN = txnSample(fc.oneof(SIMPLE_BODY, MULTI_BODY));

function encodeTxnBytes(txn: unknown): Buffer {
  return encodedWith((w) => txns.encodeTxn(w, txn as txns.Txn));
}

function decodeWholeTxn(input: Buffer): txns.Txn {
  const r = new JuteReader(input);
  const txn = txns.decodeTxn(r);
  r.expectEnd('txn');
  return txn;
}

describe('transactions', () => {
  for (const body of TXN_BODIES) {
    it(`round-trip a ${opName(body[0])} txn`, () => {
      fc.assert(
        fc.property(txnSample(bodySample(body)), ({ input, decoded }) => {
          assert.deepEqual(decodeWholeTxn(encodeTxnBytes(input)), decoded);
        }),
        runs(30),
      );
    });
  }

  it('round-trip a multi txn of any sub-txns', () => {
    fc.assert(
      fc.property(txnSample(MULTI_BODY), ({ input, decoded }) => {
        assert.deepEqual(decodeWholeTxn(encodeTxnBytes(input)), decoded);
      }),
      runs(100),
    );
  });

  it('throw JuteError when cut short at any offset', () => {
    fc.assert(
      fc.property(ANY_TXN, ({ input }) => assertEveryCutThrows(encodeTxnBytes(input), (b) => txns.decodeTxn(new JuteReader(b)))),
      runs(40),
    );
  });

  it('decode or throw JuteError when corrupted', () => {
    assertCorruptionIsContained(
      ANY_TXN.map(({ input }) => encodeTxnBytes(input)),
      (b) => txns.decodeTxn(new JuteReader(b)),
      300,
    );
  });

  it('reject an unknown txn type, a nested multi and a sub-txn with trailing bytes', () => {
    const header = { clientId: 1n, cxid: 2, zxid: 3, time: 4 };
    const unknown = encodedWith((w) => txns.TxnHeader.encode(w, { ...header, type: 99 }));
    assert.throws(() => txns.decodeTxn(new JuteReader(unknown)), /unknown txn type 99/);

    const nested = encodeTxnBytes({ ...header, body: { type: OpCode.multi, ops: [{ type: OpCode.multi, ops: [] }] } });
    assert.throws(() => txns.decodeTxn(new JuteReader(nested)), /cannot nest/);

    // A MultiTxn whose one delete sub-txn carries a stray byte after its path.
    const deleteBody = Buffer.concat([encodeToBuffer(txns.DeleteTxn, { path: '/a' }), Buffer.from([0])]);
    const withTrailing = encodedWith((w) => {
      txns.TxnHeader.encode(w, { ...header, type: OpCode.multi });
      w.writeInt(1);
      w.writeInt(OpCode.delete);
      w.writeBuffer(deleteBody);
    });
    assert.throws(() => txns.decodeTxn(new JuteReader(withTrailing)), JuteError);
  });
});

// ---- multi ----

const WRITE_OPS: [number, AnyRecord][] = [
  [OpCode.create, records.CreateRequest],
  [OpCode.create2, records.CreateRequest],
  [OpCode.createContainer, records.CreateRequest],
  [OpCode.createTTL, records.CreateTTLRequest],
  [OpCode.delete, records.DeleteRequest],
  [OpCode.setData, records.SetDataRequest],
  [OpCode.check, records.CheckVersionRequest],
];
const READ_OPS: [number, AnyRecord][] = [
  [OpCode.getChildren, records.PathWatchRequest],
  [OpCode.getData, records.PathWatchRequest],
];

function opSample([type, schema]: [number, AnyRecord]): fc.Arbitrary<Sample> {
  return sampleOf(schema).map((s) => ({ input: { type, req: s.input }, decoded: { type, req: s.decoded } }));
}

const WRITE_OP = fc.oneof(...WRITE_OPS.map(opSample));
const READ_OP = fc.oneof(...READ_OPS.map(opSample));

function multiSample(op: fc.Arbitrary<Sample>, minLength = 0): fc.Arbitrary<Sample> {
  return fc.array(op, { minLength, maxLength: 5 }).map((ops) => ({
    input: ops.map((o) => o.input),
    decoded: ops.map((o) => o.decoded),
  }));
}

const MULTI_REQUEST = fc.oneof(multiSample(WRITE_OP), multiSample(READ_OP));

function encodeMultiRequestBytes(ops: unknown): Buffer {
  return encodedWith((w) => encodeMultiRequest(w, ops as MultiOpInput[]));
}

function decodeWhole<T>(decode: (r: JuteReader) => T, input: Buffer): T {
  const r = new JuteReader(input);
  const value = decode(r);
  r.expectEnd('multi');
  return value;
}

const RESULT: fc.Arbitrary<Sample> = fc.oneof(
  sampleOf(records.CreateResponse).map((s) => withType(OpCode.create, s)),
  sampleOf(records.Create2Response).map((s) => withType(OpCode.create2, s)),
  fc.constantFrom(OpCode.delete, OpCode.check).map((type) => ({ input: { type }, decoded: { type } })),
  sampleOf(records.StatResponse).map((s) => withType(OpCode.setData, s)),
  sampleOf(records.GetDataResponse).map((s) => withType(OpCode.getData, s)),
  sampleOf(records.GetChildrenResponse).map((s) => withType(OpCode.getChildren, s)),
  sampleOf(records.ErrorResponse).map((s) => withType(OpCode.error, s)),
);
const MULTI_RESPONSE = fc.array(RESULT, { maxLength: 6 }).map((results) => ({
  input: results.map((r) => r.input),
  decoded: results.map((r) => r.decoded),
}));

function encodeMultiResponseBytes(results: unknown): Buffer {
  return encodedWith((w) => encodeMultiResponse(w, results as MultiResult[]));
}

/**
 * Bytes from ZooKeeper 3.8.0's MultiOperationRecord.serialize for
 * [create("/a", [1], OPEN_ACL_UNSAFE, EPHEMERAL), delete("/b", -1), check("/c", 7)].
 */
const JAVA_MULTI_REQUEST = hex(`
  00000001 00 ffffffff  0000 0002 2f61  00000001 01  00000001 0000001f 00000005 776f726c64 00000006 616e796f6e65  00000001
  00000002 00 ffffffff  00000002 2f62  ffffffff
  0000000d 00 ffffffff  00000002 2f63  00000007
  ffffffff 01 ffffffff`);
const JAVA_MULTI_OPS = [
  {
    type: OpCode.create,
    req: {
      path: '/a',
      data: Buffer.from([1]),
      acl: [{ perms: 31, id: { scheme: 'world', id: 'anyone' } }],
      flags: 1,
    },
  },
  { type: OpCode.delete, req: { path: '/b', version: -1 } },
  { type: OpCode.check, req: { path: '/c', version: 7 } },
] as const;

/** Bytes from ZooKeeper 3.8.0's MultiResponse.serialize for [CreateResult("/a"), DeleteResult, ErrorResult(-101)]. */
const JAVA_MULTI_RESPONSE = hex(`
  00000001 00 00000000  00000002 2f61
  00000002 00 00000000
  ffffffff 00 ffffff9b  ffffff9b
  ffffffff 01 ffffffff`);
const JAVA_MULTI_RESULTS = [
  { type: OpCode.create, path: '/a' },
  { type: OpCode.delete },
  { type: OpCode.error, err: -101 },
] as const;

describe('multi requests', () => {
  it('round-trip any all-write or all-read op list', () => {
    fc.assert(
      fc.property(MULTI_REQUEST, ({ input, decoded }) => {
        assert.deepEqual(decodeWhole(decodeMultiRequest, encodeMultiRequestBytes(input)), decoded);
      }),
      runs(200),
    );
  });

  it('encode and decode exactly as ZooKeeper’s MultiOperationRecord', () => {
    assert.deepEqual(encodeMultiRequestBytes(JAVA_MULTI_OPS), JAVA_MULTI_REQUEST);
    assert.deepEqual(decodeWhole(decodeMultiRequest, JAVA_MULTI_REQUEST), JAVA_MULTI_OPS);
  });

  it('decode an empty multi (just the end marker) as no ops', () => {
    assert.deepEqual(decodeWhole(decodeMultiRequest, encodeMultiRequestBytes([])), []);
  });

  it('reject any list that mixes reads and writes', () => {
    const mixed = fc
      .tuple(fc.array(WRITE_OP, { minLength: 1, maxLength: 3 }), fc.array(READ_OP, { minLength: 1, maxLength: 3 }))
      .chain(([writes, reads]) => fc.shuffledSubarray([...writes, ...reads], { minLength: writes.length + reads.length }));
    fc.assert(
      fc.property(mixed, (ops) => {
        const encoded = encodeMultiRequestBytes(ops.map((op) => op.input));
        assert.throws(() => decodeMultiRequest(new JuteReader(encoded)), /Mixing different kind of ops/);
      }),
      runs(100),
    );
  });

  it('reject an op type that may not appear in a multi', () => {
    for (const type of [OpCode.exists, OpCode.getACL, OpCode.multi, OpCode.sync, OpCode.error, 0, 99]) {
      const encoded = encodedWith((w) => {
        records.MultiHeader.encode(w, { type, done: false, err: -1 });
        records.PathRequest.encode(w, { path: '/a' });
        records.MultiHeader.encode(w, { type: -1, done: true, err: -1 });
      });
      assert.throws(() => decodeMultiRequest(new JuteReader(encoded)), /Invalid type of op/, `op type ${type}`);
    }
  });

  it('throw JuteError when cut short at any offset', () => {
    fc.assert(
      fc.property(MULTI_REQUEST, ({ input }) =>
        assertEveryCutThrows(encodeMultiRequestBytes(input), (b) => decodeMultiRequest(new JuteReader(b))),
      ),
      runs(40),
    );
  });

  it('decode or throw JuteError when corrupted', () => {
    assertCorruptionIsContained(
      MULTI_REQUEST.map(({ input }) => encodeMultiRequestBytes(input)),
      (b) => decodeMultiRequest(new JuteReader(b)),
      300,
    );
  });
});

describe('multi responses', () => {
  it('round-trip any result list', () => {
    fc.assert(
      fc.property(MULTI_RESPONSE, ({ input, decoded }) => {
        assert.deepEqual(decodeWhole(decodeMultiResponse, encodeMultiResponseBytes(input)), decoded);
      }),
      runs(200),
    );
  });

  it('encode and decode exactly as ZooKeeper’s MultiResponse, with the error code in the header', () => {
    assert.deepEqual(encodeMultiResponseBytes(JAVA_MULTI_RESULTS), JAVA_MULTI_RESPONSE);
    assert.deepEqual(decodeWhole(decodeMultiResponse, JAVA_MULTI_RESPONSE), JAVA_MULTI_RESULTS);
  });

  it('reject a result type that has no response body defined', () => {
    const encoded = encodedWith((w) => records.MultiHeader.encode(w, { type: OpCode.exists, done: false, err: 0 }));
    assert.throws(() => decodeMultiResponse(new JuteReader(encoded)), /Invalid type 3 in MultiResponse/);
  });

  it('throw JuteError when cut short at any offset', () => {
    fc.assert(
      fc.property(MULTI_RESPONSE, ({ input }) =>
        assertEveryCutThrows(encodeMultiResponseBytes(input), (b) => decodeMultiResponse(new JuteReader(b))),
      ),
      runs(40),
    );
  });

  it('decode or throw JuteError when corrupted', () => {
    assertCorruptionIsContained(
      MULTI_RESPONSE.map(({ input }) => encodeMultiResponseBytes(input)),
      (b) => decodeMultiResponse(new JuteReader(b)),
      300,
    );
  });
});

// ---- request bodies by opcode ----

interface RequestSample {
  body: Buffer;
  expected: unknown;
}

function schemaRequest(type: number, schema: AnyRecord): fc.Arbitrary<RequestSample> {
  return sampleOf(schema).map((s) => ({ body: encodeToBuffer(schema, s.input as object), expected: { type, req: s.decoded } }));
}

function multiRequest(type: number, op: fc.Arbitrary<Sample>): fc.Arbitrary<RequestSample> {
  return multiSample(op).map((s) => ({ body: encodeMultiRequestBytes(s.input), expected: { type, ops: s.decoded } }));
}

const NO_BODY = (type: number) => fc.constant<RequestSample>({ body: Buffer.alloc(0), expected: { type } });

/** A valid body for every opcode decodeRequest knows, and what it must decode to. */
const REQUESTS = new Map<number, fc.Arbitrary<RequestSample>>([
  [OpCode.create, schemaRequest(OpCode.create, records.CreateRequest)],
  [OpCode.create2, schemaRequest(OpCode.create2, records.CreateRequest)],
  [OpCode.createContainer, schemaRequest(OpCode.createContainer, records.CreateRequest)],
  [OpCode.createTTL, schemaRequest(OpCode.createTTL, records.CreateTTLRequest)],
  [OpCode.delete, schemaRequest(OpCode.delete, records.DeleteRequest)],
  [OpCode.deleteContainer, schemaRequest(OpCode.deleteContainer, records.PathRequest)],
  [OpCode.setData, schemaRequest(OpCode.setData, records.SetDataRequest)],
  [OpCode.setACL, schemaRequest(OpCode.setACL, records.SetACLRequest)],
  [OpCode.reconfig, schemaRequest(OpCode.reconfig, records.ReconfigRequest)],
  [OpCode.multi, multiRequest(OpCode.multi, WRITE_OP)],
  [OpCode.multiRead, multiRequest(OpCode.multiRead, READ_OP)],
  [OpCode.exists, schemaRequest(OpCode.exists, records.PathWatchRequest)],
  [OpCode.getData, schemaRequest(OpCode.getData, records.PathWatchRequest)],
  [OpCode.getChildren, schemaRequest(OpCode.getChildren, records.PathWatchRequest)],
  [OpCode.getChildren2, schemaRequest(OpCode.getChildren2, records.PathWatchRequest)],
  [OpCode.getACL, schemaRequest(OpCode.getACL, records.PathRequest)],
  [OpCode.sync, schemaRequest(OpCode.sync, records.PathRequest)],
  [OpCode.getAllChildrenNumber, schemaRequest(OpCode.getAllChildrenNumber, records.PathRequest)],
  [OpCode.checkWatches, schemaRequest(OpCode.checkWatches, records.WatchesRequest)],
  [OpCode.removeWatches, schemaRequest(OpCode.removeWatches, records.WatchesRequest)],
  [
    OpCode.setWatches,
    // The old form decodes into the new one with no persistent watches.
    sampleOf(records.SetWatches).map((s) => ({
      body: encodeToBuffer(records.SetWatches, s.input as never),
      expected: {
        type: OpCode.setWatches,
        req: { ...(s.decoded as object), persistentWatches: [], persistentRecursiveWatches: [] },
      },
    })),
  ],
  [OpCode.setWatches2, schemaRequest(OpCode.setWatches2, records.SetWatches2)],
  [OpCode.getEphemerals, schemaRequest(OpCode.getEphemerals, records.GetEphemeralsRequest)],
  [OpCode.addWatch, schemaRequest(OpCode.addWatch, records.AddWatchRequest)],
  [OpCode.auth, schemaRequest(OpCode.auth, records.AuthPacket)],
  [OpCode.sasl, schemaRequest(OpCode.sasl, records.SaslToken)],
  [OpCode.closeSession, NO_BODY(OpCode.closeSession)],
  [OpCode.ping, NO_BODY(OpCode.ping)],
  [OpCode.whoAmI, NO_BODY(OpCode.whoAmI)],
]);

describe('decodeRequest', () => {
  it('covers every opcode a client may send', () => {
    for (const type of Object.values(OpCode)) {
      if (isKnownClientOpcode(type)) assert.ok(REQUESTS.has(type), `${opName(type)} has a request sample`);
    }
  });

  for (const [type, request] of REQUESTS) {
    describe(`${opName(type)} (${type})`, () => {
      it('decodes a valid body, consuming all of it', () => {
        fc.assert(
          fc.property(request, ({ body, expected }) => {
            const r = new JuteReader(body);
            assert.deepEqual(decodeRequest(type, r), expected);
            assert.equal(r.remaining, 0);
          }),
          runs(40),
        );
      });

      it('throws JuteError on a body cut short at any offset', () => {
        fc.assert(
          fc.property(request, ({ body }) => assertEveryCutThrows(body, (b) => decodeRequest(type, new JuteReader(b)))),
          runs(15),
        );
      });

      it('decodes or throws JuteError on corrupted or random bodies', () => {
        assertCorruptionIsContained(
          request.map(({ body }) => body),
          (b) => decodeRequest(type, new JuteReader(b)),
          60,
        );
        fc.assert(
          fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
            const input = Buffer.from(bytes);
            assertDecodesOrJuteError(() => decodeRequest(type, new JuteReader(input)), input);
          }),
          runs(100),
        );
      });
    });
  }

  it('rejects unknown opcodes, a top-level check and server-only types with JuteError', () => {
    const unknown = fc.oneof(
      fc.constantFrom(OpCode.notification, OpCode.check, OpCode.createSession, OpCode.error, 10, 23, 99, 108),
      INT32,
    );
    fc.assert(
      fc.property(
        unknown.filter((type) => !REQUESTS.has(type)),
        (type) => {
          assert.throws(() => decodeRequest(type, new JuteReader(Buffer.alloc(16))), /unknown opcode/);
        },
      ),
      runs(200),
    );
  });
});
