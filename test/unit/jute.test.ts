import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  JuteError,
  JuteReader,
  JuteWriter,
  decodeFromBuffer,
  decodeJavaUtf8,
  encodeToBuffer,
  record,
  vector,
} from '../../src/jute/mod.js';
import { ACL, Stat } from '../../src/protocol/records.js';
import { BIG_LONG, INT32, LONG_AS_NUMBER, USTRING, sampleOf } from './jute-arbitraries.js';

/** Fixed seed: a failure reproduces on every run. */
const FC = { seed: 20240601, numRuns: 200 } as const;

function written(write: (w: JuteWriter) => void, capacity?: number): Buffer {
  const w = new JuteWriter(capacity);
  write(w);
  return w.take();
}

function hex(text: string): Buffer {
  return Buffer.from(text.replace(/\s+/g, ''), 'hex');
}

/** A jute buffer/string: int length, then the bytes. */
function lengthPrefixed(bytes: Buffer): Buffer {
  const prefix = Buffer.alloc(4);
  prefix.writeInt32BE(bytes.length);
  return Buffer.concat([prefix, bytes]);
}

/**
 * Encodes like ZooKeeper 3.8's jute writer: each UTF-16 code unit on its own,
 * so a surrogate pair becomes two 3-byte sequences (CESU-8), and U+0000 is a
 * plain 0x00 byte.
 */
function javaUtf8(text: string): Buffer {
  const bytes: number[] = [];
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) bytes.push(c);
    else if (c < 0x800) bytes.push(0xc0 | (c >> 6), 0x80 | (c & 0x3f));
    else bytes.push(0xe0 | (c >> 12), 0x80 | ((c >> 6) & 0x3f), 0x80 | (c & 0x3f));
  }
  return Buffer.from(bytes);
}

/** What org.apache.jute.BinaryOutputArchive 3.8.0 writes for writeString("a😀bé€\0"). */
const JAVA_STRING_BYTES = hex('0000000e 61 eda0bd edb880 62 c3a9 e282ac 00');
const JAVA_STRING = 'a\u{1F600}b\u00e9\u20ac\u0000';

describe('jute ints', () => {
  it('round-trip the 32-bit extremes with big-endian two’s-complement bytes', () => {
    const cases: [number, string][] = [
      [0, '00000000'],
      [1, '00000001'],
      [-1, 'ffffffff'],
      [0x7fffffff, '7fffffff'],
      [-0x80000000, '80000000'],
      [0x01020304, '01020304'],
    ];
    for (const [value, bytes] of cases) {
      const out = written((w) => w.writeInt(value));
      assert.equal(out.toString('hex'), bytes);
      assert.equal(new JuteReader(out).readInt(), value);
    }
  });

  it('round-trip any int32', () => {
    fc.assert(
      fc.property(INT32, (value) => {
        assert.equal(new JuteReader(written((w) => w.writeInt(value))).readInt(), value);
      }),
      FC,
    );
  });
});

describe('jute longs as numbers', () => {
  it('encode exactly as a 64-bit two’s-complement integer and decode back', () => {
    fc.assert(
      fc.property(LONG_AS_NUMBER, (value) => {
        const out = written((w) => w.writeLong(value));
        const reference = Buffer.alloc(8);
        reference.writeBigInt64BE(BigInt(value));
        assert.deepEqual(out, reference);
        assert.equal(new JuteReader(out).readLong(), value);
      }),
      FC,
    );
  });

  it('handle negatives, the low/high word boundary and values near ±2^53', () => {
    const edges = [
      0,
      -1,
      2 ** 31 - 1,
      -(2 ** 31),
      2 ** 32 - 1,
      2 ** 32,
      -(2 ** 32),
      -(2 ** 32) + 1,
      -(2 ** 32) - 1,
      Number.MAX_SAFE_INTEGER,
      Number.MIN_SAFE_INTEGER,
      2 ** 53,
      -(2 ** 53),
      2 ** 53 + 2,
      -(2 ** 53) - 2,
      -(2 ** 63),
    ];
    for (const value of edges) {
      assert.equal(new JuteReader(written((w) => w.writeLong(value))).readLong(), value, `long ${value}`);
    }
    assert.equal(written((w) => w.writeLong(-1)).toString('hex'), 'ffffffffffffffff');
    assert.equal(written((w) => w.writeLong(Number.MAX_SAFE_INTEGER)).toString('hex'), '001fffffffffffff');
  });

  it('read the 64-bit bit patterns 0x8000000000000000 and 0xffffffffffffffff as −2^63 and −1', () => {
    assert.equal(new JuteReader(hex('8000000000000000')).readLong(), -(2 ** 63));
    assert.equal(new JuteReader(hex('ffffffffffffffff')).readLong(), -1);
  });
});

