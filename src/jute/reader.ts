/**
 * JuteReader: reads jute's big-endian binary layout from a byte range.
 *
 * Every read checks bounds and throws JuteError on truncated or inconsistent
 * input, so a malformed packet becomes a clean error, never a crash or a huge
 * allocation. Buffers are returned as zero-copy views of the input: a caller
 * that keeps one beyond the packet's life must copy it.
 */

const TWO_POW_32 = 4294967296;

export class JuteError extends Error {
  override name = 'JuteError';
}

export class JuteReader {
  private pos: number;

  constructor(
    private readonly buf: Buffer,
    start = 0,
    private readonly end = buf.length,
  ) {
    this.pos = start;
  }

  get offset(): number {
    return this.pos;
  }

  get remaining(): number {
    return this.end - this.pos;
  }

  private need(n: number, what: string): void {
    if (this.end - this.pos < n) {
      throw new JuteError(`truncated ${what}: need ${n} bytes at offset ${this.pos}, have ${this.end - this.pos}`);
    }
  }

  readInt(): number {
    this.need(4, 'int');
    const v = this.buf.readInt32BE(this.pos);
    this.pos += 4;
    return v;
  }

  /** A jute long as a JS number: exact below 2^53, which zxids, times and TTLs are. */
  readLong(): number {
    this.need(8, 'long');
    const hi = this.buf.readInt32BE(this.pos);
    const lo = this.buf.readUInt32BE(this.pos + 4);
    this.pos += 8;
    return hi * TWO_POW_32 + lo;
  }

  /** A jute long as a bigint, for session ids and ephemeral owners. */
  readBigLong(): bigint {
    this.need(8, 'long');
    const v = this.buf.readBigInt64BE(this.pos);
    this.pos += 8;
    return v;
  }

  readBool(): boolean {
    this.need(1, 'boolean');
    return this.buf[this.pos++] !== 0;
  }

  private readLength(what: string): number {
    const len = this.readInt();
    if (len < -1) throw new JuteError(`negative ${what} length ${len}`);
    if (len > this.end - this.pos) {
      throw new JuteError(`${what} length ${len} exceeds the ${this.end - this.pos} bytes left`);
    }
    return len;
  }

  /** A jute buffer as a view into the input (null for length −1). */
  readBuffer(): Buffer | null {
    const len = this.readLength('buffer');
    if (len === -1) return null;
    const v = this.buf.subarray(this.pos, this.pos + len);
    this.pos += len;
    return v;
  }

  /** A jute ustring; null (length −1) reads as the empty string. */
  readString(): string {
    const len = this.readLength('string');
    if (len <= 0) return '';
    const start = this.pos;
    this.pos += len;
    return decodeJavaUtf8(this.buf, start, start + len);
  }

  /** A vector's element count; null (−1) reads as 0. Bounded by the bytes left. */
  readVectorCount(minElementBytes: number): number {
    const count = this.readInt();
    if (count < -1) throw new JuteError(`negative vector length ${count}`);
    if (count === -1) return 0;
    if (count * minElementBytes > this.end - this.pos) {
      throw new JuteError(`vector of ${count} elements exceeds the ${this.end - this.pos} bytes left`);
    }
    return count;
  }

  /** Bytes not yet read, as a view. */
  rest(): Buffer {
    const v = this.buf.subarray(this.pos, this.end);
    this.pos = this.end;
    return v;
  }

  /** Throws unless the whole input was consumed. */
  expectEnd(what: string): void {
    if (this.pos !== this.end) {
      throw new JuteError(`${this.end - this.pos} unexpected bytes after ${what}`);
    }
  }
}

/**
 * Decodes UTF-8, also accepting the CESU-8 surrogate pairs that Java's jute
 * writer produces for characters outside the BMP (each UTF-16 half encoded on
 * its own as 3 bytes). Node's decoder would turn those into U+FFFD.
 */
export function decodeJavaUtf8(buf: Buffer, start: number, end: number): string {
  const s = buf.toString('utf8', start, end);
  if (!s.includes('\uFFFD')) return s;
  const surrogateLead = buf.indexOf(0xed, start);
  if (surrogateLead === -1 || surrogateLead >= end) return s;
  return decodeCesu8(buf, start, end);
}

function decodeCesu8(buf: Buffer, start: number, end: number): string {
  const units: number[] = [];
  let i = start;
  while (i < end) {
    const b = buf[i]!;
    if (b === 0xed && i + 2 < end && (buf[i + 1]! & 0xe0) === 0xa0 && (buf[i + 2]! & 0xc0) === 0x80) {
      // A 3-byte encoded surrogate half: 1110_1101 101x_xxxx 10xx_xxxx.
      units.push(0xd000 | ((buf[i + 1]! & 0x3f) << 6) | (buf[i + 2]! & 0x3f));
      i += 3;
      continue;
    }
    const len = b < 0x80 ? 1 : b < 0xe0 ? 2 : b < 0xf0 ? 3 : 4;
    const piece = buf.toString('utf8', i, Math.min(i + len, end));
    for (let k = 0; k < piece.length; k++) units.push(piece.charCodeAt(k));
    i += len;
  }
  let out = '';
  for (let k = 0; k < units.length; k += 8192) out += String.fromCharCode(...units.slice(k, k + 8192));
  return out;
}
