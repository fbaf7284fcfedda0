/**
 * The bytes servers of an ensemble exchange: every QuorumMessage, plus the
 * transport's own frames (the HELLO that opens each connection, and the
 * pieces of a snapshot streamed to a learner).
 *
 * A frame is a 4-byte big-endian length, then an int tag naming the frame's
 * shape, then that shape's jute record. Shapes are shared where variants
 * carry the same fields (ack, diff, trunc, commit, newLeader and upToDate
 * are all "a zxid"). zkts servers only talk to zkts servers, so this format
 * is ours, not Apache ZooKeeper's.
 *
 * Decoding checks everything it reads: a truncated, padded or corrupted
 * frame, an unknown tag, an out-of-range enum or a null where bytes are
 * required is a JuteError, never another exception. Byte fields decode as
 * views of the frame (no copy).
 */
import { JuteError, JuteReader, JuteWriter, record } from '../jute/mod.js';
import { PeerState, type QuorumMessage } from './messages.js';

/** Bumped on any incompatible change to this file; peers with another version are refused. */
export const PROTOCOL_VERSION = 1;

export type ChannelKind = 'election' | 'quorum';

/**
 * The first frame on every connection, in both directions.
 *
 * `incarnation` and `linkId` only matter on the election channel, where they
 * let the higher server of a pair tell a stale dial-back request from a
 * lost connection (see quorum-transport.ts); quorum connections send 0.
 */
export interface Hello {
  type: 'hello';
  version: number;
  serverId: number;
  channel: ChannelKind;
  /** Chosen at random when a transport starts: tells a restarted server from its previous run. */
  incarnation: number;
  linkId: number;
}

/** Opens a streamed snapshot; chunks follow, then `snapshotEnd`. */
export interface SnapshotBegin {
  type: 'snapshotBegin';
  zxid: number;
}

export interface SnapshotChunk {
  type: 'snapshotChunk';
  bytes: Uint8Array;
}

/** Closes a streamed snapshot; `totalBytes` lets the receiver check that nothing went missing. */
export interface SnapshotEnd {
  type: 'snapshotEnd';
  totalBytes: number;
}

export type TransportFrame = Hello | SnapshotBegin | SnapshotChunk | SnapshotEnd;
export type WireFrame = QuorumMessage | TransportFrame;

/** The first int of every frame. Messages take 1–63; the transport's own frames 64 and up. */
const Tag = {
  notification: 1,
  learnerInfo: 2,
  ackEpoch: 3,
  ack: 4,
  request: 5,
  syncRequest: 6,
  pong: 7,
  leaderInfo: 8,
  diff: 9,
  trunc: 10,
  snap: 11,
  proposal: 12,
  commit: 13,
  inform: 14,
  newLeader: 15,
  upToDate: 16,
  ping: 17,
  syncReply: 18,
  hello: 64,
  snapshotBegin: 65,
  snapshotChunk: 66,
  snapshotEnd: 67,
} as const satisfies Record<WireFrame['type'], number>;

const CHANNEL_CODES: Record<ChannelKind, number> = { election: 1, quorum: 2 };

// ---- one schema per shape ----

const VoteRecord = record('Vote', { leader: 'long', zxid: 'long', peerEpoch: 'long' });
const NotificationRecord = record('Notification', { state: 'int', vote: VoteRecord, electionEpoch: 'long' });
const LearnerInfoRecord = record('LearnerInfo', { acceptedEpoch: 'long', observer: 'bool' });
const AckEpochRecord = record('AckEpoch', { currentEpoch: 'long', lastZxid: 'long' });
const ZxidRecord = record('Zxid', { zxid: 'long' });
const ZxidTxnRecord = record('ZxidTxn', { zxid: 'long', txn: 'buffer' });
const PayloadRecord = record('Payload', { payload: 'buffer' });
const SyncRequestRecord = record('SyncRequest', { id: 'long' });
const SyncReplyRecord = record('SyncReply', { id: 'long', zxid: 'long' });
const RoundRecord = record('Round', { round: 'long' });
const LeaderInfoRecord = record('LeaderInfo', { epoch: 'long' });
const SnapRecord = record('Snap', { zxid: 'long', snapshot: 'buffer' });
const HelloRecord = record('Hello', {
  version: 'int',
  serverId: 'long',
  channel: 'int',
  incarnation: 'long',
  linkId: 'long',
});
const SnapshotBeginRecord = record('SnapshotBegin', { zxid: 'long' });
const SnapshotChunkRecord = record('SnapshotChunk', { bytes: 'buffer' });
const SnapshotEndRecord = record('SnapshotEnd', { totalBytes: 'long' });

