/**
 * ByteArena against a model (owner → name and data): whatever the interleaving
 * of stores, releases, compactions and pins, every owner reads back its name
 * and data, views handed out earlier keep theirs, and released chunks are
 * given back.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { ByteArena, NO_RECORD, locateRecord, type RecordLocation } from '../../src/tree/byte-arena.js';

/** A record's name and data as locateRecord finds them in the chunks (as a snapshot reads them). */
function located(chunks: (Uint8Array | undefined)[], ref: number): { name: Uint8Array; data: Uint8Array | null } {
  const at: RecordLocation = { chunkIndex: 0, chunk: new Uint8Array(0), nameStart: 0, nameLength: 0, dataStart: 0, dataLength: 0 };
  locateRecord(chunks, ref, at);
  return {
    name: at.chunk.subarray(at.nameStart, at.nameStart + at.nameLength),
    data: at.dataLength < 0 ? null : at.chunk.subarray(at.dataStart, at.dataStart + at.dataLength),
  };
}

const OWNERS = 12;
const CHUNK_BYTES = 4 << 20;

/** An arena whose owners are slots of an array, as NodeTable's are its columns. */
function ownedArena(): { arena: ByteArena; refs: number[] } {
  const refs = new Array<number>(OWNERS).fill(NO_RECORD);
  const arena = new ByteArena(
    (owner) => refs[owner]!,
    (owner, ref) => {
      refs[owner] = ref;
    },
  );
  return { arena, refs };
}

/** Owner n's name: ASCII for some, not for others. */
function nameOf(owner: number): string {
  return owner % 3 === 0 ? `n${owner}` : owner % 3 === 1 ? `ünï-${owner}` : '';
}

function bytesOf(size: number, seed: number): Uint8Array {
  const bytes = new Uint8Array(size);
  for (let i = 0; i < size; i++) bytes[i] = (seed + i * 31) & 0xff;
  return bytes;
}

/** Same bytes (or both null), whatever the view's class. */
function assertBytes(actual: Uint8Array | null, expected: Uint8Array | null): void {
  if (actual === null || expected === null) assert.equal(actual, expected);
  else assert.ok(Buffer.from(actual.buffer, actual.byteOffset, actual.byteLength).equals(expected), `${actual.length} bytes differ`);
}

type Op =
  | { kind: 'set'; owner: number; size: number; seed: number }
  | { kind: 'setNull'; owner: number }
  | { kind: 'pin' }
  | { kind: 'unpin' };

const OP: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 8,
    arbitrary: fc.record({
      kind: fc.constant('set' as const),
      owner: fc.nat(OWNERS - 1),
      // Mostly sizes that share chunks (a few dozen fill one), some empty, some that get a chunk of their own.
      size: fc.oneof({ weight: 6, arbitrary: fc.integer({ min: 1, max: 200_000 }) }, fc.constant(0), fc.integer({ min: 300_000, max: 600_000 })),
      seed: fc.nat(255),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('setNull' as const), owner: fc.nat(OWNERS - 1) }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'pin' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'unpin' as const }) },
);

