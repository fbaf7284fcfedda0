/**
 * Splits a byte stream into length-prefixed frames (a 4-byte big-endian
 * length, then that many bytes), as both directions of the protocol use.
 *
 * Frames that lie wholly inside one chunk are handed out as views without
 * copying; a frame split across chunks is assembled into one buffer of its
 * exact size. A length outside [0, maxFrameBytes] is a FrameError: the
 * connection is broken and must be closed.
 */

export class FrameError extends Error {
  override name = 'FrameError';
}

export class FrameDecoder {
  /** A partial length prefix (fewer than 4 bytes seen). */
  private header: Buffer | null = null;
  /** The frame being assembled across chunks, and how much of it is filled. */
  private partial: Buffer | null = null;
  private filled = 0;

  constructor(private readonly maxFrameBytes: number) {}

  /** True when a frame or length prefix is partly received. */
  get hasPartial(): boolean {
    return this.header !== null || this.partial !== null;
  }

  /**
   * Feeds one chunk; calls `onFrame` for each complete frame, in order.
   * Throws FrameError for an invalid length.
   */
  push(chunk: Buffer, onFrame: (frame: Buffer) => void): void {
    let pos = this.continuePartial(chunk, onFrame);
    while (pos < chunk.length) {
      if (chunk.length - pos < 4) {
        this.header = Buffer.from(chunk.subarray(pos));
        return;
      }
      const len = this.checkedLength(chunk.readInt32BE(pos));
      pos += 4;
      if (chunk.length - pos >= len) {
        onFrame(chunk.subarray(pos, pos + len));
        pos += len;
      } else {
        this.startPartial(len, chunk.subarray(pos));
        return;
      }
    }
  }

  /** Completes a frame begun in earlier chunks; returns where the rest of `chunk` starts. */
  private continuePartial(chunk: Buffer, onFrame: (frame: Buffer) => void): number {
    let pos = 0;
    if (this.header !== null) {
      const need = 4 - this.header.length;
      if (chunk.length < need) {
        this.header = Buffer.concat([this.header, chunk]);
        return chunk.length;
      }
      const prefix = Buffer.concat([this.header, chunk.subarray(0, need)]);
      this.header = null;
      pos = need;
      const len = this.checkedLength(prefix.readInt32BE(0));
      this.startPartial(len, Buffer.alloc(0));
    }
    if (this.partial === null) return pos;
    const take = Math.min(this.partial.length - this.filled, chunk.length - pos);
    chunk.copy(this.partial, this.filled, pos, pos + take);
    this.filled += take;
    pos += take;
    if (this.filled === this.partial.length) {
      const frame = this.partial;
      this.partial = null;
      this.filled = 0;
      onFrame(frame);
    }
    return pos;
  }

  private startPartial(len: number, firstBytes: Buffer): void {
    this.partial = Buffer.allocUnsafe(len);
    firstBytes.copy(this.partial, 0);
    this.filled = firstBytes.length;
  }

  private checkedLength(len: number): number {
    if (len < 0 || len > this.maxFrameBytes) {
      throw new FrameError(`frame length ${len} is outside [0, ${this.maxFrameBytes}]`);
    }
    return len;
  }
}
