/**
 * The transaction log's on-disk format, and the reader that validates it.
 *
 * A segment is a 16-byte header (magic "ZKTL", format version, first zxid)
 * followed by frames. A frame is what one fsync makes durable: a 12-byte
 * header (magic "ZKBF", payload length, CRC-32 of the payload) and a payload
 * of records, each a 4-byte length and a serialized transaction (TxnHeader +
 * body). The rest of a segment is preallocated zeros.
 *
 * Telling a torn write from corruption: frames are written one at a time and
 * the next frame is written only after the previous one is fsynced, and a new
 * segment only after the old one's last fsync. So a bad frame can be an
 * interrupted, never-acknowledged write only if it is the last frame of the
 * last segment; and a torn write leaves zeros where sectors were not written
 * (the space was zero before). A bad frame followed by a valid frame, in a
 * segment followed by another, or with no zeroed sector in it, is corruption.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { crc32 } from 'node:zlib';

export const SEGMENT_MAGIC = 0x5a4b544c; // "ZKTL"
export const FRAME_MAGIC = 0x5a4b4246; // "ZKBF"
export const FORMAT_VERSION = 1;
export const SEGMENT_HEADER_BYTES = 16;
export const FRAME_HEADER_BYTES = 12;
const SECTOR_BYTES = 512;

/** A problem that must stop recovery: acknowledged data would otherwise be lost. */
export class CorruptionError extends Error {
  override name = 'CorruptionError';

  constructor(
    readonly file: string,
    readonly offset: number,
    readonly reason: string,
    /** The zkts command that shows the file: `log` for segments, `snapshot` for snapshots. */
    inspectWith: 'log' | 'snapshot' = 'log',
  ) {
    super(
      `${file} is corrupt at offset ${offset}: ${reason}. zkts will not start rather than silently drop data; ` +
        `inspect the file with \`zkts ${inspectWith} ${file}\` (or \`zkts verify <dataDir>\`) and restore it from a replica or backup`,
    );
  }
}

export function writeSegmentHeader(buf: Buffer, firstZxid: number): void {
  buf.writeUInt32BE(SEGMENT_MAGIC, 0);
  buf.writeUInt32BE(FORMAT_VERSION, 4);
  buf.writeUInt32BE(Math.floor(firstZxid / 0x100000000), 8);
  buf.writeUInt32BE(firstZxid >>> 0, 12);
}

/** One transaction record as found in a segment. */
export interface LogRecord {
  /** Serialized TxnHeader + body (a view into the segment's bytes). */
  bytes: Buffer;
  /** Offset of the frame holding it. */
  frameOffset: number;
}

export interface SegmentScan {
  file: string;
  firstZxid: number;
  records: LogRecord[];
  /** Where valid frames end: the next frame would be written here. */
  validEnd: number;
  /** Set when the segment ends in an interrupted write at `validEnd`. */
  tornAt: number | null;
}

/**
 * The bytes of a segment, read from the start as far as they are needed:
 * a mostly empty preallocated segment costs only what is written in it.
 */
class SegmentBytes {
  readonly size: number;
  private buffer = Buffer.alloc(0);
  private loaded = 0;

  constructor(private readonly fd: number) {
    this.size = fstatSync(fd).size;
  }

  /** The bytes [0, min(end, size)) — a view valid until the next call. */
  upTo(end: number): Buffer {
    const target = Math.min(end, this.size);
    if (target > this.loaded) {
      if (target > this.buffer.length) {
        const grown = Buffer.alloc(Math.min(this.size, Math.max(target, this.buffer.length * 2, 1 << 20)));
        this.buffer.copy(grown, 0, 0, this.loaded);
        this.buffer = grown;
      }
      while (this.loaded < target) {
        const n = readSync(this.fd, this.buffer, this.loaded, this.buffer.length - this.loaded, this.loaded);
        if (n === 0) throw new Error('segment shrank while being read');
        this.loaded += n;
      }
    }
    return this.buffer.subarray(0, Math.max(target, this.loaded));
  }
}

/**
 * Reads and checks a segment. A torn tail is reported in `tornAt` (only
 * allowed when `isLast`); anything else wrong throws CorruptionError.
 */
export function scanSegment(file: string, isLast: boolean): SegmentScan {
  const fd = openSync(file, 'r');
  try {
    return scan(file, new SegmentBytes(fd), isLast);
  } finally {
    closeSync(fd);
  }
}