/** The bytes a snapshotChunk frame puts before the chunk itself: length prefix, tag, buffer length. */
const SNAPSHOT_CHUNK_PREFIX_BYTES = 12;

/** Election messages travel on the election channel; everything else on the quorum channel. */
export function channelOf(message: QuorumMessage): ChannelKind {
  return message.type === 'notification' ? 'election' : 'quorum';
}

/** Appends one length-prefixed frame to `w`. */
export function writeFrame(w: JuteWriter, frame: WireFrame): void {
  const at = w.beginFrame();
  w.writeInt(Tag[frame.type]);
  writeBody(w, frame);
  w.endFrame(at);
}

/** A single frame in a buffer of its own (HELLOs, tests). */
export function encodeFrame(frame: WireFrame): Buffer {
  const w = new JuteWriter(64);
  writeFrame(w, frame);
  return w.take();
}

/**
 * What precedes `byteLength` raw bytes to make them one snapshotChunk frame,
 * so a sender can hand the chunk itself to the socket instead of copying it.
 */
export function snapshotChunkPrefix(byteLength: number): Buffer {
  const prefix = Buffer.allocUnsafe(SNAPSHOT_CHUNK_PREFIX_BYTES);
  prefix.writeInt32BE(8 + byteLength, 0);
  prefix.writeInt32BE(Tag.snapshotChunk, 4);
  prefix.writeInt32BE(byteLength, 8);
  return prefix;
}

function writeBody(w: JuteWriter, f: WireFrame): void {
  switch (f.type) {
    case 'notification':
      return NotificationRecord.encode(w, f);
    case 'learnerInfo':
      return LearnerInfoRecord.encode(w, f);
    case 'ackEpoch':
      return AckEpochRecord.encode(w, f);
    case 'ack':
    case 'diff':
    case 'trunc':
    case 'commit':
    case 'newLeader':
    case 'upToDate':
      return ZxidRecord.encode(w, f);
    case 'request':
      return PayloadRecord.encode(w, f);
    case 'syncRequest':
      return SyncRequestRecord.encode(w, f);
    case 'pong':
    case 'ping':
      return RoundRecord.encode(w, f);
    case 'leaderInfo':
      return LeaderInfoRecord.encode(w, f);
    case 'snap':
      return SnapRecord.encode(w, f);
    case 'proposal':
    case 'inform':
      return ZxidTxnRecord.encode(w, f);
    case 'syncReply':
      return SyncReplyRecord.encode(w, f);
    case 'hello':
      return HelloRecord.encode(w, { ...f, channel: CHANNEL_CODES[f.channel] });
    case 'snapshotBegin':
      return SnapshotBeginRecord.encode(w, f);
    case 'snapshotChunk':
      return SnapshotChunkRecord.encode(w, f);
    case 'snapshotEnd':
      return SnapshotEndRecord.encode(w, f);
  }
}

/**
 * Decodes one frame's body (what follows the length prefix, as FrameDecoder
 * hands it out). Throws JuteError unless `body` is exactly one valid frame.
 */
export function decodeFrame(body: Buffer): WireFrame {
  const r = new JuteReader(body);
  const frame = readBody(r, r.readInt());
  r.expectEnd(frame.type);
  return frame;
}

