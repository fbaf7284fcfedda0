/**
 * What the consensus core exchanges with its peers (messages), what drives
 * it (events), and what it asks its driver to do (effects).
 *
 * The core is a pure state machine: `step(event)` then `takeEffects()`. It
 * never touches a socket, a file or a clock; the driver does, in the order
 * the effects are given:
 *   - `persistEpochs`, `truncate` and `installSnapshot` complete (durably)
 *     before the driver handles the next effect;
 *   - `append` is asynchronous: the driver reports durability with a `logged`
 *     event, and the core acknowledges nothing before it;
 *   - `apply` effects come in zxid order and must be applied before the
 *     driver handles any later effect (a snapshot sent to a learner reflects
 *     exactly the applies emitted before it).
 *
 * Election messages may be lost, duplicated or reordered. Everything else
 * travels over a FIFO channel between a learner and its leader (TCP in the
 * real driver): when it breaks, the driver reports `disconnected`.
 */

export const PeerState = {
  Looking: 0,
  Following: 1,
  Leading: 2,
  Observing: 3,
} as const;
export type PeerState = (typeof PeerState)[keyof typeof PeerState];

/** A vote in Fast Leader Election: ordered by (peerEpoch, zxid, leader). */
export interface Vote {
  leader: number;
  zxid: number;
  peerEpoch: number;
}

export type QuorumMessage =
  // election (its own channel)
  | { type: 'notification'; state: PeerState; vote: Vote; electionEpoch: number }
  // learner → leader
  | { type: 'learnerInfo'; acceptedEpoch: number; observer: boolean }
  | { type: 'ackEpoch'; currentEpoch: number; lastZxid: number }
  | { type: 'ack'; zxid: number }
  | { type: 'request'; payload: Uint8Array }
  | { type: 'syncRequest'; id: number }
  | { type: 'pong'; round: number }
  // leader → learner
  | { type: 'leaderInfo'; epoch: number }
  | { type: 'diff'; zxid: number }
  | { type: 'trunc'; zxid: number }
  | { type: 'snap'; zxid: number; snapshot: Uint8Array }
  | { type: 'proposal'; zxid: number; txn: Uint8Array }
  | { type: 'commit'; zxid: number }
  | { type: 'inform'; zxid: number; txn: Uint8Array }
  | { type: 'newLeader'; zxid: number }
  | { type: 'upToDate'; zxid: number }
  | { type: 'ping'; round: number }
  | { type: 'syncReply'; id: number; zxid: number };

export type PeerEvent =
  /** Time passes; `nowMs` is the driver's monotonic clock. */
  | { type: 'tick'; nowMs: number }
  | { type: 'message'; from: number; message: QuorumMessage }
  /** The FIFO channel with a learner (on the leader) or with the leader (on a learner) is up / down. */
  | { type: 'connected'; peer: number }
  | { type: 'disconnected'; peer: number }
  /** Everything appended up to `zxid` is durable. */
  | { type: 'logged'; zxid: number }
  /** Leader: a transaction prepared by the server, with the next zxid of this epoch. */
  | { type: 'propose'; zxid: number; txn: Uint8Array }
  /** Learner: a server-level payload (a client write, session touches) for the leader. */
  | { type: 'forward'; payload: Uint8Array }
  /** A client sync: answered by `syncDone` once the leader has confirmed it still leads. */
  | { type: 'sync'; id: number };

export type Role = 'looking' | 'leading' | 'following' | 'observing';

export type PeerEffect =
  | { type: 'send'; to: number; message: QuorumMessage }
  /** Leader: send the learner `{type: 'snap', zxid, snapshot}` of the state as applied now (at `zxid`). */
  | { type: 'sendSnapshot'; to: number; zxid: number }
  /** Learner: open the FIFO channel to the leader (answered by `connected` or `disconnected`). */
  | { type: 'connect'; leader: number }
  /** Close the FIFO channel with `peer`. */
  | { type: 'disconnect'; peer: number }
  | { type: 'persistEpochs'; acceptedEpoch: number; currentEpoch: number }
  | { type: 'append'; zxid: number; txn: Uint8Array }
  /** Drop every logged transaction after `zxid` and rebuild the state from what remains. */
  | { type: 'truncate'; zxid: number }
  /** Replace state and log with the leader's snapshot at `zxid`. */
  | { type: 'installSnapshot'; zxid: number; snapshot: Uint8Array }
  | { type: 'apply'; zxid: number; txn: Uint8Array }
  /** `reason` says why a peer went back to looking (for the log). */
  | { type: 'roleChanged'; role: Role; leader: number; epoch: number; serving: boolean; reason?: string }
  /** Leader: a learner forwarded a server-level payload. */
  | { type: 'request'; from: number; payload: Uint8Array }
  /** A `sync` is confirmed: answer it once everything up to `zxid` is applied. */
  | { type: 'syncDone'; id: number; zxid: number }
  /** Syncs that can no longer be confirmed (leadership lost). */
  | { type: 'syncFailed'; ids: number[] };
