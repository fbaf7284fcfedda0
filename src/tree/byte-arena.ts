/**
 * ByteArena: each znode's name and data, kept outside the JavaScript heap in
 * 4 MiB shared chunks, as one immutable record named by a 32-bit ref.
 *
 * Why not strings and maps: a million znodes held as a name string, a data
 * string and a map entry each are millions of heap objects that every
 * young-generation collection copies once or twice and every full collection
 * marks, and that a snapshot thread could only get by copying. Here they are
 * plain memory: the garbage collector never looks inside, and a snapshot
 * writer thread reads the same chunks (SharedArrayBuffers) without a copy.
 *
 * Records are never changed once written: new data is a new record (with the
 * name copied), and the old one is released. A view handed out stays valid (a
 * chunk that empties is dropped and its memory never reused, so a view keeps
 * the old bytes alive), which is also what lets a snapshot read records while
 * the tree moves on. A chunk whose records are more than half released is compacted:
 * its live records are copied to the current chunk and their owners told the
 * new refs. Compaction is held off while anyone needs the refs to stay put
 * (`pin`): a snapshot copy in progress.
 *
 * Layout of a record: the owner's id, the data's length in bytes (NULL_DATA
 * for null), the name's length (u32 each), the name's UTF-8 bytes, the data,
 * padded to 4. A ref is the chunk number times 2^20 plus the offset of the
 * record in 4-byte units, so refs address 4096 chunks: 16 GiB.
 */

/** A ref no record has (an owner without a record). */
export const NO_RECORD = 0xffff_ffff;

const UNIT_BYTES = 4;
const CHUNK_UNIT_BITS = 20;
const CHUNK_UNITS = 1 << CHUNK_UNIT_BITS;
const UNIT_MASK = CHUNK_UNITS - 1;
const MAX_CHUNKS = 2 ** (32 - CHUNK_UNIT_BITS);
const HEADER_UNITS = 3;
const HEADER_BYTES = HEADER_UNITS * UNIT_BYTES;
/** The data length field of null data. */
const NULL_DATA = 0xffff_ffff;
/** Records from this size on get a chunk of their own (sized to fit), so they neither waste a chunk's tail nor get copied by compaction. */
const OWN_CHUNK_UNITS = CHUNK_UNITS / 16;

interface Chunk {
  bytes: Buffer;
  words: Uint32Array;
  /** Units written so far. */
  used: number;
  /** Units of records not yet released. */
  live: number;
}

function unitsOf(bytes: number): number {
  return HEADER_UNITS + ((bytes + UNIT_BYTES - 1) >>> 2);
}

function readU32(bytes: Uint8Array, at: number): number {
  return (bytes[at]! | (bytes[at + 1]! << 8) | (bytes[at + 2]! << 16) | (bytes[at + 3]! << 24)) >>> 0;
}

/** Bytes of a record after its header. */
function bodyBytes(nameLength: number, dataLength: number): number {
  return nameLength + (dataLength === NULL_DATA ? 0 : dataLength);
}

/** Where a record's name and data lie in its chunk (filled in by locateRecord, to be reused). */
export interface RecordLocation {
  /** The chunk's index in the chunk list, and the chunk. */
  chunkIndex: number;
  chunk: Uint8Array;
  nameStart: number;
  nameLength: number;
  dataStart: number;
  /** −1 for null data. */
  dataLength: number;
}

/**
 * Fills `into` with where record `ref` lies in `chunks` (ByteArena.chunkViews), making no
 * view: for readers that hold the chunks but not the arena (a snapshot's encoder, per node).
 */
