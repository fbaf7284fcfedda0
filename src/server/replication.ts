/**
 * What the request pipeline needs from replication: whether it may serve,
 * and where writes, new sessions, liveness and syncs go. The quorum driver
 * provides it for an ensemble and, with one voter, for a standalone server.
 */
import type { WriteRequest } from '../protocol/requests.js';
import type { Role } from '../quorum/messages.js';
import type { RequestContext } from './prep.js';

export interface ReplicationStatus {
  role: Role;
  epoch: number;
  leader: number;
  serving: boolean;
  lastLoggedZxid: number;
  learners: { id: number; observer: boolean; synced: boolean }[];
}

export interface Replication {
  /** May clients be served: an established leader, or a learner in sync with one. */
  readonly serving: boolean;
  /** This server prepares writes and expires sessions. */
  readonly isLeader: boolean;
  status(): ReplicationStatus;
  /**
   * A client write: prepared here if leading, else forwarded to the leader.
   * `request` is null when its body could not be decoded; `body` is the raw body.
   */
  write(ctx: RequestContext, type: number, request: WriteRequest | null, body: Buffer): void;
  createSession(sessionId: bigint, timeoutMs: number, password: Buffer): void;
  /** A client of this server showed life. */
  touchSession(sessionId: bigint): void;
  /** Whether a session a client wants to resume is still live (as far as this server knows). */
  sessionAlive(sessionId: bigint): boolean;
  /** done(true) once a quorum-confirmed point is applied here; done(false) when that cannot happen. */
  sync(done: (ok: boolean) => void): void;
  /** Leader only: a request the server makes itself (expiry, the container reaper). */
  proposeServerRequest(ctx: RequestContext, request: WriteRequest): void;
}