describe('jute longs as bigints', () => {
  it('round-trip the extremes and the bit patterns session ids and owners use', () => {
    const cases: [bigint, string][] = [
      [0n, '0000000000000000'],
      [-1n, 'ffffffffffffffff'],
      [BigInt.asIntN(64, 0x8000000000000000n), '8000000000000000'],
      [(1n << 63n) - 1n, '7fffffffffffffff'],
      // A TTL node's owner: high byte 0xff, two zero bytes, then the TTL (1000 ms) in the low 40 bits.
      [BigInt.asIntN(64, 0xff000000000003e8n), 'ff000000000003e8'],
    ];
    for (const [value, bytes] of cases) {
      const out = written((w) => w.writeBigLong(value));
      assert.equal(out.toString('hex'), bytes);
      assert.equal(new JuteReader(out).readBigLong(), value);
    }
  });

  it('round-trip any signed 64-bit value', () => {
    fc.assert(
      fc.property(BIG_LONG, (value) => {
        assert.equal(new JuteReader(written((w) => w.writeBigLong(value))).readBigLong(), value);
      }),
      FC,
    );
  });
});

describe('jute booleans', () => {
  it('write one byte and read any non-zero byte as true, like Java’s readBoolean', () => {
    assert.equal(written((w) => w.writeBool(true)).toString('hex'), '01');
    assert.equal(written((w) => w.writeBool(false)).toString('hex'), '00');
    const r = new JuteReader(hex('00 01 02 ff'));
    assert.deepEqual([r.readBool(), r.readBool(), r.readBool(), r.readBool()], [false, true, true, true]);
  });
});

describe('jute buffers', () => {
  it('keep null (length −1) and empty (length 0) apart', () => {
    const nullOut = written((w) => w.writeBuffer(null));
    const emptyOut = written((w) => w.writeBuffer(new Uint8Array(0)));
    assert.equal(nullOut.toString('hex'), 'ffffffff');
    assert.equal(emptyOut.toString('hex'), '00000000');
    assert.equal(new JuteReader(nullOut).readBuffer(), null);
    assert.deepEqual(new JuteReader(emptyOut).readBuffer(), Buffer.alloc(0));
  });

  it('round-trip arbitrary bytes, from a Buffer or a plain Uint8Array', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        const fromArray = written((w) => w.writeBuffer(bytes));
        assert.deepEqual(fromArray, written((w) => w.writeBuffer(Buffer.from(bytes))));
        assert.deepEqual(new JuteReader(fromArray).readBuffer(), Buffer.from(bytes));
      }),
      FC,
    );
  });

  it('decode as zero-copy views of the input', () => {
    const input = hex('00000002 aabb');
    const view = new JuteReader(input).readBuffer()!;
    input[4] = 0x11;
    assert.equal(view[0], 0x11);
  });
});

