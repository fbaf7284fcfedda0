/**
 * Raw protocol scenarios: requests sent with RawClient, and everything the
 * server sends back — replies, notifications, the connection closing —
 * written into the Transcript in exact wire order, with reply bodies decoded
 * and zxids, times and session ids normalised.
 */
import type { RecordType } from '../../src/jute/mod.js';
import { JuteReader } from '../../src/jute/mod.js';
import { OpCode } from '../../src/protocol/constants.js';
import { errorName } from '../../src/protocol/errors.js';
import { decodeMultiResponse, encodeMultiRequest, type MultiOpInput } from '../../src/protocol/multi.js';
import {
  ACL,
  Create2Response,
  CreateResponse,
  ErrorResponse,
  GetACLResponse,
  GetAllChildrenNumberResponse,
  GetChildren2Response,
  GetChildrenResponse,
  GetDataResponse,
  GetEphemeralsResponse,
  SaslToken,
  StatResponse,
  SyncResponse,
  WhoAmIResponse,
} from '../../src/protocol/records.js';
import { JuteWriter } from '../../src/jute/mod.js';
import { dataView, sortedChildren, type Normalizer } from './normalize.js';
import type { Target, Transcript } from './pair.js';
import { RawClient, type ConnectOptions, type EncodedBody, type RawConnectResponse, type RawReply, type Received } from './raw-client.js';

export const EVENT_NAMES: Record<number, string> = {
  [-1]: 'None',
  1: 'NodeCreated',
  2: 'NodeDeleted',
  3: 'NodeDataChanged',
  4: 'NodeChildrenChanged',
  5: 'DataWatchRemoved',
  6: 'ChildWatchRemoved',
  7: 'PersistentWatchRemoved',
};

/** The response record of each opcode, for decoding successful replies. */
const RESPONSE_TYPES: Partial<Record<number, RecordType<object, object>>> = {
  [OpCode.create]: CreateResponse,
  [OpCode.create2]: Create2Response,
  [OpCode.createContainer]: Create2Response,
  [OpCode.createTTL]: Create2Response,
  [OpCode.exists]: StatResponse,
  [OpCode.getData]: GetDataResponse,
  [OpCode.setData]: StatResponse,
  [OpCode.getACL]: GetACLResponse,
  [OpCode.setACL]: StatResponse,
  [OpCode.getChildren]: GetChildrenResponse,
  [OpCode.getChildren2]: GetChildren2Response,
  [OpCode.sync]: SyncResponse,
  [OpCode.getAllChildrenNumber]: GetAllChildrenNumberResponse,
  [OpCode.getEphemerals]: GetEphemeralsResponse,
  [OpCode.whoAmI]: WhoAmIResponse,
  [OpCode.addWatch]: ErrorResponse,
  [OpCode.sasl]: SaslToken,
};

export interface RawRecorderOptions {
  /**
   * How notification zxids go into the transcript. ZooKeeper 3.8 sends −1;
   * zkts, like 3.9, the zxid of the change. 'omit' (the default) leaves them
   * out so the rest can be compared; 'keep' normalises them.
   */
  notificationZxid?: 'omit' | 'keep';
  /** Leave reply-header zxids out (for steps where background transactions may move them). */
  omitReplyZxid?: boolean;
}

/** A raw session whose traffic is written into the transcript, tagged with `label`. */
export class RawRecorder {
  /** Index into client.received of the first item not yet written. */
  private written = 0;

  constructor(
    readonly client: RawClient,
    readonly t: Transcript,
    readonly label: string,
    readonly opts: RawRecorderOptions = {},
    /** Where to reconnect to end the session after the server closed the connection. */
    private readonly connectString?: string,
  ) {}

  /** Connects with a new session (or the given one) and records the ConnectResponse. */
  static async connect(target: Target, label = 'A', connect: ConnectOptions = {}, opts: RawRecorderOptions = {}): Promise<RawRecorder> {
    const client = await RawClient.session(target.connectString, connect);
    const recorder = new RawRecorder(client, target.t, label, opts, target.connectString);
    recorder.written = client.received.length;
    target.t.note({ [label]: 'connect', response: connectView(client.session!, target.t.norm) });
    return recorder;
  }

  get norm(): Normalizer {
    return this.t.norm;
  }

  /**
   * Sends a request and writes what arrived up to its reply (or the close).
   * `decode` overrides the response record chosen by opcode.
   */
  async call(what: unknown, type: number, body?: Buffer | EncodedBody, decode?: (reply: RawReply) => unknown, xid?: number): Promise<RawReply | 'closed'> {
    this.t.note({ [this.label]: what });
    const reply = await this.client.request(type, body, xid);
    this.writeReceived((r) => this.replyView(r, type, decode));
    return reply;
  }

  /** Sends raw bytes (whatever they are) and writes what arrived up to the reply with `xid` or the close. */
  async raw(what: unknown, bytes: Buffer, xid: number, type: number): Promise<RawReply | 'closed'> {
    this.t.note({ [this.label]: what });
    const reply = await this.client.sendRawAndAwait(bytes, xid);
    this.writeReceived((r) => this.replyView(r, type));
    return reply;
  }

  /** Waits (bounded) for the server to close the connection, then writes what arrived. */
  async expectClose(what = 'wait for close'): Promise<void> {
    this.t.note({ [this.label]: what });
    const closed = await this.client.waitClosed();
    this.writeReceived((r) => this.replyView(r, -999));
    if (!closed) this.t.note({ [this.label]: 'still open' });
  }

