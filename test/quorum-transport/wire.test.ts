import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { JuteError } from '../../src/jute/mod.js';
import { PeerState, type QuorumMessage } from '../../src/quorum/messages.js';
import {
  PROTOCOL_VERSION,
  decodeFrame,
  encodeFrame,
  snapshotChunkPrefix,
  type TransportFrame,
  type WireFrame,
} from '../../src/quorum/wire.js';

/** Fixed seed: a failure reproduces on every run. */
const FC = { seed: 31_415, numRuns: 300 } as const;

const LONG = fc.maxSafeInteger();
/** Decoded byte fields are Buffers; generating Buffers lets deepStrictEqual compare them. */
const BYTES = fc.uint8Array({ maxLength: 64 }).map((b) => Buffer.from(b));

/** Records with an ordinary prototype, as decoded frames have (fast-check's default is a null prototype). */
function record<T>(model: { [K in keyof T]: fc.Arbitrary<T[K]> }): fc.Arbitrary<T> {
  return fc.record(model, { noNullPrototype: true });
}

/** One generator per message type; the Record type makes a missing variant a compile error. */
const MESSAGES: { [T in QuorumMessage['type']]: fc.Arbitrary<Extract<QuorumMessage, { type: T }>> } = {
  notification: record({
    type: fc.constant('notification'),
    state: fc.constantFrom(...Object.values(PeerState)),
    vote: record({ leader: LONG, zxid: LONG, peerEpoch: LONG }),
    electionEpoch: LONG,
  }),
  learnerInfo: record({ type: fc.constant('learnerInfo'), acceptedEpoch: LONG, observer: fc.boolean() }),
  ackEpoch: record({ type: fc.constant('ackEpoch'), currentEpoch: LONG, lastZxid: LONG }),
  ack: record({ type: fc.constant('ack'), zxid: LONG }),
  request: record({ type: fc.constant('request'), payload: BYTES }),
  syncRequest: record({ type: fc.constant('syncRequest'), id: LONG }),
  pong: record({ type: fc.constant('pong'), round: LONG }),
  leaderInfo: record({ type: fc.constant('leaderInfo'), epoch: LONG }),
  diff: record({ type: fc.constant('diff'), zxid: LONG }),
  trunc: record({ type: fc.constant('trunc'), zxid: LONG }),
  snap: record({ type: fc.constant('snap'), zxid: LONG, snapshot: BYTES }),
  proposal: record({ type: fc.constant('proposal'), zxid: LONG, txn: BYTES }),
  commit: record({ type: fc.constant('commit'), zxid: LONG }),
  inform: record({ type: fc.constant('inform'), zxid: LONG, txn: BYTES }),
  newLeader: record({ type: fc.constant('newLeader'), zxid: LONG }),
  upToDate: record({ type: fc.constant('upToDate'), zxid: LONG }),
  ping: record({ type: fc.constant('ping'), round: LONG }),
  syncReply: record({ type: fc.constant('syncReply'), id: LONG, zxid: LONG }),
};

const TRANSPORT_FRAMES: { [T in TransportFrame['type']]: fc.Arbitrary<Extract<TransportFrame, { type: T }>> } = {
  hello: record({
    type: fc.constant('hello'),
    version: fc.integer({ min: -0x80000000, max: 0x7fffffff }),
    serverId: LONG,
    channel: fc.constantFrom('election', 'quorum'),
    incarnation: LONG,
    linkId: LONG,
  }),
  snapshotBegin: record({ type: fc.constant('snapshotBegin'), zxid: LONG }),
  snapshotChunk: record({ type: fc.constant('snapshotChunk'), bytes: BYTES }),
  snapshotEnd: record({ type: fc.constant('snapshotEnd'), totalBytes: LONG }),
};

const ANY_FRAME: fc.Arbitrary<WireFrame> = fc.oneof(
  ...Object.values<fc.Arbitrary<WireFrame>>(MESSAGES),
  ...Object.values<fc.Arbitrary<WireFrame>>(TRANSPORT_FRAMES),
);

/** A frame's body: what follows the 4-byte length prefix. */
function bodyOf(frame: WireFrame): Buffer {
  const bytes = encodeFrame(frame);
  assert.equal(bytes.readInt32BE(0), bytes.length - 4, 'the length prefix counts the body');
  return bytes.subarray(4);
}

/** Runs decodeFrame; anything thrown must be a JuteError. */
function decodeOrJuteError(body: Buffer): WireFrame | JuteError {
  try {
    return decodeFrame(body);
  } catch (e) {
    assert.ok(e instanceof JuteError, `expected a JuteError, got ${String(e)}`);
    return e;
  }
}

