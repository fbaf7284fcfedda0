/**
 * ColumnBlock: the typed-array columns of one table, all views of a single
 * ArrayBuffer.
 *
 * Why one buffer: with a million znodes each column is 4–8 MB, a size that
 * glibc's malloc serves from its heap once a few such blocks have been freed,
 * and memory freed there stays in the process (RSS) for good. A node table
 * that doubles and a snapshot copy made and dropped every snapshot would
 * leave ~80 MB each behind that way. One block per table (96 bytes per znode
 * for the node table, 72 for a snapshot copy) is above malloc's 32 MB mmap
 * threshold from ~350k (~470k) znodes on, so it is mapped on its own and given
 * back to the system when collected.
 */
export class ColumnBlock {
  readonly buffer: ArrayBuffer;
  private offset = 0;
  private narrowed = false;

  /** Room for `length` entries of columns totalling `bytesPerEntry`. */
  constructor(
    readonly length: number,
    bytesPerEntry: number,
  ) {
    this.buffer = new ArrayBuffer(length * bytesPerEntry);
  }

  float64(): Float64Array<ArrayBuffer> {
    return new Float64Array(this.buffer, this.wide(), this.length);
  }

  bigInt64(): BigInt64Array<ArrayBuffer> {
    return new BigInt64Array(this.buffer, this.wide(), this.length);
  }

  int32(): Int32Array<ArrayBuffer> {
    return new Int32Array(this.buffer, this.narrow(), this.length);
  }

  uint32(): Uint32Array<ArrayBuffer> {
    return new Uint32Array(this.buffer, this.narrow(), this.length);
  }

  /** 8-byte columns come first, so that every one is aligned. */
  private wide(): number {
    if (this.narrowed) throw new Error('ColumnBlock: 8-byte columns must come before 4-byte ones');
    return this.take(8);
  }

  private narrow(): number {
    this.narrowed = true;
    return this.take(4);
  }

  private take(bytes: number): number {
    const at = this.offset;
    this.offset += bytes * this.length;
    if (this.offset > this.buffer.byteLength) throw new Error('ColumnBlock: more columns than bytesPerEntry allows');
    return at;
  }
}

/** The columns a snapshot is made from: the node table's, and its snapshot copies'. */
export interface SnapshotColumnSet {
  czxid: Float64Array<ArrayBuffer>;
  mzxid: Float64Array<ArrayBuffer>;
  pzxid: Float64Array<ArrayBuffer>;
  ctime: Float64Array<ArrayBuffer>;
  mtime: Float64Array<ArrayBuffer>;
  owner: BigInt64Array<ArrayBuffer>;
  version: Int32Array<ArrayBuffer>;
  /** Children created under this node so far (the client sees 2*cversion − numChildren). */
  cversion: Int32Array<ArrayBuffer>;
  aversion: Int32Array<ArrayBuffer>;
  aclRef: Int32Array<ArrayBuffer>;
  /** The parent's id (NO_PARENT for the root, FREE_NODE for an unused id). */
  parent: Int32Array<ArrayBuffer>;
  /** The node's name and data: a ByteArena ref. */
  record: Uint32Array<ArrayBuffer>;
}

/** SnapshotColumnSet's columns by name, in the order snapshotColumnsIn lays them out. */
export const SNAPSHOT_COLUMN_NAMES = [
  'czxid',
  'mzxid',
  'pzxid',
  'ctime',
  'mtime',
  'owner',
  'version',
  'cversion',
  'aversion',
  'aclRef',
  'parent',
  'record',
] as const satisfies readonly (keyof SnapshotColumnSet)[];

/** Bytes per entry of a SnapshotColumnSet: six columns of 8 bytes, six of 4. */
export const SNAPSHOT_COLUMN_BYTES = 6 * 8 + 6 * 4;

/** A SnapshotColumnSet in `block` (its first columns: the 8-byte ones come first). */
export function snapshotColumnsIn(block: ColumnBlock): SnapshotColumnSet {
  return {
    czxid: block.float64(),
    mzxid: block.float64(),
    pzxid: block.float64(),
    ctime: block.float64(),
    mtime: block.float64(),
    owner: block.bigInt64(),
    version: block.int32(),
    cversion: block.int32(),
    aversion: block.int32(),
    aclRef: block.int32(),
    parent: block.int32(),
    record: block.uint32(),
  };
}