describe('jute ustrings', () => {
  it('round-trip empty, ASCII, non-ASCII, astral and NUL-containing strings', () => {
    for (const text of ['', 'zookeeper', '/ünïcødé/路径', '\u{1F600}\u{10FFFF}', 'a\u0000b', '\uFFFD', '\u07ff\u0800']) {
      const out = written((w) => w.writeString(text));
      assert.deepEqual(out, lengthPrefixed(Buffer.from(text, 'utf8')), `bytes of ${JSON.stringify(text)}`);
      assert.equal(new JuteReader(out).readString(), text);
    }
  });

  it('round-trip any well-formed string, with the UTF-8 byte length as prefix', () => {
    fc.assert(
      fc.property(USTRING, (text) => {
        const out = written((w) => w.writeString(text));
        assert.equal(out.readInt32BE(0), Buffer.byteLength(text, 'utf8'));
        assert.equal(new JuteReader(out).readString(), text);
      }),
      FC,
    );
  });

  it('write null as length −1, and read both −1 and 0 as the empty string', () => {
    assert.equal(written((w) => w.writeString(null)).toString('hex'), 'ffffffff');
    const r = new JuteReader(hex('ffffffff 00000000'));
    assert.equal(r.readString(), '');
    assert.equal(r.readString(), '');
    assert.equal(r.remaining, 0);
  });

  it('decode what Java’s jute writer sends, CESU-8 surrogate pairs included', () => {
    // The oracle below must agree with the real Java bytes before it is trusted.
    assert.deepEqual(lengthPrefixed(javaUtf8(JAVA_STRING)), JAVA_STRING_BYTES);
    assert.equal(new JuteReader(JAVA_STRING_BYTES).readString(), JAVA_STRING);
  });

  it('decode any mix of CESU-8 and standard UTF-8 encodings of the same characters', () => {
    const piece = fc.tuple(fc.string({ unit: 'binary', minLength: 1, maxLength: 4 }), fc.boolean());
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 12 }), (pieces) => {
        const text = pieces.map(([chunk]) => chunk).join('');
        const bytes = Buffer.concat(pieces.map(([chunk, java]) => (java ? javaUtf8(chunk) : Buffer.from(chunk, 'utf8'))));
        assert.equal(decodeJavaUtf8(bytes, 0, bytes.length), text);
      }),
      FC,
    );
  });

  it('keep a genuine U+FFFD when CESU-8 pairs are decoded beside it', () => {
    const text = '\uFFFD\u{1F600}\uFFFD';
    assert.equal(new JuteReader(lengthPrefixed(javaUtf8(text))).readString(), text);
  });

  it('decode long CESU-8 strings (beyond one String.fromCharCode batch)', () => {
    const text = `x${'\u{1F600}é'.repeat(9000)}`;
    assert.equal(new JuteReader(lengthPrefixed(javaUtf8(text))).readString(), text);
  });

  it('decode only the given byte range', () => {
    const bytes = Buffer.concat([javaUtf8('\u{1F600}'), Buffer.from('tail')]);
    assert.equal(decodeJavaUtf8(bytes, 0, 6), '\u{1F600}');
    assert.equal(decodeJavaUtf8(bytes, 6, bytes.length), 'tail');
  });
});

describe('JuteReader bounds', () => {
  it('throws JuteError on every truncated primitive', () => {
    const reads: [string, (r: JuteReader) => unknown, number][] = [
      ['int', (r) => r.readInt(), 4],
      ['long', (r) => r.readLong(), 8],
      ['bigLong', (r) => r.readBigLong(), 8],
      ['bool', (r) => r.readBool(), 1],
    ];
    for (const [what, read, size] of reads) {
      for (let have = 0; have < size; have++) {
        assert.throws(() => read(new JuteReader(Buffer.alloc(have))), JuteError, `${what} from ${have} bytes`);
      }
    }
  });

  it('rejects buffer and string lengths below −1 or beyond the bytes left, before reading them', () => {
    for (const length of [-2, -0x80000000, 0x7fffffff, 0xfffff + 1, 3]) {
      const input = Buffer.concat([Buffer.alloc(4), Buffer.from('ab')]);
      input.writeInt32BE(length);
      assert.throws(() => new JuteReader(input).readBuffer(), JuteError, `buffer length ${length}`);
      assert.throws(() => new JuteReader(input).readString(), JuteError, `string length ${length}`);
    }
  });

  it('bounds a vector count by the bytes left, so a huge count fails before any allocation', () => {
    const r = (count: number, rest: number) => {
      const input = Buffer.alloc(4 + rest);
      input.writeInt32BE(count);
      return new JuteReader(input);
    };
    assert.equal(r(-1, 0).readVectorCount(4), 0);
    assert.equal(r(3, 12).readVectorCount(4), 3);
    assert.throws(() => r(4, 12).readVectorCount(4), JuteError);
    assert.throws(() => r(-2, 0).readVectorCount(4), JuteError);
    assert.throws(() => r(0x7fffffff, 64).readVectorCount(1), JuteError);
    // A vector of ACLs claiming 2^31−1 elements in a tiny packet.
    const acls = record('Acls', { acl: vector(ACL) });
    assert.throws(() => decodeFromBuffer(acls, hex('7fffffff 00000001')), /exceeds/);
  });

  it('reads only within [start, end) and reports its position', () => {
    const input = hex('ffffffff 00000007 00000008 ffffffff');
    const r = new JuteReader(input, 4, 12);
    assert.equal(r.offset, 4);
    assert.equal(r.remaining, 8);
    assert.equal(r.readInt(), 7);
    assert.equal(r.offset, 8);
    assert.throws(() => r.expectEnd('test'), JuteError);
    assert.deepEqual(r.rest(), hex('00000008'));
    assert.equal(r.remaining, 0);
    r.expectEnd('test');
    assert.throws(() => r.readInt(), JuteError);
    // A length that fits the underlying buffer but not the range is still rejected.
    assert.throws(() => new JuteReader(hex('00000004 aabbccdd'), 0, 6).readBuffer(), JuteError);
  });
});

