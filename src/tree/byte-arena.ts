/**
 * ByteArena: znode data kept outside the JavaScript heap, in 4 MiB shared
 * chunks, each value an immutable record named by a 32-bit ref.
 *
 * Why not strings: a million 100-byte znodes held as strings are a million
 * heap objects that every young-generation collection copies once or twice
 * and every full collection marks, and that a snapshot thread can only get
 * by copying. Here the bytes are plain memory: the garbage collector never
 * looks inside, and a snapshot writer thread reads the same chunks
 * (SharedArrayBuffers) without a copy.
 *
 * Records are never changed once written: a new value is a new record, and
 * the old one is released. A view handed out stays valid (a chunk that
 * empties is dropped, never reused, so a view keeps the old bytes alive),
 * which is also what lets a snapshot read records while the tree moves on.
 * A chunk whose records are more than half released is compacted: its live
 * records are copied to the current chunk and their owners told the new
 * refs. Compaction is held off while anyone needs the refs to stay put
 * (`pin`): a snapshot copy in progress.
 *
 * Layout of a record: the owner's id (u32), the length in bytes (u32), the
 * bytes, padded to 4. A ref is the chunk number times 2^20 plus the offset
 * of the record in 4-byte units, so refs address 4096 chunks: 16 GiB.
 */

/** The ref of null data (no record). */
export const NULL_REF = 0;
/** The ref of empty data (no record). Refs 0 and 1 fall in chunk 0's first record slot, which is left unused. */
export const EMPTY_REF = 1;

const UNIT_BYTES = 4;
const CHUNK_UNIT_BITS = 20;
const CHUNK_UNITS = 1 << CHUNK_UNIT_BITS;
const UNIT_MASK = CHUNK_UNITS - 1;
const MAX_CHUNKS = 2 ** (32 - CHUNK_UNIT_BITS);
const HEADER_UNITS = 2;
/** Records from this size on get a chunk of their own (sized to fit), so they neither waste a chunk's tail nor get copied by compaction. */
const OWN_CHUNK_UNITS = CHUNK_UNITS / 16;

const EMPTY = new Uint8Array(0);

interface Chunk {
  bytes: Uint8Array;
  words: Uint32Array;
  /** Units written so far. */
  used: number;
  /** Units of records not yet released. */
  live: number;
}

function unitsOf(length: number): number {
  return HEADER_UNITS + ((length + UNIT_BYTES - 1) >>> 2);
}

/**
 * The bytes of record `ref` in `chunks` (ByteArena.chunkViews), as a view; for readers
 * that hold the chunks but not the arena (a snapshot's copy, the writer thread).
 */
export function arenaBytes(chunks: readonly (Uint8Array | undefined)[], ref: number): Uint8Array | null {
  if (ref === NULL_REF) return null;
  if (ref === EMPTY_REF) return EMPTY;
  const bytes = chunks[ref >>> CHUNK_UNIT_BITS]!;
  const start = (ref & UNIT_MASK) * UNIT_BYTES;
  const length = (bytes[start + 4]! | (bytes[start + 5]! << 8) | (bytes[start + 6]! << 16) | (bytes[start + 7]! << 24)) >>> 0;
  return bytes.subarray(start + HEADER_UNITS * UNIT_BYTES, start + HEADER_UNITS * UNIT_BYTES + length);
}

export class ByteArena {
  private readonly chunks: (Chunk | undefined)[] = [];
  private readonly freeIndexes: number[] = [];
  private current: number;
  /** Chunks more than half released, waiting for compaction. */
  private readonly sparse = new Set<number>();
  private pins = 0;
  /** Bytes held in chunks (live records, released ones not yet compacted, unused tails). */
  private allocatedBytes = 0;

  /**
   * `refOf(owner)` must give the ref the owner holds now, and `moved(owner, ref)`
   * records a new one: compaction uses them to find live records and move them.
   */
  constructor(
    private readonly refOf: (owner: number) => number,
    private readonly moved: (owner: number, ref: number) => void,
  ) {
    this.current = this.newChunk();
  }

  /** Stores a copy of `data` for `owner`; returns its ref. */
  store(owner: number, data: Uint8Array | null): number {
    if (data === null) return NULL_REF;
    if (data.length === 0) return EMPTY_REF;
    const units = unitsOf(data.length);
    let index = this.current;
    if (units >= OWN_CHUNK_UNITS) {
      index = this.newChunk(units);
    } else if (this.chunks[index]!.used + units > CHUNK_UNITS) {
      this.retireCurrent();
      index = this.current = this.newChunk();
    }
    const chunk = this.chunks[index]!;
    const at = chunk.used;
    chunk.words[at] = owner;
    chunk.words[at + 1] = data.length;
    chunk.bytes.set(data, (at + HEADER_UNITS) * UNIT_BYTES);
    chunk.used += units;
    chunk.live += units;
    return index * CHUNK_UNITS + at;
  }