export function locateRecord(chunks: readonly (Uint8Array | undefined)[], ref: number, into: RecordLocation): void {
  const chunkIndex = ref >>> CHUNK_UNIT_BITS;
  const bytes = chunks[chunkIndex]!;
  const at = (ref & UNIT_MASK) * UNIT_BYTES;
  const dataLength = readU32(bytes, at + 4);
  into.chunkIndex = chunkIndex;
  into.chunk = bytes;
  into.nameStart = at + HEADER_BYTES;
  into.nameLength = readU32(bytes, at + 8);
  into.dataStart = into.nameStart + into.nameLength;
  into.dataLength = dataLength === NULL_DATA ? -1 : dataLength;
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

  /** Stores a record of `name` (UTF-8) and a copy of `data` for `owner`; returns its ref. */
  store(owner: number, name: Uint8Array, data: Uint8Array | null): number {
    const ref = this.allocate(owner, name.length, data);
    const chunk = this.chunks[ref >>> CHUNK_UNIT_BITS]!;
    chunk.bytes.set(name, (ref & UNIT_MASK) * UNIT_BYTES + HEADER_BYTES);
    return ref;
  }

  /** Stores a record with `ref`'s name and new `data` (ref itself stays as it is: release it). */
  withData(owner: number, ref: number, data: Uint8Array | null): number {
    const from = this.chunks[ref >>> CHUNK_UNIT_BITS]!;
    const fromUnit = ref & UNIT_MASK;
    const nameLength = from.words[fromUnit + 2]!;
    const updated = this.allocate(owner, nameLength, data);
    const nameStart = fromUnit * UNIT_BYTES + HEADER_BYTES;
    // Allocating may retire `from` but never drops it: it holds `ref`, not yet released.
    this.chunks[updated >>> CHUNK_UNIT_BITS]!.bytes.set(
      from.bytes.subarray(nameStart, nameStart + nameLength),
      (updated & UNIT_MASK) * UNIT_BYTES + HEADER_BYTES,
    );
    return updated;
  }

  /** Room for a record, with its header and data written; the caller writes the name. */
  private allocate(owner: number, nameLength: number, data: Uint8Array | null): number {
    const units = unitsOf(nameLength + (data === null ? 0 : data.length));
    let index = this.current;
    if (units >= OWN_CHUNK_UNITS) {
      index = this.newChunk(units);
    } else if (this.chunks[index]!.used + units > CHUNK_UNITS) {
      // The current chunk is full: from now on it is like any other.
      this.settle(index);
      index = this.current = this.newChunk();
    }
    const chunk = this.chunks[index]!;
    const at = chunk.used;
    chunk.words[at] = owner;
    chunk.words[at + 1] = data === null ? NULL_DATA : data.length;
    chunk.words[at + 2] = nameLength;
    if (data !== null) chunk.bytes.set(data, at * UNIT_BYTES + HEADER_BYTES + nameLength);
    chunk.used += units;
    chunk.live += units;
    return index * CHUNK_UNITS + at;
  }

  /**
   * Releases a record; the owner must already hold another ref (or NO_RECORD), as compaction
   * may run here and moves only the records owners still hold.
   */
  release(ref: number): void {
    const index = ref >>> CHUNK_UNIT_BITS;
    const chunk = this.chunks[index]!;
    const unit = ref & UNIT_MASK;
    chunk.live -= unitsOf(bodyBytes(chunk.words[unit + 2]!, chunk.words[unit + 1]!));
    if (index !== this.current) this.settle(index);
    this.compact();
  }

  /** The length in bytes of `ref`'s data (0 for null). */
  dataLength(ref: number): number {
    const length = this.chunks[ref >>> CHUNK_UNIT_BITS]!.words[(ref & UNIT_MASK) + 1]!;
    return length === NULL_DATA ? 0 : length;
  }

  /** `ref`'s data as a view (null for null data); it stays valid, whatever happens to the arena later. */
  data(ref: number): Uint8Array | null {
    const chunk = this.chunks[ref >>> CHUNK_UNIT_BITS]!;
    const unit = ref & UNIT_MASK;
    const length = chunk.words[unit + 1]!;
    if (length === NULL_DATA) return null;
    const start = unit * UNIT_BYTES + HEADER_BYTES + chunk.words[unit + 2]!;
    return chunk.bytes.subarray(start, start + length);
  }

  /** `ref`'s name as a string. */
  name(ref: number): string {
    const chunk = this.chunks[ref >>> CHUNK_UNIT_BITS]!;
    const unit = ref & UNIT_MASK;
    const start = unit * UNIT_BYTES + HEADER_BYTES;
    return chunk.bytes.toString('utf8', start, start + chunk.words[unit + 2]!);
  }

  /** Whether `ref`'s name is `text.slice(start, end)`, without slicing or encoding it when it is ASCII. */
  nameEquals(ref: number, text: string, start: number, end: number): boolean {
    const chunk = this.chunks[ref >>> CHUNK_UNIT_BITS]!;
    const unit = ref & UNIT_MASK;
    const length = chunk.words[unit + 2]!;
    const at = unit * UNIT_BYTES + HEADER_BYTES;
    const bytes = chunk.bytes;
    if (length === end - start) {
      let i = 0;
      for (; i < length; i++) {
        const c = text.charCodeAt(start + i);
        if (c >= 0x80) break;
        if (bytes[at + i] !== c) return false;
      }
      if (i === length) return true;
    }
    // Non-ASCII: compare the UTF-8 encoding.
    return bytes.subarray(at, at + length).equals(Buffer.from(text.slice(start, end), 'utf8'));
  }

  /** The chunks by number, for locateRecord: shared memory a worker thread can read. */
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

  /** Ends a pin; the compaction it held off runs now. */
  unpin(): void {
    if (this.pins === 0) throw new Error('ByteArena.unpin without pin');
    this.pins--;
    this.compact();
  }

  /** Compacts the chunks waiting for it, unless pinned. Cheap when there are none. */
  private compact(): void {
    if (this.pins > 0 || this.sparse.size === 0) return;
    const sparse = [...this.sparse];
    this.sparse.clear();
    for (const index of sparse) {
      const chunk = this.chunks[index];
      if (chunk === undefined) continue;
      for (let unit = 0; unit < chunk.used; ) {
        const owner = chunk.words[unit]!;
        const ref = index * CHUNK_UNITS + unit;
        if (this.refOf(owner) === ref) this.moved(owner, this.withData(owner, ref, this.data(ref)));
        unit += unitsOf(bodyBytes(chunk.words[unit + 2]!, chunk.words[unit + 1]!));
      }
      this.drop(index);
    }
  }

  /** A chunk: a shared one of CHUNK_UNITS, or (`ownRecordUnits`) one sized for a single large record. */
  private newChunk(ownRecordUnits?: number): number {
    const index = this.freeIndexes.pop() ?? this.chunks.length;
    if (index >= MAX_CHUNKS) throw new RangeError(`znode data is over the ${(MAX_CHUNKS * CHUNK_UNITS * UNIT_BYTES) / 2 ** 30} GiB the tree can hold`);
    const buffer = new SharedArrayBuffer((ownRecordUnits ?? CHUNK_UNITS) * UNIT_BYTES);
    this.chunks[index] = { bytes: Buffer.from(buffer), words: new Uint32Array(buffer), used: 0, live: 0 };
    this.allocatedBytes += buffer.byteLength;
    return index;
  }

  /** A chunk records are no longer written to: dropped once empty, compacted once mostly released. */
  private settle(index: number): void {
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
