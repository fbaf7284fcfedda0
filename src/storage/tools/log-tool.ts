/**
 * `zkts log <segment>`: prints what a zkts log segment holds — its header,
 * each frame (offset, length, checksum) and each transaction — readable, or
 * one JSON object per transaction with --json.
 *
 * The frames are walked here for display, up to the first one that is not
 * valid, so a damaged segment still shows what precedes the damage. Whether
 * that damage is a torn tail (an interrupted write recovery cuts off: exit
 * 0) or corruption (exit 1) is decided by scanSegment, exactly as recovery
 * decides it.
 */
import { readFileSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import { crc32 } from 'node:zlib';
import { JuteError, JuteReader } from '../../jute/mod.js';
import { decodeTxn, type Txn } from '../../protocol/txn.js';
import { listLogSegments } from '../files.js';
import { CorruptionError, FORMAT_VERSION, FRAME_HEADER_BYTES, FRAME_MAGIC, SEGMENT_HEADER_BYTES, SEGMENT_MAGIC, scanSegment } from '../log-format.js';
import { describeTxn, hexZxid, txnJson, type ToolOutput } from './describe.js';

interface FrameView {
  offset: number;
  length: number;
  crcOk: boolean;
  payload: Buffer;
}

interface FrameWalk {
  frames: FrameView[];
  /** Where and why the walk stopped before the preallocated zeros, if it did. */
  stop: { offset: number; reason: string } | null;
}

/** The frames from the start of the segment up to the first invalid one (included if its header is sound). */
function walkFrames(buf: Buffer): FrameWalk {
  const frames: FrameView[] = [];
  for (let at = SEGMENT_HEADER_BYTES; at < buf.length; ) {
    if (buf.length - at < FRAME_HEADER_BYTES) {
      return { frames, stop: buf.subarray(at).some((b) => b !== 0) ? { offset: at, reason: 'truncated frame header' } : null };
    }
    const magic = buf.readUInt32BE(at);
    const length = buf.readUInt32BE(at + 4);
    const checksum = buf.readUInt32BE(at + 8);
    if (magic === 0 && length === 0 && checksum === 0) break;
    if (magic !== FRAME_MAGIC) return { frames, stop: { offset: at, reason: 'bad frame magic' } };
    const start = at + FRAME_HEADER_BYTES;
    if (length > buf.length - start) return { frames, stop: { offset: at, reason: `frame length ${length} runs past the end of the file` } };
    const payload = buf.subarray(start, start + length);
    const crcOk = crc32(payload) === checksum;
    frames.push({ offset: at, length, crcOk, payload });
    if (!crcOk) return { frames, stop: { offset: at, reason: 'frame checksum mismatch' } };
    at = start + length;
  }
  return { frames, stop: null };
}

/** Splits a frame's payload into transactions; throws JuteError if the records do not fit it. */
function frameTxns(payload: Buffer): Txn[] {
  const txns: Txn[] = [];
  for (let at = 0; at < payload.length; ) {
    if (payload.length - at < 4) throw new JuteError('record length truncated inside the frame');
    const length = payload.readUInt32BE(at);
    if (length > payload.length - at - 4) throw new JuteError(`record length ${length} overruns its frame`);
    const r = new JuteReader(payload, at + 4, at + 4 + length);
    txns.push(decodeTxn(r));
    r.expectEnd('transaction');
    at += 4 + length;
  }
  return txns;
}

/** Whether recovery would treat `file` as the newest segment (where a torn tail is allowed). */
function isLastSegment(file: string): boolean {
  const names = listLogSegments(dirname(file)).map((s) => basename(s.path));
  const index = names.indexOf(basename(file));
  return index === -1 || index === names.length - 1;
}

/** Prints the segment; returns the exit code (0, or 1 for corruption or an unreadable file). */
export function runLogTool(file: string, options: { json: boolean }, io: ToolOutput): number {
  let buf: Buffer;
  try {
    buf = readFileSync(file);
  } catch (e) {
    io.err(`zkts log: cannot read ${file}: ${(e as Error).message}`);
    return 1;
  }
  // Header lines go to stderr with --json so that stdout is only transactions.
  const info = options.json ? io.err.bind(io) : io.out.bind(io);
  const headerOk =
    buf.length >= SEGMENT_HEADER_BYTES && buf.readUInt32BE(0) === SEGMENT_MAGIC && buf.readUInt32BE(4) === FORMAT_VERSION;
  let txnCount = 0;
  let firstZxid: number | null = null;
  let lastZxid: number | null = null;
  let walk: FrameWalk = { frames: [], stop: null };
  if (headerOk) {
    const headerZxid = buf.readUInt32BE(8) * 0x100000000 + buf.readUInt32BE(12);
    info(`${file}: zkts log segment, format ${FORMAT_VERSION}, first zxid ${hexZxid(headerZxid)}, ${buf.length} bytes on disk`);
    walk = walkFrames(buf);
    for (const frame of walk.frames) {
      let txns: Txn[] = [];
      let undecodable: string | null = null;
      if (frame.crcOk) {
        try {
          txns = frameTxns(frame.payload);
        } catch (e) {
          if (!(e instanceof JuteError)) throw e;
          undecodable = e.message;
        }
      }
      const crc = frame.crcOk ? 'crc ok' : 'CRC MISMATCH';
      if (!options.json) io.out(`frame @${frame.offset}: ${frame.length} bytes, ${crc}${frame.crcOk ? `, ${txns.length} txns` : ''}`);
      for (const txn of txns) {
        if (options.json) io.out(JSON.stringify({ frameOffset: frame.offset, ...txnJson(txn) }));
        else for (const line of describeTxn(txn, '  ')) io.out(line);
        firstZxid ??= txn.zxid;
        lastZxid = txn.zxid;
        txnCount++;
      }
      if (undecodable !== null) {
        io.err(`CORRUPT: ${file} at offset ${frame.offset}: a frame with a valid checksum holds an undecodable transaction: ${undecodable}`);
        return 1;
      }
    }
  }
  const range = firstZxid === null ? '' : `, zxid ${hexZxid(firstZxid)}..${hexZxid(lastZxid!)}`;
  info(`${walk.frames.filter((f) => f.crcOk).length} valid frames, ${txnCount} txns${range}`);
  try {
    const scan = scanSegment(file, isLastSegment(file));
    if (scan.tornAt === null) {
      info(`the segment ends cleanly at offset ${scan.validEnd}`);
    } else {
      const reason = walk.stop?.offset === scan.tornAt ? `${walk.stop.reason}: ` : '';
      info(`torn tail at offset ${scan.tornAt}: ${reason}an interrupted write, never acknowledged; recovery cuts it off (not an error)`);
    }
    return 0;
  } catch (e) {
    if (!(e instanceof CorruptionError)) throw e;
    io.err(`CORRUPT: ${e.message}`);
    return 1;
  }
}
