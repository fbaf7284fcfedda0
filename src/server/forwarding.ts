/**
 * What a learner sends its leader on behalf of its clients (the payload of a
 * quorum `request` message): a write to prepare, a new session to create, or
 * the sessions that showed life lately (their pings are answered locally, but
 * only the leader expires sessions).
 */
import { JuteReader, JuteWriter, JuteError, record, vector, type Decoded } from '../jute/mod.js';
import { Id } from '../protocol/records.js';

const ForwardedWrite = record('ForwardedWrite', {
  sessionId: 'bigLong',
  cxid: 'int',
  type: 'int',
  authIds: vector(Id),
  body: 'buffer',
});
const ForwardedSession = record('ForwardedSession', { sessionId: 'bigLong', timeoutMs: 'int', password: 'buffer' });
const SessionTouches = record('SessionTouches', { sessionIds: vector('bigLong') });

export type Forwarded =
  | ({ kind: 'write' } & Decoded<typeof ForwardedWrite>)
  | ({ kind: 'createSession' } & Decoded<typeof ForwardedSession>)
  | ({ kind: 'touch' } & Decoded<typeof SessionTouches>);

const KIND_CODES = { write: 1, createSession: 2, touch: 3 } as const;

export function encodeForwarded(forwarded: Forwarded): Buffer {
  const w = new JuteWriter(256);
  w.writeInt(KIND_CODES[forwarded.kind]);
  switch (forwarded.kind) {
    case 'write':
      ForwardedWrite.encode(w, forwarded);
      break;
    case 'createSession':
      ForwardedSession.encode(w, forwarded);
      break;
    case 'touch':
      SessionTouches.encode(w, forwarded);
      break;
  }
  return w.take();
}

/** Decodes a forwarded payload; throws JuteError on anything malformed. */
export function decodeForwarded(payload: Uint8Array): Forwarded {
  const r = new JuteReader(Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength));
  const kind = r.readInt();
  switch (kind) {
    case KIND_CODES.write:
      return { kind: 'write', ...ForwardedWrite.decode(r) };
    case KIND_CODES.createSession:
      return { kind: 'createSession', ...ForwardedSession.decode(r) };
    case KIND_CODES.touch:
      return { kind: 'touch', ...SessionTouches.decode(r) };
    default:
      throw new JuteError(`unknown forwarded payload kind ${kind}`);
  }
}
