/**
 * Fast Leader Election (ZooKeeper's FastLeaderElection), as a pure state
 * machine. Each round (an "election epoch") every voter proposes the best
 * vote it has seen — ordered by (peerEpoch, zxid, server id) — and tells
 * everyone; once a quorum of voters agrees with our proposal and nothing
 * better arrives within finalizeWait, the round is decided. A server that
 * arrives late learns the leader from the FOLLOWING/LEADING notifications of
 * a quorum. Notifications are resent with exponential back-off while no
 * decision is made.
 */
import { PeerState, type QuorumMessage, type Vote } from './messages.js';

export interface ElectionConfig {
  myId: number;
  voters: readonly number[];
  /** Everyone that takes part in elections (voters and observers). */
  members: readonly number[];
  finalizeWaitMs: number;
  minNotificationIntervalMs: number;
  maxNotificationIntervalMs: number;
}

export interface Decision {
  leader: number;
  zxid: number;
  peerEpoch: number;
  electionEpoch: number;
}

type Notification = Extract<QuorumMessage, { type: 'notification' }>;

/** (peerEpoch, zxid, leader) ordering; a server with no vote weight (an observer) never wins. */
export function isBetterVote(candidate: Vote, current: Vote, isVoter: (id: number) => boolean): boolean {
  if (!isVoter(candidate.leader)) return false;
  if (candidate.peerEpoch !== current.peerEpoch) return candidate.peerEpoch > current.peerEpoch;
  if (candidate.zxid !== current.zxid) return candidate.zxid > current.zxid;
  return candidate.leader > current.leader;
}

function sameVote(a: Vote, b: Vote): boolean {
  return a.leader === b.leader && a.zxid === b.zxid && a.peerEpoch === b.peerEpoch;
}

export class Election {
  /** The election round; persists across rounds so a restarted peer catches up via notifications. */
  logicalClock = 0;
  proposal: Vote;
  private ownVote: Vote;
  private readonly received = new Map<number, Vote>();
  private readonly outOfElection = new Map<number, { vote: Vote; electionEpoch: number; state: PeerState }>();
  private notificationIntervalMs: number;
  private nextResendMs = 0;
  /** Set while waiting out finalizeWait after reaching a quorum. */
  private finalizeAtMs: number | null = null;
  private readonly voterSet: ReadonlySet<number>;

  constructor(private readonly config: ElectionConfig) {
    this.voterSet = new Set(config.voters);
    this.notificationIntervalMs = config.minNotificationIntervalMs;
    this.proposal = { leader: config.myId, zxid: -1, peerEpoch: -1 };
    this.ownVote = this.proposal;
  }

  readonly isVoter = (id: number): boolean => this.voterSet.has(id);

  private hasQuorum(ids: Iterable<number>): boolean {
    let count = 0;
    for (const id of ids) if (this.voterSet.has(id)) count++;
    return count * 2 > this.config.voters.length;
  }

  /** Starts a new round with our own vote; returns the notifications to send. */
  start(ownVote: Vote, nowMs: number): { to: number; message: QuorumMessage }[] {
    this.logicalClock++;
    this.ownVote = ownVote;
    this.proposal = ownVote;
    this.received.clear();
    this.outOfElection.clear();
    this.finalizeAtMs = null;
    this.notificationIntervalMs = this.config.minNotificationIntervalMs;
    return this.broadcast(nowMs);
  }

  private notification(): Notification {
    return { type: 'notification', state: PeerState.Looking, vote: this.proposal, electionEpoch: this.logicalClock };
  }

  private broadcast(nowMs: number): { to: number; message: QuorumMessage }[] {
    this.nextResendMs = nowMs + this.notificationIntervalMs;
    const message = this.notification();
    return this.config.members.filter((to) => to !== this.config.myId).map((to) => ({ to, message }));
  }

  /**
   * Handles a notification while looking. Returns the notifications to send
   * and, when the round is over, the decision.
   */
  receive(from: number, n: Notification, nowMs: number): { sends: { to: number; message: QuorumMessage }[]; decision: Decision | null } {
    const sends: { to: number; message: QuorumMessage }[] = [];
    if (!this.isVoter(from)) {
      // Observers and unknown servers only learn our vote.
      sends.push({ to: from, message: this.notification() });
      return { sends, decision: null };
    }
    if (n.state === PeerState.Looking) return { sends, decision: this.receiveLooking(from, n, nowMs, sends) };
    if (n.state === PeerState.Observing) return { sends, decision: null };
    return { sends, decision: this.receiveFromSettled(from, n) };
  }