describe('ByteArena', () => {
  it('keeps null and empty data apart, and names as UTF-8', () => {
    const { arena } = ownedArena();
    const name = Buffer.from('zookeeper-ü', 'utf8');
    const nulled = arena.store(0, name, null);
    const empty = arena.store(1, name, new Uint8Array(0));
    assert.equal(arena.data(nulled), null);
    assertBytes(arena.data(empty), new Uint8Array(0));
    assert.equal(arena.dataLength(nulled), 0);
    assert.equal(arena.dataLength(empty), 0);
    assert.equal(arena.name(nulled), 'zookeeper-ü');
    assert.ok(arena.nameEquals(nulled, '/a/zookeeper-ü', 3, 14));
    assert.ok(!arena.nameEquals(nulled, '/a/zookeeper-u', 3, 14));
    assert.ok(!arena.nameEquals(nulled, '/a/zookeeper', 3, 12));
    const chunks = arena.chunkViews();
    assertBytes(located(chunks, empty).name, name);
    assert.equal(located(chunks, nulled).data, null);
    assertBytes(located(chunks, empty).data, new Uint8Array(0));
  });

  it('reads back every owner’s bytes through any mix of writes, compactions and pins', () => {
    fc.assert(
      fc.property(fc.array(OP, { maxLength: 150 }), (ops) => {
        const { arena, refs } = ownedArena();
        const model = new Map<number, Uint8Array | null>();
        const views: { view: Uint8Array; expected: Uint8Array }[] = [];
        let pins = 0;
        for (const op of ops) {
          switch (op.kind) {
            case 'set':
            case 'setNull': {
              const data = op.kind === 'set' ? bytesOf(op.size, op.seed) : null;
              const old = refs[op.owner]!;
              refs[op.owner] = old === NO_RECORD ? arena.store(op.owner, Buffer.from(nameOf(op.owner)), data) : arena.withData(op.owner, old, data);
              if (old !== NO_RECORD) arena.release(old);
              model.set(op.owner, data);
              break;
            }
            case 'pin':
              arena.pin();
              pins++;
              break;
            case 'unpin':
              if (pins === 0) continue;
              arena.unpin();
              pins--;
              break;
          }
          const chunks = arena.chunkViews();
          for (const [owner, expected] of model) {
            const ref = refs[owner]!;
            assertBytes(arena.data(ref), expected);
            assert.equal(arena.dataLength(ref), expected?.length ?? 0);
            assertBytes(located(chunks, ref).data, expected);
            assert.equal(arena.name(ref), nameOf(owner));
            assert.equal(Buffer.from(located(chunks, ref).name).toString('utf8'), nameOf(owner));
            const path = `/x/${nameOf(owner)}`;
            assert.ok(arena.nameEquals(ref, path, 3, path.length));
            if (expected !== null && expected.length > 0 && views.length < 20) views.push({ view: arena.data(ref)!, expected });
          }
        }
        // A view keeps its bytes whatever happened after it was taken.
        for (const { view, expected } of views) assertBytes(view, expected);
        // Once nothing is pinned and everything is released, only the current chunk is left.
        while (pins-- > 0) arena.unpin();
        for (let owner = 0; owner < OWNERS; owner++) {
          if (refs[owner] !== NO_RECORD) arena.release(refs[owner]!);
          refs[owner] = NO_RECORD;
        }
        assert.equal(arena.heldBytes, CHUNK_BYTES);
      }),
      { numRuns: 40 },
    );
  });

  it('moves the live records out of a mostly released chunk, and frees it', () => {
    const { arena, refs } = ownedArena();
    // Owner 0 writes once; owner 1 rewrites its record 200 times (40 MB, ten chunks' worth).
    refs[0] = arena.store(0, Buffer.from('zero'), bytesOf(1000, 7));
    const first = refs[0];
    refs[1] = arena.store(1, Buffer.from('one'), null);
    for (let n = 0; n < 200; n++) {
      const old = refs[1]!;
      refs[1] = arena.withData(1, old, bytesOf(200_000, n));
      arena.release(old);
    }
    // Owner 0's record moved on out of the first chunk, and no chunk of dead records is kept.
    assert.notEqual(refs[0], first);
    assert.ok(arena.heldBytes <= 2 * CHUNK_BYTES, `${arena.heldBytes} bytes held`);
    assertBytes(arena.data(refs[0]!), bytesOf(1000, 7));
    assert.equal(arena.name(refs[0]!), 'zero');
    assertBytes(arena.data(refs[1]!), bytesOf(200_000, 199));
    assert.equal(arena.name(refs[1]!), 'one');
  });

  it('does not move records while pinned', () => {
    const { arena, refs } = ownedArena();
    for (let owner = 0; owner < OWNERS; owner++) refs[owner] = arena.store(owner, Buffer.from(nameOf(owner)), bytesOf(150_000, owner));
    const before = [...refs];
    arena.pin();
    // Fill further chunks and release most of the first one's records.
    for (let n = 0; n < 60; n++) arena.release(arena.store(OWNERS - 1, Buffer.from('temporary'), bytesOf(150_000, n)));
    for (let owner = 0; owner < OWNERS - 2; owner++) {
      const old = refs[owner]!;
      refs[owner] = arena.withData(owner, old, null);
      arena.release(old);
    }
    assert.deepEqual(refs.slice(OWNERS - 2), before.slice(OWNERS - 2));
    // Unpinning runs the compaction that waited.
    arena.unpin();
    assert.notDeepEqual(refs.slice(OWNERS - 2), before.slice(OWNERS - 2));
    for (let owner = OWNERS - 2; owner < OWNERS; owner++) assertBytes(arena.data(refs[owner]!), bytesOf(150_000, owner));
  });
});
