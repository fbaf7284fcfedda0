/**
 * ColumnBlock: the typed-array columns of one table, all views of a single
 * ArrayBuffer.
 *
 * Why one buffer: with a million znodes each column is 4–8 MB, a size that
 * glibc's malloc serves from its heap once a few such blocks have been freed,
 * and memory freed there stays in the process (RSS) for good. A node table
 * that doubles and a snapshot copy made and dropped every snapshot would
 * leave ~80 MB each behind that way. One block per table is 76 bytes per
 * znode, above malloc's 32 MB mmap threshold from ~440k znodes on, so it is
 * mapped on its own and given back to the system when collected.
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