  private receiveLooking(
    from: number,
    n: Notification,
    nowMs: number,
    sends: { to: number; message: QuorumMessage }[],
  ): Decision | null {
    if (n.electionEpoch > this.logicalClock) {
      this.logicalClock = n.electionEpoch;
      this.received.clear();
      this.proposal = isBetterVote(n.vote, this.ownVote, this.isVoter) ? n.vote : this.ownVote;
      sends.push(...this.broadcast(nowMs));
    } else if (n.electionEpoch < this.logicalClock) {
      // A peer in an older round: tell it ours so it catches up.
      sends.push({ to: from, message: this.notification() });
      return null;
    } else if (isBetterVote(n.vote, this.proposal, this.isVoter)) {
      this.proposal = n.vote;
      this.finalizeAtMs = null;
      sends.push(...this.broadcast(nowMs));
    }
    this.received.set(from, n.vote);
    if (this.finalizeAtMs === null && this.agreeingQuorum()) {
      this.finalizeAtMs = nowMs + this.config.finalizeWaitMs;
    }
    return null;
  }

  private agreeingQuorum(): boolean {
    const agreeing: number[] = [];
    if (this.isVoter(this.config.myId)) agreeing.push(this.config.myId);
    for (const [id, vote] of this.received) if (id !== this.config.myId && sameVote(vote, this.proposal)) agreeing.push(id);
    return this.hasQuorum(agreeing);
  }

  /** A quorum already follows a leader that says it leads: join it (a late arrival). */
  private receiveFromSettled(from: number, n: Notification): Decision | null {
    const entry = { vote: n.vote, electionEpoch: n.electionEpoch, state: n.state };
    this.outOfElection.set(from, entry);
    if (n.electionEpoch === this.logicalClock) {
      this.received.set(from, n.vote);
      const withOurs = new Map(this.received);
      if (this.isVoter(this.config.myId)) withOurs.set(this.config.myId, this.proposal);
      if (this.settledQuorum(withOurs, n)) return this.decide(n.vote, n.electionEpoch);
    }
    const votes = new Map([...this.outOfElection].map(([id, e]) => [id, e.vote]));
    if (this.settledQuorum(votes, n)) {
      this.logicalClock = n.electionEpoch;
      return this.decide(n.vote, n.electionEpoch);
    }
    return null;
  }

  /**
   * Settled servers agree if they name the same leader in the same epoch;
   * their zxids differ legitimately (ZooKeeper's Vote.equals, ZOOKEEPER-1805).
   */
  private settledQuorum(votes: Map<number, Vote>, n: Notification): boolean {
    const agreeing = [...votes]
      .filter(([, v]) => v.leader === n.vote.leader && v.peerEpoch === n.vote.peerEpoch)
      .map(([id]) => id);
    if (!this.hasQuorum(agreeing)) return false;
    // checkLeader: the proposed leader must itself say it leads (or be us, in this round).
    if (n.vote.leader === this.config.myId) return n.electionEpoch === this.logicalClock;
    return this.outOfElection.get(n.vote.leader)?.state === PeerState.Leading;
  }

  private decide(vote: Vote, electionEpoch: number): Decision {
    this.finalizeAtMs = null;
    return { leader: vote.leader, zxid: vote.zxid, peerEpoch: vote.peerEpoch, electionEpoch };
  }

  /** Time passes: finish a round whose finalizeWait ran out, or resend notifications. */
  tick(nowMs: number): { sends: { to: number; message: QuorumMessage }[]; decision: Decision | null } {
    if (this.finalizeAtMs !== null && nowMs >= this.finalizeAtMs) {
      if (this.agreeingQuorum()) return { sends: [], decision: this.decide(this.proposal, this.logicalClock) };
      this.finalizeAtMs = null;
    }
    if (nowMs >= this.nextResendMs) {
      this.notificationIntervalMs = Math.min(this.notificationIntervalMs * 2, this.config.maxNotificationIntervalMs);
      return { sends: this.broadcast(nowMs), decision: null };
    }
    return { sends: [], decision: null };
  }
}