  /** Writes everything received so far (e.g. notifications) without sending anything. */
  flush(): void {
    this.writeReceived((r) => this.replyView(r, -999));
  }

  /** Marks everything received so far as written, for a scenario that recorded it its own way. */
  skipReceived(): void {
    this.written = this.client.received.length;
  }

  /** Ends the session, reconnecting first if the server has closed the connection. */
  async close(): Promise<void> {
    if (this.connectString === undefined) await this.client.close();
    else await this.client.end(this.connectString);
  }

  /**
   * Replies left out of the transcript: for answers the reference server gives or not depending
   * on its threads' timing (a scenario then checks what matters in them itself).
   */
  ignoredReplies: ((reply: RawReply) => boolean) | null = null;

  private writeReceived(view: (reply: RawReply) => unknown): void {
    const items = this.client.received.slice(this.written);
    this.written = this.client.received.length;
    for (const item of items) {
      if (item.kind === 'reply' && this.ignoredReplies?.(item.reply) === true) continue;
      this.t.note(this.itemView(item, view));
    }
  }

  private itemView(item: Received, view: (reply: RawReply) => unknown): unknown {
    switch (item.kind) {
      case 'reply':
        return { [this.label]: 'reply', ...(view(item.reply) as object) };
      case 'event': {
        const { type, state, path, zxid } = item.event;
        const zxidView = this.opts.notificationZxid === 'keep' ? { zxid: this.norm.zxid(zxid) } : {};
        return { [this.label]: 'event', type: EVENT_NAMES[type] ?? type, state, path, ...zxidView };
      }
      case 'connected':
        return { [this.label]: 'connect response', response: connectView(item.response, this.norm) };
      case 'garbage':
        return { [this.label]: 'garbage', bytes: item.bytes.length };
      case 'closed':
        return { [this.label]: 'closed' };
    }
  }

  /** A reply as { xid, zxid, err, body }: body decoded for its opcode when err is 0. */
  replyView(reply: RawReply, type: number, decode?: (reply: RawReply) => unknown): unknown {
    const head = {
      xid: reply.xid,
      ...(!this.opts.omitReplyZxid && { zxid: this.norm.zxid(reply.zxid) }),
      err: reply.err === 0 ? 'Ok' : errorName(reply.err),
    };
    if (decode !== undefined) return { ...head, body: decode(reply) };
    if (reply.err !== 0 || reply.body.length === 0) return reply.body.length === 0 ? head : { ...head, bodyBytes: reply.body.length };
    if (type === OpCode.multi || type === OpCode.multiRead) return { ...head, body: this.multiView(reply.body) };
    const record = RESPONSE_TYPES[type];
    if (record === undefined) return { ...head, bodyBytes: reply.body.length };
    return { ...head, body: this.recordView(record, reply.body) };
  }

  private recordView(record: RecordType<object, object>, bytes: Buffer): unknown {
    try {
      const r = new JuteReader(bytes);
      const value = record.decode(r);
      return { ...(this.normalizeValue(value) as object), ...(r.remaining > 0 && { trailingBytes: r.remaining }) };
    } catch {
      // Where decoding stops depends on the bytes (zxids included), so only the size is compared.
      return { undecodable: true, bytes: bytes.length };
    }
  }

  private multiView(bytes: Buffer): unknown {
    try {
      return decodeMultiResponse(new JuteReader(bytes)).map((result) => ({
        ...(this.normalizeValue(result) as object),
        type: result.type === OpCode.error ? 'error' : result.type,
        ...(result.type === OpCode.error && { err: errorName(result.err) }),
      }));
    } catch {
      return { undecodable: true, bytes: bytes.length };
    }
  }

  /** Stats, data and children lists in decoded records, normalised. */
  normalizeValue(value: unknown, key = ''): unknown {
    if (value === null || value === undefined) return value ?? null;
    if (Buffer.isBuffer(value)) return dataView(value);
    if (key === 'children' || key === 'ephemerals') return sortedChildren(value as string[]);
    if (key === 'stat') return this.norm.stat(value as Parameters<Normalizer['stat']>[0]);
    if (Array.isArray(value)) return value.map((v) => this.normalizeValue(v));
    if (typeof value === 'bigint') return String(value);
    if (typeof value !== 'object') return value;
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = this.normalizeValue(v, k);
    return out;
  }
}

export function connectView(response: RawConnectResponse | 'closed', norm: Normalizer): unknown {
  if (response === 'closed') return 'closed';
  return {
    protocolVersion: response.protocolVersion,
    timeOut: response.timeOut,
    sessionId: norm.session(response.sessionId),
    passwd: response.passwd === null ? null : response.passwd.every((b) => b === 0) ? `${response.passwd.length} zero bytes` : `${response.passwd.length} bytes`,
    readOnly: response.readOnly ?? 'absent',
    ...(response.extra > 0 && { extraBytes: response.extra }),
  };
}

/** A multi/multiRead request body. */
export function multiBody(ops: readonly MultiOpInput[]): Buffer {
  const w = new JuteWriter(256);
  encodeMultiRequest(w, ops);
  return w.take();
}

/** An ACL list as the records want it. */
export function acl(...entries: Array<[perms: number, scheme: string, id: string]>): Array<Parameters<typeof ACL.encode>[1]> {
  return entries.map(([perms, scheme, id]) => ({ perms, id: { scheme, id } }));
}

export const OPEN = acl([31, 'world', 'anyone']);