function readBody(r: JuteReader, tag: number): WireFrame {
  switch (tag) {
    case Tag.notification: {
      const n = NotificationRecord.decode(r);
      return { type: 'notification', state: peerState(n.state), vote: n.vote, electionEpoch: n.electionEpoch };
    }
    case Tag.learnerInfo:
      return { type: 'learnerInfo', ...LearnerInfoRecord.decode(r) };
    case Tag.ackEpoch:
      return { type: 'ackEpoch', ...AckEpochRecord.decode(r) };
    case Tag.ack:
      return { type: 'ack', zxid: ZxidRecord.decode(r).zxid };
    case Tag.diff:
      return { type: 'diff', zxid: ZxidRecord.decode(r).zxid };
    case Tag.trunc:
      return { type: 'trunc', zxid: ZxidRecord.decode(r).zxid };
    case Tag.commit:
      return { type: 'commit', zxid: ZxidRecord.decode(r).zxid };
    case Tag.newLeader:
      return { type: 'newLeader', zxid: ZxidRecord.decode(r).zxid };
    case Tag.upToDate:
      return { type: 'upToDate', zxid: ZxidRecord.decode(r).zxid };
    case Tag.request:
      return { type: 'request', payload: bytes(PayloadRecord.decode(r).payload, 'request payload') };
    case Tag.syncRequest:
      return { type: 'syncRequest', id: SyncRequestRecord.decode(r).id };
    case Tag.syncReply:
      return { type: 'syncReply', ...SyncReplyRecord.decode(r) };
    case Tag.ping:
      return { type: 'ping', round: RoundRecord.decode(r).round };
    case Tag.pong:
      return { type: 'pong', round: RoundRecord.decode(r).round };
    case Tag.leaderInfo:
      return { type: 'leaderInfo', epoch: LeaderInfoRecord.decode(r).epoch };
    case Tag.snap: {
      const s = SnapRecord.decode(r);
      return { type: 'snap', zxid: s.zxid, snapshot: bytes(s.snapshot, 'snapshot') };
    }
    case Tag.proposal: {
      const p = ZxidTxnRecord.decode(r);
      return { type: 'proposal', zxid: p.zxid, txn: bytes(p.txn, 'proposal txn') };
    }
    case Tag.inform: {
      const p = ZxidTxnRecord.decode(r);
      return { type: 'inform', zxid: p.zxid, txn: bytes(p.txn, 'inform txn') };
    }
    case Tag.hello: {
      const h = HelloRecord.decode(r);
      return { type: 'hello', ...h, channel: channelKind(h.channel) };
    }
    case Tag.snapshotBegin:
      return { type: 'snapshotBegin', zxid: SnapshotBeginRecord.decode(r).zxid };
    case Tag.snapshotChunk:
      return { type: 'snapshotChunk', bytes: bytes(SnapshotChunkRecord.decode(r).bytes, 'snapshot chunk') };
    case Tag.snapshotEnd:
      return { type: 'snapshotEnd', totalBytes: SnapshotEndRecord.decode(r).totalBytes };
    default:
      throw new JuteError(`unknown frame tag ${tag}`);
  }
}

/** Byte fields of our frames are never null; a −1 length is corruption. */
function bytes(value: Buffer | null, what: string): Buffer {
  if (value === null) throw new JuteError(`null ${what}`);
  return value;
}

const PEER_STATES = new Set<number>(Object.values(PeerState));

function peerState(code: number): PeerState {
  if (!PEER_STATES.has(code)) throw new JuteError(`unknown peer state ${code}`);
  return code as PeerState;
}

function channelKind(code: number): ChannelKind {
  if (code === CHANNEL_CODES.election) return 'election';
  if (code === CHANNEL_CODES.quorum) return 'quorum';
  throw new JuteError(`unknown channel kind ${code}`);
}