function int(value: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeInt32BE(value);
  return b;
}

function long(value: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigInt64BE(BigInt(value));
  return b;
}

describe('quorum wire format', () => {
  for (const [type, arbitrary] of Object.entries<fc.Arbitrary<WireFrame>>({ ...MESSAGES, ...TRANSPORT_FRAMES })) {
    it(`round-trips every ${type}`, () => {
      fc.assert(
        fc.property(arbitrary, (frame) => {
          assert.deepStrictEqual(decodeFrame(bodyOf(frame)), frame);
        }),
        FC,
      );
    });
  }

  it('decodes byte fields as views of the frame, not copies', () => {
    const body = bodyOf({ type: 'proposal', zxid: 7, txn: Buffer.from('txn bytes') });
    const decoded = decodeFrame(body);
    assert.ok(decoded.type === 'proposal');
    assert.equal(decoded.txn.buffer, body.buffer);
  });

  it('lays out a frame as length, tag, then the record', () => {
    const bytes = encodeFrame({ type: 'ack', zxid: 0x1_0000_0002 });
    assert.deepEqual(bytes, Buffer.concat([int(12), int(4), long(0x1_0000_0002)]));
    const hello = encodeFrame({
      type: 'hello',
      version: PROTOCOL_VERSION,
      serverId: 3,
      channel: 'quorum',
      incarnation: 9,
      linkId: 0,
    });
    const fields = [int(PROTOCOL_VERSION), long(3), int(2), long(9), long(0)];
    assert.deepEqual(hello, Buffer.concat([int(36), int(64), ...fields]));
  });

  it('frames a snapshot chunk identically whether its bytes are copied or written after a prefix', () => {
    fc.assert(
      fc.property(BYTES, (bytes) => {
        const copied = encodeFrame({ type: 'snapshotChunk', bytes });
        assert.deepEqual(Buffer.concat([snapshotChunkPrefix(bytes.length), bytes]), copied);
      }),
      FC,
    );
  });

  it('rejects every strict prefix of a frame with a JuteError', () => {
    const frameAndCut = ANY_FRAME.chain((frame) => {
      const body = bodyOf(frame);
      return fc.tuple(fc.constant(body), fc.integer({ min: 0, max: body.length - 1 }));
    });
    fc.assert(
      fc.property(frameAndCut, ([body, cut]) => {
        assert.throws(() => decodeFrame(body.subarray(0, cut)), JuteError);
      }),
      FC,
    );
  });

  it('rejects trailing bytes with a JuteError', () => {
    fc.assert(
      fc.property(ANY_FRAME, fc.uint8Array({ minLength: 1, maxLength: 16 }), (frame, extra) => {
        assert.throws(() => decodeFrame(Buffer.concat([bodyOf(frame), extra])), JuteError);
      }),
      FC,
    );
  });

  it('turns random corruption into a JuteError or some well-formed frame, never another exception', () => {
    const corrupted = ANY_FRAME.chain((frame) => {
      const body = bodyOf(frame);
      const edit = fc.tuple(fc.nat({ max: body.length - 1 }), fc.integer({ min: 0, max: 255 }));
      return fc.tuple(fc.constant(body), fc.array(edit, { minLength: 1, maxLength: 6 }));
    });
    fc.assert(
      fc.property(corrupted, ([original, edits]) => {
        const body = Buffer.from(original);
        for (const [at, value] of edits) body[at] = value;
        const result = decodeOrJuteError(body);
        if (!(result instanceof JuteError)) assert.equal(typeof result.type, 'string');
      }),
      { ...FC, numRuns: 2000 },
    );
  });

  it('rejects random bytes with a JuteError unless they happen to form a frame', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 80 }), (bytes) => {
        decodeOrJuteError(Buffer.from(bytes));
      }),
      { ...FC, numRuns: 2000 },
    );
  });

  it('names what is wrong: unknown tag, null bytes, unknown state or channel', () => {
    const cases: [Buffer, RegExp][] = [
      [int(999), /unknown frame tag 999/],
      [Buffer.concat([int(12), long(5), int(-1)]), /null proposal txn/],
      [Buffer.concat([int(5), int(-1)]), /null request payload/],
      [Buffer.concat([int(1), int(7), long(1), long(2), long(3), long(4)]), /unknown peer state 7/],
      [Buffer.concat([int(64), int(1), long(2), int(3), long(0), long(0)]), /unknown channel kind 3/],
      [Buffer.concat([int(66), int(100), Buffer.alloc(10)]), /exceeds/],
    ];
    for (const [body, message] of cases) assert.throws(() => decodeFrame(body), message);
  });
});
