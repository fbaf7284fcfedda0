import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { FrameDecoder, FrameError } from '../../src/protocol/framing.js';

const FC = { seed: 424_242, numRuns: 300 } as const;
const MAX = 1024;

function lengthPrefix(length: number): Buffer {
  const prefix = Buffer.alloc(4);
  prefix.writeInt32BE(length);
  return prefix;
}

function framed(frames: readonly Uint8Array[]): Buffer {
  return Buffer.concat(frames.flatMap((f) => [lengthPrefix(f.length), f]));
}

/** Splits `stream` at the given offsets (sorted, repeats give empty chunks). */
function split(stream: Buffer, cuts: readonly number[]): Buffer[] {
  const points = [...cuts].sort((a, b) => a - b);
  const chunks: Buffer[] = [];
  let from = 0;
  for (const at of points) {
    chunks.push(stream.subarray(from, at));
    from = at;
  }
  chunks.push(stream.subarray(from));
  return chunks;
}

/** Feeds the chunks; frames are copied because the decoder may hand out views of its input. */
function decodeAll(decoder: FrameDecoder, chunks: readonly Buffer[]): Buffer[] {
  const frames: Buffer[] = [];
  for (const chunk of chunks) decoder.push(chunk, (frame) => frames.push(Buffer.from(frame)));
  return frames;
}

const FRAMES = fc.array(
  fc.oneof(
    { weight: 1, arbitrary: fc.constant(new Uint8Array(0)) },
    { weight: 4, arbitrary: fc.uint8Array({ maxLength: 40 }) },
    { weight: 1, arbitrary: fc.uint8Array({ minLength: MAX - 2, maxLength: MAX }) },
  ),
  { maxLength: 12 },
);

describe('FrameDecoder', () => {
  it('yields exactly the original frames, in order, however the stream is chunked', () => {
    const streamAndCuts = FRAMES.chain((frames) => {
      const length = framed(frames).length;
      return fc.tuple(fc.constant(frames), fc.array(fc.integer({ min: 0, max: length }), { maxLength: 20 }));
    });
    fc.assert(
      fc.property(streamAndCuts, ([frames, cuts]) => {
        const decoder = new FrameDecoder(MAX);
        const got = decodeAll(decoder, split(framed(frames), cuts));
        assert.deepEqual(got, frames.map((f) => Buffer.from(f)));
        assert.equal(decoder.hasPartial, false);
      }),
      FC,
    );
  });

  it('yields the original frames when fed one byte at a time', () => {
    fc.assert(
      fc.property(FRAMES, (frames) => {
        const stream = framed(frames);
        const bytes = Array.from({ length: stream.length }, (_, i) => stream.subarray(i, i + 1));
        assert.deepEqual(decodeAll(new FrameDecoder(MAX), bytes), frames.map((f) => Buffer.from(f)));
      }),
      { ...FC, numRuns: 50 },
    );
  });

  it('handles a split inside the 4-byte length at every position', () => {
    const stream = framed([Buffer.from('abc'), Buffer.alloc(0), Buffer.from('de')]);
    for (let at = 1; at < 4; at++) {
      for (const base of [0, 7, 11]) {
        const decoder = new FrameDecoder(MAX);
        const frames = decodeAll(decoder, split(stream, [base + at]));
        assert.deepEqual(frames.map(String), ['abc', '', 'de'], `split at ${base + at}`);
      }
    }
  });

  it('reports a partial length prefix or frame body until it completes', () => {
    const decoder = new FrameDecoder(MAX);
    const frames: Buffer[] = [];
    const onFrame = (f: Buffer) => frames.push(Buffer.from(f));
    decoder.push(Buffer.from([0, 0]), onFrame);
    assert.equal(decoder.hasPartial, true);
    decoder.push(Buffer.from([0, 2, 0x61]), onFrame);
    assert.equal(decoder.hasPartial, true);
    assert.equal(frames.length, 0);
    decoder.push(Buffer.alloc(0), onFrame);
    decoder.push(Buffer.from([0x62]), onFrame);
    assert.equal(decoder.hasPartial, false);
    assert.deepEqual(frames.map(String), ['ab']);
  });

  it('accepts a frame of exactly the maximum length', () => {
    const frame = Buffer.alloc(MAX, 7);
    assert.deepEqual(decodeAll(new FrameDecoder(MAX), [framed([frame])]), [frame]);
  });

  it('throws FrameError for a length above the maximum or negative, whole or split', () => {
    for (const length of [MAX + 1, 0x7fffffff, -1, -0x80000000]) {
      const stream = Buffer.concat([lengthPrefix(length), Buffer.alloc(8)]);
      for (let at = 0; at <= 4; at++) {
        assert.throws(() => decodeAll(new FrameDecoder(MAX), split(stream, [at])), FrameError, `length ${length}`);
      }
      // After valid frames, in the same chunk.
      const afterValid = Buffer.concat([framed([Buffer.from('ok')]), stream]);
      assert.throws(() => decodeAll(new FrameDecoder(MAX), [afterValid]), FrameError);
    }
  });

  it('delivers the frames before an invalid length, then throws', () => {
    const stream = Buffer.concat([framed([Buffer.from('a'), Buffer.from('b')]), lengthPrefix(-5)]);
    const frames: string[] = [];
    assert.throws(() => new FrameDecoder(MAX).push(stream, (f) => frames.push(String(f))), FrameError);
    assert.deepEqual(frames, ['a', 'b']);
  });
});
