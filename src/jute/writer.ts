/**
 * JuteWriter: a growable big-endian output buffer in jute's binary layout.
 *
 * One writer is reused per connection (or per log batch); `take()` hands the
 * written bytes out without copying when they are large and copies small ones
 * into a pooled slice so the writer can keep its buffer.
 */

const TWO_POW_32 = 4294967296;
const INITIAL_CAPACITY = 16 * 1024;
/** Outputs below this size are copied out so the writer keeps its buffer. */
const COPY_OUT_BELOW = 4096;

export class JuteWriter {
  private buf!: Buffer;
  /** A view of buf's memory (set with it), for bigints and reserved records. */
  private dataView!: DataView;
  private pos = 0;

  constructor(initialCapacity = INITIAL_CAPACITY) {
    this.useBuffer(Buffer.allocUnsafe(initialCapacity));
  }

  private useBuffer(buf: Buffer): void {
    this.buf = buf;
    // Of the whole ArrayBuffer (a small Buffer is a slice of a shared pool): offsets add byteOffset.
    this.dataView = new DataView(buf.buffer);
  }

  get length(): number {
    return this.pos;
  }

  /** Makes room for `n` more bytes. */
  ensure(n: number): void {
    const need = this.pos + n;
    if (need <= this.buf.length) return;
    // At least 1, or doubling a zero-capacity buffer would never end.
    let capacity = Math.max(1, this.buf.length * 2);
    while (capacity < need) capacity *= 2;
    const grown = Buffer.allocUnsafe(capacity);
    this.buf.copy(grown, 0, 0, this.pos);
    this.useBuffer(grown);
  }

  writeInt(v: number): void {
    this.ensure(4);
    this.buf.writeInt32BE(v, this.pos);
    this.pos += 4;
  }

  /** A jute long from a JS number (exact for |v| < 2^53). */
  writeLong(v: number): void {
    this.ensure(8);
    const hi = Math.floor(v / TWO_POW_32);
    this.buf.writeInt32BE(hi, this.pos);
    this.buf.writeUInt32BE(v - hi * TWO_POW_32, this.pos + 4);
    this.pos += 8;
  }

  /** A jute long from a bigint: session ids and ephemeral owners use all 64 bits. */
  writeBigLong(v: bigint): void {
    this.ensure(8);
    // DataView's setter, unlike Buffer's (which masks and shifts bigints), allocates nothing.
    this.dataView.setBigInt64(this.buf.byteOffset + this.pos, v);
    this.pos += 8;
  }

  writeBool(v: boolean): void {
    this.ensure(1);
    this.buf[this.pos++] = v ? 1 : 0;
  }

  /** A jute buffer: int length (−1 for null) then the bytes. */
  writeBuffer(v: Uint8Array | null): void {
    if (v === null) {
      this.writeInt(-1);
      return;
    }
    this.ensure(4 + v.length);
    this.buf.writeInt32BE(v.length, this.pos);
    this.buf.set(v, this.pos + 4);
    this.pos += 4 + v.length;
  }

  /** A jute ustring: int byte length then UTF-8. */
  writeString(v: string | null): void {
    if (v === null) {
      this.writeInt(-1);
      return;
    }
    // Reserve the worst case (3 bytes per UTF-16 unit), write, then patch the length.
    this.ensure(4 + v.length * 3);
    const written = this.buf.write(v, this.pos + 4, 'utf8');
    this.buf.writeInt32BE(written, this.pos);
    this.pos += 4 + written;
  }

  writeBytes(v: Uint8Array): void {
    this.ensure(v.length);
    this.buf.set(v, this.pos);
    this.pos += v.length;
  }

  /**
   * Moves past `n` bytes, made room for, that the caller writes itself through `rawBytes` and
   * `rawView` from the returned offset: one bounds check for a whole record (snapshot znodes).
   */
  reserve(n: number): number {
    this.ensure(n);
    const at = this.pos;
    this.pos += n;
    return at;
  }

  /** The buffer `reserve` offsets are into; valid until the next write. */
  get rawBytes(): Buffer {
    return this.buf;
  }

  /** A DataView of rawBytes' memory: offset `rawBytes.byteOffset + at` for reserved offset `at`. */
  get rawView(): DataView {
    return this.dataView;
  }

  /** Reserves a 4-byte length prefix; `endFrame` patches it. */
  beginFrame(): number {
    this.ensure(4);
    const at = this.pos;
    this.pos += 4;
    return at;
  }

  endFrame(at: number): void {
    this.buf.writeInt32BE(this.pos - at - 4, at);
  }

  /** Drops everything written after `pos` (used to undo a partly encoded record). */
  truncate(pos: number): void {
    this.pos = pos;
  }

  /** A view of what was written so far; valid until the next write. */
  view(): Buffer {
    return this.buf.subarray(0, this.pos);
  }

  /** Hands the written bytes out and resets the writer. */
  take(): Buffer {
    const n = this.pos;
    this.pos = 0;
    if (n < COPY_OUT_BELOW) return Buffer.from(this.buf.subarray(0, n));
    const out = this.buf.subarray(0, n);
    this.useBuffer(Buffer.allocUnsafe(Math.max(INITIAL_CAPACITY, this.buf.length >>> 1)));
    return out;
  }
}