/** One write and the read that must return its value. */
type Op =
  | { kind: 'int'; value: number }
  | { kind: 'long'; value: number }
  | { kind: 'bigLong'; value: bigint }
  | { kind: 'bool'; value: boolean }
  | { kind: 'buffer'; value: Buffer | null }
  | { kind: 'string'; value: string };

const OP: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant('int' as const), value: INT32 }),
  fc.record({ kind: fc.constant('long' as const), value: LONG_AS_NUMBER }),
  fc.record({ kind: fc.constant('bigLong' as const), value: BIG_LONG }),
  fc.record({ kind: fc.constant('bool' as const), value: fc.boolean() }),
  fc.record({
    kind: fc.constant('buffer' as const),
    value: fc.option(fc.uint8Array({ maxLength: 5000 }).map((b) => Buffer.from(b))),
  }),
  fc.record({ kind: fc.constant('string' as const), value: USTRING }),
);

function applyWrite(w: JuteWriter, op: Op): void {
  switch (op.kind) {
    case 'int':
      return w.writeInt(op.value);
    case 'long':
      return w.writeLong(op.value);
    case 'bigLong':
      return w.writeBigLong(op.value);
    case 'bool':
      return w.writeBool(op.value);
    case 'buffer':
      return w.writeBuffer(op.value);
    case 'string':
      return w.writeString(op.value);
  }
}

function readBack(r: JuteReader, op: Op): unknown {
  switch (op.kind) {
    case 'int':
      return r.readInt();
    case 'long':
      return r.readLong();
    case 'bigLong':
      return r.readBigLong();
    case 'bool':
      return r.readBool();
    case 'buffer':
      return r.readBuffer();
    case 'string':
      return r.readString();
  }
}