  /** Releases a record; its ref must not be used again by the owner. */
  release(ref: number): void {
    if (ref === NULL_REF || ref === EMPTY_REF) return;
    const index = ref >>> CHUNK_UNIT_BITS;
    const chunk = this.chunks[index]!;
    chunk.live -= unitsOf(chunk.words[(ref & UNIT_MASK) + 1]!);
    if (index === this.current) return;
    if (chunk.live === 0) this.drop(index);
    else if (chunk.live * 2 < chunk.used) this.sparse.add(index);
  }

  /** The length in bytes of `ref`'s data (0 for null). */
  length(ref: number): number {
    if (ref === NULL_REF || ref === EMPTY_REF) return 0;
    return this.chunks[ref >>> CHUNK_UNIT_BITS]!.words[(ref & UNIT_MASK) + 1]!;
  }

  /** `ref`'s data as a view (null for null data); it stays valid, whatever happens to the arena later. */
  bytes(ref: number): Uint8Array | null {
    if (ref === NULL_REF) return null;
    if (ref === EMPTY_REF) return EMPTY;
    const chunk = this.chunks[ref >>> CHUNK_UNIT_BITS]!;
    const unit = ref & UNIT_MASK;
    const start = (unit + HEADER_UNITS) * UNIT_BYTES;
    return chunk.bytes.subarray(start, start + chunk.words[unit + 1]!);
  }

  /** The chunks by number, for arenaBytes: shared memory a worker thread can read. */
  chunkViews(): (Uint8Array | undefined)[] {
    return this.chunks.map((chunk) => chunk?.bytes);
  }

  /** Bytes of memory the arena holds. */
  get heldBytes(): number {
    return this.allocatedBytes;
  }

  /** While pinned, refs do not move (compaction waits). */
  pin(): void {
    this.pins++;
  }

  unpin(): void {
    if (this.pins === 0) throw new Error('ByteArena.unpin without pin');
    this.pins--;
  }

  /** Compacts the chunks waiting for it, unless pinned. Cheap when there are none. */
  compact(): void {
    if (this.pins > 0 || this.sparse.size === 0) return;
    const sparse = [...this.sparse];
    this.sparse.clear();
    for (const index of sparse) {
      const chunk = this.chunks[index];
      if (chunk === undefined) continue;
      let unit = index === 0 ? HEADER_UNITS : 0;
      while (unit < chunk.used) {
        const owner = chunk.words[unit]!;
        const length = chunk.words[unit + 1]!;
        const ref = index * CHUNK_UNITS + unit;
        if (this.refOf(owner) === ref) {
          const start = (unit + HEADER_UNITS) * UNIT_BYTES;
          this.moved(owner, this.store(owner, chunk.bytes.subarray(start, start + length)));
        }
        unit += unitsOf(length);
      }
      this.drop(index);
    }
  }

  /**
   * A chunk: a shared one of CHUNK_UNITS, or (`ownRecordUnits`) one sized for a single large
   * record. Chunk 0 also keeps the slot refs 0 and 1 fall in.
   */
  private newChunk(ownRecordUnits?: number): number {
    const index = this.freeIndexes.pop() ?? this.chunks.length;
    if (index >= MAX_CHUNKS) throw new RangeError(`znode data is over the ${(MAX_CHUNKS * CHUNK_UNITS * UNIT_BYTES) / 2 ** 30} GiB the tree can hold`);
    const reserved = index === 0 ? HEADER_UNITS : 0;
    const buffer = new SharedArrayBuffer((ownRecordUnits === undefined ? CHUNK_UNITS : reserved + ownRecordUnits) * UNIT_BYTES);
    this.chunks[index] = { bytes: new Uint8Array(buffer), words: new Uint32Array(buffer), used: reserved, live: 0 };
    this.allocatedBytes += buffer.byteLength;
    return index;
  }

  /** The current chunk is full: from now on it is like any other. */
  private retireCurrent(): void {
    const index = this.current;
    const chunk = this.chunks[index]!;
    if (chunk.live === 0) this.drop(index);
    else if (chunk.live * 2 < chunk.used) this.sparse.add(index);
  }

  private drop(index: number): void {
    const chunk = this.chunks[index]!;
    this.allocatedBytes -= chunk.bytes.byteLength;
    this.chunks[index] = undefined;
    this.sparse.delete(index);
    this.freeIndexes.push(index);
  }
}
