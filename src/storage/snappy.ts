/**
 * Snappy decompression, enough to read the snapshots Apache ZooKeeper writes
 * with `zookeeper.snapshot.compression.method=snappy`: snappy-java's stream
 * format (SnappyOutputStream) around raw Snappy blocks. Node has no Snappy
 * codec, and the format is small enough not to need a dependency.
 *
 * Stream: an 8-byte magic "\x82SNAPPY\0", two big-endian ints (format
 * version, compatible version), then chunks, each a big-endian int length and
 * one raw Snappy block. A concatenated stream repeats the 16-byte header.
 */

const STREAM_MAGIC = Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00]);
const STREAM_HEADER_BYTES = 16;

export class SnappyError extends Error {
  override name = 'SnappyError';
}

export function isSnappyStream(buf: Buffer): boolean {
  return buf.length >= STREAM_HEADER_BYTES && buf.subarray(0, STREAM_MAGIC.length).equals(STREAM_MAGIC);
}

/** Decompresses a snappy-java stream. */
export function decompressSnappyStream(buf: Buffer): Buffer {
  if (!isSnappyStream(buf)) throw new SnappyError('not a snappy-java stream (bad magic)');
  const chunks: Buffer[] = [];
  let at = 0;
  while (at < buf.length) {
    if (buf.length - at >= STREAM_HEADER_BYTES && buf.subarray(at, at + STREAM_MAGIC.length).equals(STREAM_MAGIC)) {
      at += STREAM_HEADER_BYTES;
      continue;
    }
    if (buf.length - at < 4) throw new SnappyError(`truncated chunk length at offset ${at}`);
    const length = buf.readInt32BE(at);
    at += 4;
    if (length < 0 || length > buf.length - at) throw new SnappyError(`chunk length ${length} at offset ${at - 4} runs past the end`);
    chunks.push(decompressSnappyBlock(buf.subarray(at, at + length)));
    at += length;
  }
  return Buffer.concat(chunks);
}

/** Decompresses one raw Snappy block: a varint length, then literals and back-references. */
export function decompressSnappyBlock(src: Buffer): Buffer {
  let pos = 0;
  let length = 0;
  for (let shift = 0; ; shift += 7) {
    if (pos >= src.length || shift > 28) throw new SnappyError('bad block length varint');
    const byte = src[pos++]!;
    length += (byte & 0x7f) * 2 ** shift;
    if (byte < 0x80) break;
  }
  const out = Buffer.alloc(length);
  let written = 0;
  const need = (n: number): void => {
    if (src.length - pos < n) throw new SnappyError(`truncated block at offset ${pos}`);
  };
  while (pos < src.length) {
    const tag = src[pos++]!;
    if ((tag & 3) === 0) {
      // Literal: the length (minus one) is in the tag, or in the 1–4 bytes after it.
      let literal = tag >>> 2;
      if (literal >= 60) {
        const bytes = literal - 59;
        need(bytes);
        literal = src.readUIntLE(pos, bytes);
        pos += bytes;
      }
      literal += 1;
      need(literal);
      if (literal > length - written) throw new SnappyError('literal overruns the declared length');
      src.copy(out, written, pos, pos + literal);
      pos += literal;
      written += literal;
      continue;
    }
    let copyLength: number;
    let offset: number;
    if ((tag & 3) === 1) {
      need(1);
      copyLength = ((tag >>> 2) & 7) + 4;
      offset = ((tag >>> 5) << 8) | src[pos++]!;
    } else if ((tag & 3) === 2) {
      need(2);
      copyLength = (tag >>> 2) + 1;
      offset = src.readUInt16LE(pos);
      pos += 2;
    } else {
      need(4);
      copyLength = (tag >>> 2) + 1;
      offset = src.readUInt32LE(pos);
      pos += 4;
    }
    if (offset === 0 || offset > written) throw new SnappyError(`back-reference offset ${offset} at ${written} is out of range`);
    if (copyLength > length - written) throw new SnappyError('copy overruns the declared length');
    // Byte by byte: a copy may overlap the bytes it produces (a repeated run).
    for (let i = 0; i < copyLength; i++, written++) out[written] = out[written - offset]!;
  }
  if (written !== length) throw new SnappyError(`block decompressed to ${written} bytes, expected ${length}`);
  return out;
}