describe('JuteWriter', () => {
  it('grows from any initial capacity and reads back every value in order', () => {
    fc.assert(
      fc.property(fc.array(OP, { maxLength: 30 }), fc.integer({ min: 0, max: 64 }), (ops, capacity) => {
        const small = written((w) => ops.forEach((op) => applyWrite(w, op)), capacity);
        const roomy = written((w) => ops.forEach((op) => applyWrite(w, op)), 1 << 20);
        assert.deepEqual(small, roomy);
        const r = new JuteReader(small);
        for (const op of ops) assert.deepEqual(readBack(r, op), op.value);
        r.expectEnd('ops');
      }),
      { ...FC, numRuns: 100 },
    );
  });

  it('grows from a zero initial capacity', () => {
    assert.equal(written((w) => w.writeInt(5), 0).toString('hex'), '00000005');
  });

  it('patches frame lengths, nested frames and frames that outgrow the buffer included', () => {
    const w = new JuteWriter(2);
    const outer = w.beginFrame();
    w.writeInt(1);
    const inner = w.beginFrame();
    w.writeBytes(Buffer.alloc(10_000, 0xab));
    w.endFrame(inner);
    const empty = w.beginFrame();
    w.endFrame(empty);
    w.endFrame(outer);
    const out = w.take();
    assert.equal(out.length, 4 + 4 + 4 + 10_000 + 4);
    assert.equal(out.readInt32BE(0), out.length - 4);
    assert.equal(out.readInt32BE(4), 1);
    assert.equal(out.readInt32BE(8), 10_000);
    assert.equal(out.readInt32BE(8 + 4 + 10_000), 0);
  });

  it('undoes a partly written record with truncate', () => {
    const w = new JuteWriter();
    w.writeInt(1);
    const mark = w.length;
    w.writeString('half-written');
    w.truncate(mark);
    w.writeInt(2);
    assert.equal(w.take().toString('hex'), '0000000100000002');
  });

  it('hands out small outputs as copies, so later writes cannot change them', () => {
    const w = new JuteWriter();
    w.writeInt(0x11111111);
    const first = w.take();
    assert.equal(w.length, 0);
    w.writeInt(0x22222222);
    const second = w.take();
    assert.equal(first.toString('hex'), '11111111');
    assert.equal(second.toString('hex'), '22222222');
  });

  it('hands out large outputs without copying, then writes into a fresh buffer', () => {
    for (const size of [4096, 20_000, 100_000]) {
      const w = new JuteWriter(1024);
      w.writeBytes(Buffer.alloc(size, 0x33));
      const first = w.take();
      assert.equal(w.length, 0);
      w.writeBytes(Buffer.alloc(size, 0x44));
      const second = w.take();
      assert.deepEqual(first, Buffer.alloc(size, 0x33), `first output of ${size} bytes`);
      assert.deepEqual(second, Buffer.alloc(size, 0x44), `second output of ${size} bytes`);
    }
  });

  it('shows what was written so far with view()', () => {
    const w = new JuteWriter();
    w.writeBool(true);
    w.writeInt(-1);
    assert.equal(w.view().toString('hex'), '01ffffffff');
    assert.equal(w.length, 5);
  });
});

describe('jute record schemas', () => {
  const Everything = record('Everything', {
    i: 'int',
    l: 'long',
    big: 'bigLong',
    b: 'bool',
    buf: 'buffer',
    s: 'ustring',
    stat: Stat,
    acls: vector(ACL),
    nested: vector(vector('ustring')),
    flags: vector('bool'),
  });

  it('round-trip random values of a schema using every field type', () => {
    fc.assert(
      fc.property(sampleOf(Everything), ({ input, decoded }) => {
        const out = encodeToBuffer(Everything, input as never);
        assert.ok(out.length >= Everything.minBytes);
        assert.deepEqual(decodeFromBuffer(Everything, out), decoded);
      }),
      FC,
    );
  });

  it('writes fields in declaration order, with no tags or padding', () => {
    const BoolThenInt = record('BoolThenInt', { z: 'bool', a: 'int' });
    assert.equal(encodeToBuffer(BoolThenInt, { z: true, a: 2 }).toString('hex'), '0100000002');
    assert.deepEqual(BoolThenInt.fieldNames, ['z', 'a']);
    assert.deepEqual(BoolThenInt.fields, { z: 'bool', a: 'int' });
  });

  it('computes the fewest bytes an instance can take (Stat is 68 bytes)', () => {
    assert.equal(Stat.minBytes, 68);
    const zeroStat = Object.fromEntries(
      Stat.fieldNames.map((name) => [name, Stat.fields[name] === 'bigLong' ? 0n : 0]),
    );
    assert.equal(encodeToBuffer(Stat, zeroStat as never).length, 68);
    assert.equal(ACL.minBytes, 4 + 4 + 4);
    assert.equal(record('V', { v: vector(Stat), s: 'ustring', b: 'bool' }).minBytes, 9);
  });

  it('rejects trailing bytes after a whole record', () => {
    const Pair = record('Pair', { a: 'int', b: 'int' });
    assert.deepEqual(decodeFromBuffer(Pair, hex('00000001 00000002')), { a: 1, b: 2 });
    assert.throws(() => decodeFromBuffer(Pair, hex('00000001 00000002 00')), JuteError);
  });

  it('refuses field names that are not identifiers (the codecs are generated code)', () => {
    assert.throws(() => record('Bad', { 'a-b': 'int' }), /bad field name/);
    assert.throws(() => record('Bad', { 'x; globalThis.pwned = 1; //': 'int' }), /bad field name/);
  });
});
