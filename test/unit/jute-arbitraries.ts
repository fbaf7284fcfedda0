/**
 * fast-check generators derived from jute schemas, shared by the jute and
 * protocol record tests, plus the fuzzing helpers both use.
 *
 * A generated Sample pairs the value handed to an encoder with the value the
 * decoder must return: they differ where the encoder accepts more than one
 * form (a buffer given as a Uint8Array or a latin1 string decodes to a
 * Buffer; a null vector decodes to an empty array).
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { JuteError, type FieldType, type RecordType } from '../../src/jute/mod.js';

export interface Sample {
  input: unknown;
  decoded: unknown;
}

export type AnyRecord = RecordType<object, object>;

export const INT32 = fc.integer({ min: -0x80000000, max: 0x7fffffff });

/**
 * Longs carried as JS numbers: every safe integer, plus integral doubles at
 * the edges of the 64-bit range, which are exact on the wire too.
 */
export const LONG_AS_NUMBER = fc.oneof(
  fc.maxSafeInteger(),
  fc.constantFrom(2 ** 32, -(2 ** 32), 2 ** 32 - 1, 2 ** 53, -(2 ** 53), 2 ** 62, -(2 ** 63)),
);

export const BIG_LONG = fc.bigInt({ min: -(1n << 63n), max: (1n << 63n) - 1n });

/** Strings over all of Unicode (astral planes included), well-formed UTF-16. */
export const USTRING = fc.oneof(
  fc.string({ maxLength: 24 }),
  fc.string({ unit: 'binary', maxLength: 24 }),
  fc.string({ unit: 'grapheme', maxLength: 8 }),
);

const same = (value: unknown): Sample => ({ input: value, decoded: value });

function primitiveSample(type: string): fc.Arbitrary<Sample> {
  switch (type) {
    case 'int':
      return INT32.map(same);
    case 'long':
      return LONG_AS_NUMBER.map(same);
    case 'bigLong':
      return BIG_LONG.map(same);
    case 'bool':
      return fc.boolean().map(same);
    case 'ustring':
      return USTRING.map(same);
    case 'buffer':
      return fc.oneof(
        fc.constant(same(null)),
        // A plain Uint8Array, not a Buffer: the encoder must accept either.
        fc.uint8Array({ maxLength: 48 }).map((bytes) => ({ input: bytes, decoded: Buffer.from(bytes) })),
      );
  }
  throw new Error(`unknown primitive ${type}`);
}

/** Random valid values for a field of `type`, derived by walking the schema. */
export function sampleOf(type: FieldType): fc.Arbitrary<Sample> {
  if (typeof type === 'string') return primitiveSample(type);
  if (type.kind === 'vector') {
    return fc.oneof(
      { weight: 6, arbitrary: fc.array(sampleOf(type.element), { maxLength: 4 }).map(splitSamples) },
      // Java writes a null list as count −1; it reads back as empty.
      { weight: 1, arbitrary: fc.constant<Sample>({ input: null, decoded: [] }) },
    );
  }
  const fieldSamples: Record<string, fc.Arbitrary<Sample>> = {};
  for (const name of type.fieldNames) fieldSamples[name] = sampleOf(type.fields[name]);
  return fc.record(fieldSamples).map((samples) => {
    const input: Record<string, unknown> = {};
    const decoded: Record<string, unknown> = {};
    for (const [name, sample] of Object.entries(samples)) {
      input[name] = sample.input;
      decoded[name] = sample.decoded;
    }
    return { input, decoded };
  });
}

function splitSamples(samples: Sample[]): Sample {
  return { input: samples.map((s) => s.input), decoded: samples.map((s) => s.decoded) };
}

/** Every record schema a module exports. */
export function schemasIn(module: Record<string, unknown>): AnyRecord[] {
  return Object.values(module).filter(
    (v): v is AnyRecord => typeof v === 'object' && v !== null && (v as { kind?: unknown }).kind === 'record',
  );
}

/** Length-prefix values that have broken decoders: huge, negative, just past the default jute.maxbuffer. */
const NASTY_INTS = [0x7fffffff, -0x80000000, -1, -2, 0x100000, 0xfffff, 0x10000000];

type Mutation =
  | { kind: 'flip'; at: number; mask: number }
  | { kind: 'int'; at: number; value: number }
  | { kind: 'cut'; at: number }
  | { kind: 'insert'; at: number; bytes: Uint8Array };

const MUTATION: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), mask: fc.integer({ min: 1, max: 255 }) }),
  fc.record({ kind: fc.constant('int' as const), at: fc.nat(), value: fc.oneof(fc.constantFrom(...NASTY_INTS), INT32) }),
  fc.record({ kind: fc.constant('cut' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }) }),
);

/** One to three random mutations: flipped bits, overwritten ints (lengths), cuts and insertions. */
export const MUTATIONS = fc.array(MUTATION, { minLength: 1, maxLength: 3 });

export function mutate(encoded: Buffer, mutations: readonly Mutation[]): Buffer {
  let buf = Buffer.from(encoded);
  for (const m of mutations) {
    const at = buf.length === 0 ? 0 : m.at % buf.length;
    switch (m.kind) {
      case 'flip':
        if (buf.length > 0) buf[at] ^= m.mask;
        break;
      case 'int':
        if (buf.length >= 4) buf.writeInt32BE(m.value, Math.min(at, buf.length - 4));
        break;
      case 'cut':
        buf = buf.subarray(0, at);
        break;
      case 'insert':
        buf = Buffer.concat([buf.subarray(0, at), m.bytes, buf.subarray(at)]);
        break;
    }
  }
  return buf;
}

/** Every copy of `encoded` with a 4-byte window overwritten by `value`, at each offset. */
export function* withIntAtEveryOffset(encoded: Buffer, value: number): Generator<Buffer> {
  for (let at = 0; at + 4 <= encoded.length; at++) {
    const copy = Buffer.from(encoded);
    copy.writeInt32BE(value, at);
    yield copy;
  }
}

/** Malformed input may decode to something, but the only failure allowed is a JuteError. */
export function assertDecodesOrJuteError(decode: () => unknown, input: Buffer): void {
  try {
    decode();
  } catch (err) {
    assert.ok(err instanceof JuteError, `input ${input.toString('hex')} threw ${String(err)}, not a JuteError`);
  }
}
