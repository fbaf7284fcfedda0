/**
 * ByteArena against a model (owner → bytes): whatever the interleaving of
 * stores, releases, compactions and pins, every owner reads back its bytes,
 * views handed out earlier keep theirs, and released chunks are given back.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { ByteArena, EMPTY_REF, NULL_REF, arenaBytes } from '../../src/tree/byte-arena.js';

const OWNERS = 12;
const CHUNK_BYTES = 4 << 20;

/** An arena whose owners are slots of an array, as NodeTable's are its columns. */
function ownedArena(): { arena: ByteArena; refs: number[] } {
  const refs = new Array<number>(OWNERS).fill(NULL_REF);
  const arena = new ByteArena(
    (owner) => refs[owner]!,
    (owner, ref) => {
      refs[owner] = ref;
    },
  );
  return { arena, refs };
}

function bytesOf(size: number, seed: number): Uint8Array {
  const bytes = new Uint8Array(size);
  for (let i = 0; i < size; i++) bytes[i] = (seed + i * 31) & 0xff;
  return bytes;
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
  it('keeps null and empty apart without storing either', () => {
    const { arena } = ownedArena();
    assert.equal(arena.store(0, null), NULL_REF);
    assert.equal(arena.store(0, new Uint8Array(0)), EMPTY_REF);
    assert.equal(arena.bytes(NULL_REF), null);
    assert.deepEqual(arena.bytes(EMPTY_REF), new Uint8Array(0));
    assert.equal(arena.length(NULL_REF), 0);
    assert.equal(arena.length(EMPTY_REF), 0);
    arena.release(NULL_REF);
    arena.release(EMPTY_REF);
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
              refs[op.owner] = arena.store(op.owner, data);
              arena.release(old);
              arena.compact();
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
              arena.compact();
              break;
          }
          const chunks = arena.chunkViews();
          for (const [owner, expected] of model) {
            assert.deepEqual(arena.bytes(refs[owner]!), expected);
            assert.equal(arena.length(refs[owner]!), expected?.length ?? 0);
            assert.deepEqual(arenaBytes(chunks, refs[owner]!), expected);
            if (expected !== null && expected.length > 0 && views.length < 20) views.push({ view: arena.bytes(refs[owner]!)!, expected });
          }
        }
        // A view keeps its bytes whatever happened after it was taken.
        for (const { view, expected } of views) assert.deepEqual(view, expected);
        // Once nothing is pinned and everything is released, only the current chunk is left.
        while (pins-- > 0) arena.unpin();
        for (let owner = 0; owner < OWNERS; owner++) {
          arena.release(refs[owner]!);
          refs[owner] = NULL_REF;
        }
        arena.compact();
        assert.equal(arena.heldBytes, CHUNK_BYTES);
      }),
      { numRuns: 40 },
    );
  });

  it('moves the live records out of a mostly released chunk, and frees it', () => {
    const { arena, refs } = ownedArena();
    // Owner 0 writes once; owner 1 rewrites its record 200 times (40 MB, ten chunks' worth).
    refs[0] = arena.store(0, bytesOf(1000, 7));
    const first = refs[0];
    for (let n = 0; n < 200; n++) {
      const old = refs[1]!;
      refs[1] = arena.store(1, bytesOf(200_000, n));
      arena.release(old);
      arena.compact();
    }
    // Owner 0's record moved on out of the first chunk, and no chunk of dead records is kept.
    assert.notEqual(refs[0], first);
    assert.ok(arena.heldBytes <= 2 * CHUNK_BYTES, `${arena.heldBytes} bytes held`);
    assert.deepEqual(arena.bytes(refs[0]!), bytesOf(1000, 7));
    assert.deepEqual(arena.bytes(refs[1]!), bytesOf(200_000, 199));
  });

  it('does not move records while pinned', () => {
    const { arena, refs } = ownedArena();
    for (let owner = 0; owner < OWNERS; owner++) refs[owner] = arena.store(owner, bytesOf(150_000, owner));
    const before = [...refs];
    arena.pin();
    // Fill further chunks and release most of the first one's records.
    for (let n = 0; n < 60; n++) arena.release(arena.store(OWNERS - 1, bytesOf(150_000, n)));
    for (let owner = 0; owner < OWNERS - 2; owner++) {
      arena.release(refs[owner]!);
      refs[owner] = arena.store(owner, null);
    }
    arena.compact();
    assert.deepEqual(refs.slice(OWNERS - 2), before.slice(OWNERS - 2));
    arena.unpin();
    arena.compact();
    assert.notDeepEqual(refs.slice(OWNERS - 2), before.slice(OWNERS - 2));
    for (let owner = OWNERS - 2; owner < OWNERS; owner++) assert.deepEqual(arena.bytes(refs[owner]!), bytesOf(150_000, owner));
  });
});