function scan(file: string, bytes: SegmentBytes, isLast: boolean): SegmentScan {
  const head = bytes.upTo(SEGMENT_HEADER_BYTES);
  if (head.length < SEGMENT_HEADER_BYTES) {
    if (isLast && isAllZero(head, 0, head.length)) return { file, firstZxid: -1, records: [], validEnd: 0, tornAt: 0 };
    throw new CorruptionError(file, 0, 'the segment header is truncated');
  }
  if (head.readUInt32BE(0) !== SEGMENT_MAGIC) throw new CorruptionError(file, 0, 'not a zkts log segment (bad magic)');
  if (head.readUInt32BE(4) !== FORMAT_VERSION) {
    throw new CorruptionError(file, 4, `unsupported log format version ${head.readUInt32BE(4)}`);
  }
  const firstZxid = head.readUInt32BE(8) * 0x100000000 + head.readUInt32BE(12);
  const records: LogRecord[] = [];
  let offset = SEGMENT_HEADER_BYTES;
  while (offset < bytes.size) {
    let buf = bytes.upTo(offset + FRAME_HEADER_BYTES);
    if (buf.length - offset >= FRAME_HEADER_BYTES) buf = bytes.upTo(offset + FRAME_HEADER_BYTES + buf.readUInt32BE(offset + 4));
    const frame = readFrame(buf, offset);
    if (frame === 'end') break;
    if (typeof frame === 'string') {
      classifyBadFrame(file, bytes.upTo(bytes.size), offset, frame, isLast);
      return { file, firstZxid, records, validEnd: offset, tornAt: offset };
    }
    splitRecords(file, buf, offset, frame.payloadEnd, records);
    offset = frame.payloadEnd;
  }
  return { file, firstZxid, records, validEnd: offset, tornAt: null };
}

/** A valid frame's payload end, 'end' at preallocated zeros, or why the frame is bad. */
function readFrame(buf: Buffer, offset: number): { payloadEnd: number } | 'end' | string {
  const remaining = buf.length - offset;
  if (remaining < FRAME_HEADER_BYTES) return isAllZero(buf, offset, buf.length) ? 'end' : 'truncated frame header';
  const magic = buf.readUInt32BE(offset);
  const length = buf.readUInt32BE(offset + 4);
  const checksum = buf.readUInt32BE(offset + 8);
  if (magic === 0 && length === 0 && checksum === 0) return 'end';
  if (magic !== FRAME_MAGIC) return 'bad frame magic';
  const payloadStart = offset + FRAME_HEADER_BYTES;
  if (length > buf.length - payloadStart) return `frame length ${length} runs past the end of the file`;
  if (crc32(buf.subarray(payloadStart, payloadStart + length)) !== checksum) return 'frame checksum mismatch';
  return { payloadEnd: payloadStart + length };
}

function classifyBadFrame(file: string, buf: Buffer, offset: number, reason: string, isLast: boolean): void {
  if (!isLast) throw new CorruptionError(file, offset, `${reason} in a segment that is not the last`);
  const later = findValidFrameAfter(buf, offset + 1);
  if (later !== -1) throw new CorruptionError(file, offset, `${reason}, followed by a valid frame at offset ${later}`);
  const declaredEnd = declaredFrameEnd(buf, offset);
  if (declaredEnd > buf.length || hasZeroSector(buf, offset, Math.min(declaredEnd, buf.length))) return;
  throw new CorruptionError(file, offset, `${reason} (not a torn write: no unwritten sector in it)`);
}

function declaredFrameEnd(buf: Buffer, offset: number): number {
  if (buf.length - offset < FRAME_HEADER_BYTES) return buf.length + 1;
  return offset + FRAME_HEADER_BYTES + buf.readUInt32BE(offset + 4);
}

function findValidFrameAfter(buf: Buffer, from: number): number {
  const magic = Buffer.alloc(4);
  magic.writeUInt32BE(FRAME_MAGIC);
  for (let at = buf.indexOf(magic, from); at !== -1; at = buf.indexOf(magic, at + 1)) {
    if (typeof readFrame(buf, at) === 'object') return at;
  }
  return -1;
}

/** Whether any 512-byte-aligned piece of [start, end) is entirely zero: a sector a crash did not write. */
function hasZeroSector(buf: Buffer, start: number, end: number): boolean {
  for (let chunk = start; chunk < end; ) {
    const next = Math.min(end, (Math.floor(chunk / SECTOR_BYTES) + 1) * SECTOR_BYTES);
    if (isAllZero(buf, chunk, next)) return true;
    chunk = next;
  }
  return start >= end;
}

function isAllZero(buf: Buffer, start: number, end: number): boolean {
  for (let i = start; i < end; i++) if (buf[i] !== 0) return false;
  return true;
}

function splitRecords(file: string, buf: Buffer, frameOffset: number, payloadEnd: number, out: LogRecord[]): void {
  let at = frameOffset + FRAME_HEADER_BYTES;
  while (at < payloadEnd) {
    if (payloadEnd - at < 4) throw new CorruptionError(file, at, 'record length truncated inside a valid frame');
    const length = buf.readUInt32BE(at);
    if (length > payloadEnd - at - 4) throw new CorruptionError(file, at, `record length ${length} overruns its frame`);
    out.push({ bytes: buf.subarray(at + 4, at + 4 + length), frameOffset });
    at += 4 + length;
  }
}
