/**
 * QuorumPeer: one server's part in ZAB (ZooKeeper Atomic Broadcast) — Fast
 * Leader Election, then discovery (a new epoch agreed by a quorum), then
 * synchronization (DIFF / TRUNC / SNAP until NEWLEADER is acknowledged by a
 * quorum), then broadcast (PROPOSAL → durable → ACK → COMMIT on a quorum).
 *
 * A pure state machine with a small surface: `step(event)`, then
 * `takeEffects()`; see messages.ts for the contract with its driver. It
 * reads no clock, file or socket, so a simulator can drive many of them in
 * one process, deterministically.
 *
 * Deviations from ZooKeeper, on purpose:
 *  - ACKs and COMMITs are cumulative (an ACK for zxid z means "durable
 *    through z"; a COMMIT for z commits everything up to z).
 *  - A sync is linearizable: the leader answers it only after a quorum has
 *    confirmed, in a heartbeat round begun after the sync arrived, that it
 *    still leads (ZOOKEEPER-1675 is the bug this avoids).
 */
import { MAX_COUNTER, counterOf, epochOf, makeZxid, zxidFollows, zxidHex } from '../protocol/zxid.js';
import { Election, type Decision } from './election.js';
import { History, type LoggedTxn } from './history.js';
import { PeerState, type PeerEffect, type PeerEvent, type QuorumMessage, type Role, type Vote } from './messages.js';

export interface PeerConfig {
  myId: number;
  voters: readonly number[];
  observers: readonly number[];
  tickMs: number;
  /** Ticks a learner may take to connect and sync with its leader. */
  initLimit: number;
  /** Ticks a learner (or a quorum, for the leader) may stay silent once synced. */
  syncLimit: number;
  finalizeWaitMs?: number;
  minNotificationIntervalMs?: number;
  maxNotificationIntervalMs?: number;
  /** Committed transactions kept in memory for DIFF syncs (commitLogCount). */
  commitLogCount?: number;
  /** The last counter a leader proposes before starting a new epoch (tests lower it). */
  maxCounter?: number;
}

/** What a peer knows from its disk when it starts. */
export interface PersistedState {
  acceptedEpoch: number;
  currentEpoch: number;
  /** The last zxid in the log (all of it is applied at start, as ZooKeeper does). */
  lastZxid: number;
  /** The tail of the log, for DIFF syncs; `base` is the zxid just before it. */
  recent: readonly LoggedTxn[];
  recentBase: number;
}

interface LearnerHandle {
  id: number;
  observer: boolean;
  acceptedEpoch: number;
  stage: 'info' | 'epochAcked' | 'synced' | 'upToDate';
  /** Reported in ACKEPOCH. */
  lastZxid: number;
  /** Durable through this zxid (cumulative ACKs, counted only once synced). */
  ackedZxid: number;
  lastHeardMs: number;
  pongRound: number;
  /** Receives proposals (or informs) as they happen. */
  forwarding: boolean;
}

interface PendingSync {
  id: number;
  /** The learner that asked, or our own id. */
  requester: number;
  /** Everything proposed when the sync arrived must be committed before answering. */
  zxid: number;
  /** A heartbeat round begun after the sync arrived must be confirmed by a quorum. */
  round: number;
}

interface LeaderRole {
  kind: 'leading';
  phase: 'discovery' | 'sync' | 'broadcast';
  epoch: number;
  startedMs: number;
  learners: Map<number, LearnerHandle>;
  ownAckedZxid: number;
  /** The last zxid in our history (proposed, maybe not yet committed). */
  lastProposed: number;
  /** The zxid the next proposal must carry (set once established). */
  nextZxid: number;
  newLeaderAcks: Set<number>;
  pingRound: number;
  nextPingMs: number;
  syncs: PendingSync[];
}

interface LearnerRole {
  kind: 'following' | 'observing';
  leader: number;
  stage: 'connecting' | 'info' | 'syncing' | 'newLeaderPending' | 'awaitUpToDate' | 'broadcast';
  epoch: number;
  startedMs: number;
  lastHeardMs: number;
  /** The zxid of NEWLEADER to ACK once everything received so far is durable. */
  newLeaderZxid: number;
  lastAckedZxid: number;
  /** Syncs forwarded to the leader, to fail if the leader goes away. */
  syncs: Set<number>;
}

interface LookingRole {
  kind: 'looking';
}

type RoleState = LeaderRole | LearnerRole | LookingRole;

export class QuorumPeer {
  private readonly config: Required<PeerConfig>;
  private readonly voterSet: ReadonlySet<number>;
  private readonly election: Election;
  private effects: PeerEffect[] = [];
  private nowMs: number;
  private role: RoleState = { kind: 'looking' };
  /** The vote we settled on, told to peers that are still looking. */
  private currentVote: Vote;

  private acceptedEpoch: number;
  private currentEpoch: number;
  /** The end of our log as asked of the driver, and as reported durable. */
  private lastAppended: number;
  private lastLogged: number;
  private lastCommitted: number;
  private readonly history: History;
  /** Up to where a commit has been announced (learners), not yet applied because the txn is missing. */
  private commitTarget: number;
  /**
   * Learners that decided we lead before we did: their LEARNERINFO waits
   * here until we lead (or are dropped, with their channel, if we do not).
   */
  private readonly earlyLearners = new Map<number, { acceptedEpoch: number; observer: boolean }>();

  constructor(config: PeerConfig, persisted: PersistedState, nowMs: number) {
    this.config = {
      finalizeWaitMs: 200,
      minNotificationIntervalMs: 200,
      maxNotificationIntervalMs: 60_000,
      commitLogCount: 500,
      maxCounter: MAX_COUNTER,
      ...config,
    };
    this.voterSet = new Set(config.voters);
    this.nowMs = nowMs;
    this.acceptedEpoch = persisted.acceptedEpoch;
    this.currentEpoch = persisted.currentEpoch;
    this.lastAppended = persisted.lastZxid;
    this.lastLogged = persisted.lastZxid;
    this.lastCommitted = persisted.lastZxid;
    this.commitTarget = persisted.lastZxid;
    this.history = new History(persisted.recentBase, persisted.recent, this.config.commitLogCount);
    this.election = new Election({
      myId: config.myId,
      voters: config.voters,
      members: [...config.voters, ...config.observers],
      finalizeWaitMs: this.config.finalizeWaitMs,
      minNotificationIntervalMs: this.config.minNotificationIntervalMs,
      maxNotificationIntervalMs: this.config.maxNotificationIntervalMs,
    });
    this.currentVote = this.ownVote();
    this.lookForLeader('startup');
  }

  // ---- the driving surface ----

  step(event: PeerEvent): void {
    switch (event.type) {
      case 'tick':
        this.nowMs = Math.max(this.nowMs, event.nowMs);
        this.onTick();
        return;
      case 'message':
        this.onMessage(event.from, event.message);
        return;
      case 'connected':
        this.onConnected(event.peer);
        return;
      case 'disconnected':
        this.onDisconnected(event.peer);
        return;
      case 'logged':
        this.onLogged(event.zxid);
        return;
      case 'propose':
        this.onPropose(event.zxid, event.txn);
        return;
      case 'forward':
        this.onForward(event.payload);
        return;
      case 'sync':
        this.onSync(event.id);
        return;
    }
  }

  takeEffects(): PeerEffect[] {
    const effects = this.effects;
    this.effects = [];
    return effects;
  }

  // ---- observable state (for the driver, status words and the simulator's checks) ----

  get id(): number {
    return this.config.myId;
  }

  get state(): Role {
    return this.role.kind;
  }

  get leaderId(): number {
    return this.role.kind === 'leading' ? this.config.myId : this.role.kind === 'looking' ? -1 : this.role.leader;
  }

  /** True when this peer may serve clients: an established leader, or a learner that is up to date. */
  get serving(): boolean {
    if (this.role.kind === 'leading') return this.role.phase === 'broadcast';
    if (this.role.kind === 'looking') return false;
    return this.role.stage === 'broadcast';
  }

  get epochs(): { acceptedEpoch: number; currentEpoch: number } {
    return { acceptedEpoch: this.acceptedEpoch, currentEpoch: this.currentEpoch };
  }

  get zxids(): { appended: number; logged: number; committed: number } {
    return { appended: this.lastAppended, logged: this.lastLogged, committed: this.lastCommitted };
  }

  /** The leader's view of its learners (for status output). */
  learnerSummary(): { id: number; observer: boolean; synced: boolean }[] {
    if (this.role.kind !== 'leading') return [];
    return [...this.role.learners.values()].map((l) => ({ id: l.id, observer: l.observer, synced: l.stage === 'upToDate' }));
  }

  /** The next zxid a leader in broadcast would assign (or −1). */
  get nextZxid(): number {
    return this.role.kind === 'leading' && this.role.phase === 'broadcast' ? this.role.nextZxid : -1;
  }

  // ---- helpers ----

  private emit(effect: PeerEffect): void {
    this.effects.push(effect);
  }

  private send(to: number, message: QuorumMessage): void {
    this.emit({ type: 'send', to, message });
  }

  private isVoter(id: number): boolean {
    return this.voterSet.has(id);
  }

  private isQuorum(count: number): boolean {
    return count * 2 > this.config.voters.length;
  }

  private get isObserver(): boolean {
    return !this.isVoter(this.config.myId);
  }

  private ownVote(): Vote {
    return { leader: this.config.myId, zxid: this.lastAppended, peerEpoch: this.currentEpoch };
  }

  private roleChanged(reason?: string): void {
    this.emit({
      type: 'roleChanged',
      role: this.role.kind,
      leader: this.leaderId,
      epoch: this.role.kind === 'looking' ? this.currentEpoch : this.role.epoch,
      serving: this.serving,
      ...(reason !== undefined && { reason }),
    });
  }

  private persistEpochs(): void {
    this.emit({ type: 'persistEpochs', acceptedEpoch: this.acceptedEpoch, currentEpoch: this.currentEpoch });
    // What we tell late peers carries the epoch we now serve in (QuorumPeer.updateElectionVote).
    if (this.role.kind !== 'looking') this.currentVote = { ...this.currentVote, peerEpoch: this.currentEpoch };
  }

  /** Appends a transaction to our log (the driver reports durability). */
  private appendTxn(zxid: number, txn: Uint8Array): void {
    this.history.append({ zxid, txn });
    this.lastAppended = zxid;
    this.emit({ type: 'append', zxid, txn });
  }

  /** Applies, in order, every logged transaction up to `zxid` not yet applied. */
  private commitThrough(zxid: number): void {
    if (zxid > this.commitTarget) this.commitTarget = zxid;
    const upTo = Math.min(this.commitTarget, this.lastAppended);
    if (upTo <= this.lastCommitted) return;
    for (const entry of this.history.range(this.lastCommitted, upTo)) {
      this.emit({ type: 'apply', zxid: entry.zxid, txn: entry.txn });
      this.lastCommitted = entry.zxid;
    }
    this.history.trim(this.lastCommitted);
  }

  // ---- looking ----

  private lookForLeader(reason: string): void {
    this.leaveRole();
    this.role = { kind: 'looking' };
    this.roleChanged(reason);
    const sends = this.election.start(this.ownVote(), this.nowMs);
    if (this.config.voters.length === 1 && this.isVoter(this.config.myId)) {
      // An ensemble of one: nobody to wait for.
      this.onDecision({ ...this.ownVote(), electionEpoch: this.election.logicalClock });
      return;
    }
    for (const { to, message } of sends) this.send(to, message);
  }

  /** Undoes what the current role holds: channels and pending syncs. */
  private leaveRole(): void {
    const role = this.role;
    if (role.kind === 'leading') {
      for (const id of role.learners.keys()) this.emit({ type: 'disconnect', peer: id });
      const ids = role.syncs.filter((s) => s.requester === this.config.myId).map((s) => s.id);
      if (ids.length > 0) this.emit({ type: 'syncFailed', ids });
    } else if (role.kind !== 'looking') {
      this.emit({ type: 'disconnect', peer: role.leader });
      if (role.syncs.size > 0) this.emit({ type: 'syncFailed', ids: [...role.syncs] });
    }
  }

  private onDecision(decision: Decision): void {
    this.currentVote = { leader: decision.leader, zxid: decision.zxid, peerEpoch: decision.peerEpoch };
    if (decision.leader === this.config.myId) {
      this.becomeLeader();
    } else {
      this.becomeLearner(decision.leader);
    }
  }

  // ---- messages ----

  private onMessage(from: number, message: QuorumMessage): void {
    if (message.type === 'notification') {
      this.onNotification(from, message);
      return;
    }
    const role = this.role;
    if (role.kind === 'leading') this.onMessageAsLeader(role, from, message);
    else if (role.kind === 'looking' && message.type === 'learnerInfo') this.earlyLearners.set(from, message);
    else if (role.kind !== 'looking' && from === role.leader) this.onMessageAsLearner(role, message);
  }

  private onNotification(from: number, n: Extract<QuorumMessage, { type: 'notification' }>): void {
    if (this.role.kind === 'looking') {
      const { sends, decision } = this.election.receive(from, n, this.nowMs);
      for (const { to, message } of sends) this.send(to, message);
      if (decision !== null) this.onDecision(decision);
      return;
    }
    // Settled: tell a peer that is still looking who leads.
    if (n.state === PeerState.Looking) {
      const state = this.role.kind === 'leading' ? PeerState.Leading : this.role.kind === 'observing' ? PeerState.Observing : PeerState.Following;
      this.send(from, { type: 'notification', state, vote: this.currentVote, electionEpoch: this.election.logicalClock });
    }
  }

  private onTick(): void {
    const role = this.role;
    if (role.kind === 'looking') {
      const { sends, decision } = this.election.tick(this.nowMs);
      for (const { to, message } of sends) this.send(to, message);
      if (decision !== null) this.onDecision(decision);
    } else if (role.kind === 'leading') {
      this.leaderTick(role);
    } else {
      const limit = (role.stage === 'broadcast' ? this.config.syncLimit : this.config.initLimit) * this.config.tickMs;
      if (this.nowMs - role.lastHeardMs > limit) this.lookForLeader(`no word from leader ${role.leader} in ${limit} ms`);
    }
  }

  private onConnected(peer: number): void {
    const role = this.role;
    if (role.kind !== 'following' && role.kind !== 'observing') return;
    if (peer !== role.leader || role.stage !== 'connecting') return;
    role.stage = 'info';
    role.lastHeardMs = this.nowMs;
    this.send(role.leader, { type: 'learnerInfo', acceptedEpoch: this.acceptedEpoch, observer: role.kind === 'observing' });
  }

  private onDisconnected(peer: number): void {
    this.earlyLearners.delete(peer);
    const role = this.role;
    if (role.kind === 'leading') {
      if (role.learners.delete(peer)) this.leaderCheckProgress(role);
    } else if (role.kind !== 'looking' && peer === role.leader) {
      this.lookForLeader(`lost the connection to leader ${peer}`);
    }
  }

  private onLogged(zxid: number): void {
    if (zxid <= this.lastLogged) return;
    this.lastLogged = Math.min(zxid, this.lastAppended);
    const role = this.role;
    if (role.kind === 'leading') {
      role.ownAckedZxid = this.lastLogged;
      this.leaderCheckProgress(role);
    } else if (role.kind === 'following' || role.kind === 'observing') {
      this.learnerAckDurable(role);
    }
  }

  // ---- leader ----

  private becomeLeader(): void {
    this.leaveRole();
    const learners = new Map<number, LearnerHandle>();
    this.role = {
      kind: 'leading',
      phase: 'discovery',
      epoch: -1,
      startedMs: this.nowMs,
      learners,
      ownAckedZxid: this.lastLogged,
      lastProposed: this.lastAppended,
      nextZxid: -1,
      newLeaderAcks: new Set([this.config.myId]),
      pingRound: 0,
      nextPingMs: this.nowMs,
      syncs: [],
    };
    this.roleChanged();
    const early = [...this.earlyLearners];
    this.earlyLearners.clear();
    for (const [id, info] of early) this.onLearnerInfo(this.role, id, info.acceptedEpoch, info.observer);
    this.leaderCheckProgress(this.role);
  }

  private onMessageAsLeader(role: LeaderRole, from: number, message: QuorumMessage): void {
    if (message.type === 'learnerInfo') {
      this.onLearnerInfo(role, from, message.acceptedEpoch, message.observer);
      return;
    }
    const learner = role.learners.get(from);
    if (learner === undefined) return;
    learner.lastHeardMs = this.nowMs;
    switch (message.type) {
      case 'ackEpoch':
        this.onAckEpoch(role, learner, message.currentEpoch, message.lastZxid);
        return;
      case 'ack':
        this.onAck(role, learner, message.zxid);
        return;
      case 'pong':
        learner.pongRound = Math.max(learner.pongRound, message.round);
        this.leaderCheckProgress(role);
        return;
      case 'request':
        this.emit({ type: 'request', from, payload: message.payload });
        return;
      case 'syncRequest':
        this.beginSync(role, message.id, from);
        return;
      default:
        return;
    }
  }

  private onLearnerInfo(role: LeaderRole, from: number, acceptedEpoch: number, observer: boolean): void {
    if (observer === this.isVoter(from)) {
      this.emit({ type: 'disconnect', peer: from });
      return;
    }
    role.learners.set(from, {
      id: from,
      observer,
      acceptedEpoch,
      stage: 'info',
      lastZxid: -1,
      ackedZxid: -1,
      lastHeardMs: this.nowMs,
      pongRound: 0,
      forwarding: false,
    });
    // Until the epoch is chosen, the learner counts towards choosing it; afterwards it is told it at once.
    if (role.epoch === -1) this.leaderCheckProgress(role);
    else this.sendLeaderInfo(role, role.learners.get(from)!);
  }

  private sendLeaderInfo(role: LeaderRole, learner: LearnerHandle): void {
    if (learner.acceptedEpoch > role.epoch) {
      // It promised a later epoch (in a discovery round that never completed) and can never
      // follow ours. Left alone it would be locked out until the next leader change, so we
      // step down: the next election's leader proposes an epoch above every promise it hears.
      this.lookForLeader(`server ${learner.id} accepted epoch ${learner.acceptedEpoch}, later than ours (${role.epoch})`);
      return;
    }
    this.send(learner.id, { type: 'leaderInfo', epoch: role.epoch });
  }

  private onAckEpoch(role: LeaderRole, learner: LearnerHandle, currentEpoch: number, lastZxid: number): void {
    if (learner.stage !== 'info') return;
    const ahead = currentEpoch > this.currentEpoch || (currentEpoch === this.currentEpoch && lastZxid > this.lastAppended);
    if (ahead && role.phase !== 'broadcast' && !learner.observer) {
      this.lookForLeader(`follower ${learner.id} is ahead of the leader (epoch ${currentEpoch}, zxid ${zxidHex(lastZxid)})`);
      return;
    }
    learner.stage = 'epochAcked';
    learner.lastZxid = lastZxid;
    if (role.phase === 'discovery') this.leaderCheckProgress(role);
    else this.syncLearner(role, learner);
  }

  /**
   * Brings a learner's log in line with ours: a DIFF from its last zxid, a
   * TRUNC back to our history first if it has txns we never had, or a whole
   * snapshot if it is too far behind. Then NEWLEADER; from now on it also
   * receives every new proposal, so nothing falls between the sync and the
   * broadcast.
   */
  private syncLearner(role: LeaderRole, learner: LearnerHandle): void {
    const peerLast = learner.lastZxid;
    const ourLast = role.lastProposed;
    const history = this.history;
    let sendFrom: number;
    if (peerLast === ourLast || (peerLast < ourLast && history.contains(peerLast))) {
      this.send(learner.id, { type: 'diff', zxid: ourLast });
      sendFrom = peerLast;
    } else if (peerLast > ourLast && epochOf(peerLast) === epochOf(ourLast) && history.contains(ourLast)) {
      this.send(learner.id, { type: 'trunc', zxid: ourLast });
      sendFrom = ourLast;
    } else {
      const divergedAt = history.lastBefore(peerLast);
      if (peerLast < ourLast && divergedAt !== null) {
        this.send(learner.id, { type: 'trunc', zxid: divergedAt });
        sendFrom = divergedAt;
      } else {
        this.emit({ type: 'sendSnapshot', to: learner.id, zxid: this.lastCommitted });
        sendFrom = this.lastCommitted;
      }
    }
    this.sendTxns(role, learner, sendFrom, ourLast);
    this.send(learner.id, { type: 'newLeader', zxid: makeZxid(role.epoch, 0) });
    learner.stage = 'synced';
    learner.forwarding = true;
  }

  /**
   * Sends what a learner lacks in (after, upTo] as proposals, then a commit
   * for what is already committed. (Observers log them too; the rest reaches
   * them as informs once committed.)
   */
  private sendTxns(role: LeaderRole, learner: LearnerHandle, after: number, upTo: number): void {
    for (const entry of this.history.range(after, upTo)) {
      this.send(learner.id, { type: 'proposal', zxid: entry.zxid, txn: entry.txn });
    }
    if (role.phase === 'broadcast' && this.lastCommitted > after) {
      this.send(learner.id, { type: 'commit', zxid: this.lastCommitted });
    }
  }

  private onAck(role: LeaderRole, learner: LearnerHandle, zxid: number): void {
    if (role.phase !== 'broadcast' && zxid === makeZxid(role.epoch, 0) && learner.stage === 'synced') {
      role.newLeaderAcks.add(learner.id);
      this.leaderCheckProgress(role);
      return;
    }
    if (zxid === makeZxid(role.epoch, 0) && learner.stage === 'synced') {
      // A learner joining an established leader.
      learner.stage = 'upToDate';
      this.send(learner.id, { type: 'upToDate', zxid: this.lastCommitted });
      return;
    }
    if (learner.stage === 'upToDate' || role.newLeaderAcks.has(learner.id)) {
      if (zxid > learner.ackedZxid) learner.ackedZxid = zxid;
      this.leaderCheckProgress(role);
    }
  }

  /** Re-evaluates everything that waits on a quorum: epoch, establishment, commits, syncs. */
  private leaderCheckProgress(role: LeaderRole): void {
    if (this.role !== role) return;
    if (role.phase === 'discovery') this.leaderDiscovery(role);
    if (this.role !== role) return;
    if (role.phase === 'sync') this.leaderEstablish(role);
    if (role.phase === 'broadcast') {
      this.leaderCommit(role);
      this.leaderAnswerSyncs(role);
    }
  }

  private leaderDiscovery(role: LeaderRole): void {
    if (role.epoch === -1) {
      const voters = [...role.learners.values()].filter((l) => !l.observer);
      if (!this.isQuorum(voters.length + (this.isVoter(this.config.myId) ? 1 : 0))) return;
      role.epoch = Math.max(this.acceptedEpoch, ...voters.map((l) => l.acceptedEpoch)) + 1;
      this.acceptedEpoch = role.epoch;
      this.persistEpochs();
      for (const learner of [...role.learners.values()]) this.sendLeaderInfo(role, learner);
      if (this.role !== role) return;
    }
    const acked = [...role.learners.values()].filter((l) => !l.observer && l.stage === 'epochAcked');
    if (!this.isQuorum(acked.length + 1)) return;
    // Our own history must be durable before our currentEpoch vouches for it (see learnerAckDurable).
    if (role.ownAckedZxid < role.lastProposed) return;
    this.currentEpoch = role.epoch;
    this.persistEpochs();
    role.phase = 'sync';
    for (const learner of role.learners.values()) if (learner.stage === 'epochAcked') this.syncLearner(role, learner);
  }

  /** A quorum acknowledged NEWLEADER: our whole history is committed and we lead. */
  private leaderEstablish(role: LeaderRole): void {
    if (role.ownAckedZxid < role.lastProposed) return;
    const ackedVoters = [...role.newLeaderAcks].filter((id) => this.isVoter(id));
    if (!this.isQuorum(ackedVoters.length)) return;
    role.phase = 'broadcast';
    const established = role.lastProposed;
    this.commitThrough(established);
    for (const learner of role.learners.values()) {
      if (!role.newLeaderAcks.has(learner.id)) continue;
      learner.stage = 'upToDate';
      if (!learner.observer) learner.ackedZxid = Math.max(learner.ackedZxid, established);
      this.send(learner.id, { type: 'upToDate', zxid: established });
    }
    // New proposals start at counter 1 of the new epoch.
    role.nextZxid = makeZxid(role.epoch, 1);
    this.roleChanged();
  }

  /** Commits up to the highest zxid a quorum of voters has made durable. */
  private leaderCommit(role: LeaderRole): void {
    const acks = [...role.learners.values()]
      .filter((l) => !l.observer && l.stage === 'upToDate')
      .map((l) => l.ackedZxid);
    if (this.isVoter(this.config.myId)) acks.push(role.ownAckedZxid);
    const needed = Math.floor(this.config.voters.length / 2) + 1;
    if (acks.length < needed) return;
    acks.sort((a, b) => b - a);
    const quorumZxid = Math.min(acks[needed - 1]!, role.lastProposed);
    if (quorumZxid <= this.lastCommitted) return;
    const before = this.lastCommitted;
    this.commitThrough(quorumZxid);
    for (const learner of role.learners.values()) {
      if (!learner.forwarding) continue;
      if (learner.observer) {
        for (const entry of this.history.range(before, this.lastCommitted)) {
          this.send(learner.id, { type: 'inform', zxid: entry.zxid, txn: entry.txn });
        }
      } else {
        this.send(learner.id, { type: 'commit', zxid: this.lastCommitted });
      }
    }
  }

  private onPropose(zxid: number, txn: Uint8Array): void {
    const role = this.role;
    if (role.kind !== 'leading' || role.phase !== 'broadcast') {
      throw new Error(`propose 0x${zxid.toString(16)} while not an established leader`);
    }
    if (zxid !== role.nextZxid) {
      throw new Error(`propose ${zxidHex(zxid)} out of order: expected ${zxidHex(role.nextZxid)}`);
    }
    role.lastProposed = zxid;
    role.nextZxid = zxid + 1;
    this.appendTxn(zxid, txn);
    for (const learner of role.learners.values()) {
      if (learner.forwarding && !learner.observer) this.send(learner.id, { type: 'proposal', zxid, txn });
    }
    if (counterOf(zxid) >= this.config.maxCounter) {
      // The counter would roll over: start a new epoch (ZOOKEEPER-1277). Nothing
      // acknowledged is lost: this proposal commits only if a quorum logged it.
      this.lookForLeader('the zxid counter of this epoch is exhausted');
    }
  }

  private leaderTick(role: LeaderRole): void {
    const limitMs = (role.phase === 'broadcast' ? this.config.syncLimit : this.config.initLimit) * this.config.tickMs;
    if (role.phase !== 'broadcast' && this.nowMs - role.startedMs > limitMs) {
      this.lookForLeader('no quorum of learners synced within initLimit');
      return;
    }
    if (role.phase === 'broadcast') {
      const heard = [...role.learners.values()].filter((l) => !l.observer && l.stage === 'upToDate' && this.nowMs - l.lastHeardMs <= limitMs);
      if (!this.isQuorum(heard.length + (this.isVoter(this.config.myId) ? 1 : 0))) {
        this.lookForLeader('lost the quorum of followers');
        return;
      }
    }
    if (this.nowMs >= role.nextPingMs) this.pingLearners(role);
  }

  private pingLearners(role: LeaderRole): void {
    role.pingRound++;
    role.nextPingMs = this.nowMs + Math.max(1, Math.floor(this.config.tickMs / 2));
    for (const learner of role.learners.values()) {
      if (learner.stage === 'upToDate' || learner.stage === 'synced') this.send(learner.id, { type: 'ping', round: role.pingRound });
    }
  }

  private beginSync(role: LeaderRole, id: number, requester: number): void {
    if (role.phase !== 'broadcast') {
      if (requester === this.config.myId) this.emit({ type: 'syncFailed', ids: [id] });
      return;
    }
    // A heartbeat round started now, after the sync arrived, must come back from a quorum.
    this.pingLearners(role);
    role.syncs.push({ id, requester, zxid: role.lastProposed, round: role.pingRound });
    this.leaderAnswerSyncs(role);
  }

  /** The latest heartbeat round a quorum of voters (counting us) has answered. */
  private confirmedRound(role: LeaderRole): number {
    const rounds = [...role.learners.values()].filter((l) => !l.observer && l.stage === 'upToDate').map((l) => l.pongRound);
    if (this.isVoter(this.config.myId)) rounds.push(role.pingRound);
    const needed = Math.floor(this.config.voters.length / 2) + 1;
    if (rounds.length < needed) return -1;
    rounds.sort((a, b) => b - a);
    return rounds[needed - 1]!;
  }

  private leaderAnswerSyncs(role: LeaderRole): void {
    if (role.syncs.length === 0) return;
    const confirmed = this.confirmedRound(role);
    const waiting: PendingSync[] = [];
    for (const sync of role.syncs) {
      if (confirmed < sync.round || this.lastCommitted < sync.zxid) {
        waiting.push(sync);
      } else if (sync.requester === this.config.myId) {
        this.emit({ type: 'syncDone', id: sync.id, zxid: sync.zxid });
      } else if (role.learners.has(sync.requester)) {
        this.send(sync.requester, { type: 'syncReply', id: sync.id, zxid: sync.zxid });
      }
    }
    role.syncs = waiting;
  }

  // ---- learner (follower or observer) ----

  private becomeLearner(leader: number): void {
    this.leaveRole();
    // Those who thought we would lead: let them look again at once.
    for (const id of this.earlyLearners.keys()) this.emit({ type: 'disconnect', peer: id });
    this.earlyLearners.clear();
    this.role = {
      kind: this.isObserver ? 'observing' : 'following',
      leader,
      stage: 'connecting',
      epoch: -1,
      startedMs: this.nowMs,
      lastHeardMs: this.nowMs,
      newLeaderZxid: -1,
      lastAckedZxid: -1,
      syncs: new Set(),
    };
    this.roleChanged();
    this.emit({ type: 'connect', leader });
  }

  private onMessageAsLearner(role: LearnerRole, message: QuorumMessage): void {
    role.lastHeardMs = this.nowMs;
    switch (message.type) {
      case 'leaderInfo':
        this.onLeaderInfo(role, message.epoch);
        return;
      case 'diff':
        return;
      case 'trunc':
        this.truncateTo(message.zxid);
        return;
      case 'snap':
        this.installSnapshot(message.zxid, message.snapshot);
        return;
      case 'proposal':
        this.onProposal(role, message.zxid, message.txn);
        return;
      case 'commit':
        this.commitThrough(message.zxid);
        return;
      case 'inform':
        this.onProposal(role, message.zxid, message.txn);
        this.commitThrough(message.zxid);
        return;
      case 'newLeader':
        this.onNewLeader(role, message.zxid);
        return;
      case 'upToDate':
        this.onUpToDate(role, message.zxid);
        return;
      case 'ping':
        this.send(role.leader, { type: 'pong', round: message.round });
        return;
      case 'syncReply':
        if (role.syncs.delete(message.id)) this.emit({ type: 'syncDone', id: message.id, zxid: message.zxid });
        return;
      default:
        return;
    }
  }

  private onLeaderInfo(role: LearnerRole, epoch: number): void {
    if (role.stage !== 'info') return;
    if (epoch < this.acceptedEpoch) {
      this.lookForLeader(`leader ${role.leader} proposed epoch ${epoch} below our accepted epoch ${this.acceptedEpoch}`);
      return;
    }
    if (epoch > this.acceptedEpoch) {
      this.acceptedEpoch = epoch;
      this.persistEpochs();
    }
    role.epoch = epoch;
    role.stage = 'syncing';
    this.send(role.leader, { type: 'ackEpoch', currentEpoch: this.currentEpoch, lastZxid: this.lastAppended });
  }

  private truncateTo(zxid: number): void {
    this.emit({ type: 'truncate', zxid });
    this.history.truncateAfter(zxid);
    this.lastAppended = zxid;
    this.lastLogged = Math.min(this.lastLogged, zxid);
    // The driver rebuilds the state from what remains of the log: all of it applied.
    this.lastCommitted = zxid;
    this.commitTarget = zxid;
  }

  private installSnapshot(zxid: number, snapshot: Uint8Array): void {
    this.emit({ type: 'installSnapshot', zxid, snapshot });
    this.history.reset(zxid);
    this.lastAppended = zxid;
    this.lastLogged = zxid;
    this.lastCommitted = zxid;
    this.commitTarget = zxid;
  }

  private onProposal(role: LearnerRole, zxid: number, txn: Uint8Array): void {
    if (zxid <= this.lastAppended) return;
    if (!zxidFollows(this.lastAppended, zxid)) {
      // A hole in the stream (ZOOKEEPER-4925): never log it; sync again.
      this.lookForLeader(`proposal ${zxidHex(zxid)} does not follow ${zxidHex(this.lastAppended)}`);
      return;
    }
    this.appendTxn(zxid, txn);
    if (this.commitTarget > this.lastCommitted) this.commitThrough(this.commitTarget);
    this.learnerAckDurable(role);
  }

  private onNewLeader(role: LearnerRole, zxid: number): void {
    if (role.stage !== 'syncing') return;
    role.newLeaderZxid = zxid;
    role.stage = 'newLeaderPending';
    this.learnerAckDurable(role);
  }

  /**
   * ACKs what is durable: NEWLEADER once everything synced is on disk, then
   * proposals, cumulatively. The new epoch becomes our currentEpoch only once
   * the history it stands for is durable (ZOOKEEPER-3911): a currentEpoch ahead
   * of a short log would win elections with that short log and lose commits.
   */
  private learnerAckDurable(role: LearnerRole): void {
    if (role.stage === 'newLeaderPending') {
      if (this.lastLogged < this.lastAppended) return;
      this.currentEpoch = role.epoch;
      this.persistEpochs();
      role.stage = 'awaitUpToDate';
      role.lastAckedZxid = this.lastLogged;
      this.send(role.leader, { type: 'ack', zxid: role.newLeaderZxid });
      return;
    }
    if (role.kind === 'observing') return;
    if ((role.stage === 'awaitUpToDate' || role.stage === 'broadcast') && this.lastLogged > role.lastAckedZxid) {
      role.lastAckedZxid = this.lastLogged;
      this.send(role.leader, { type: 'ack', zxid: this.lastLogged });
    }
  }

  private onUpToDate(role: LearnerRole, zxid: number): void {
    if (role.stage !== 'awaitUpToDate') return;
    this.commitThrough(zxid);
    role.stage = 'broadcast';
    this.roleChanged();
  }

  private onForward(payload: Uint8Array): void {
    const role = this.role;
    if ((role.kind === 'following' || role.kind === 'observing') && role.stage === 'broadcast') {
      this.send(role.leader, { type: 'request', payload });
    }
  }

  private onSync(id: number): void {
    const role = this.role;
    if (role.kind === 'leading') {
      this.beginSync(role, id, this.config.myId);
    } else if (role.kind !== 'looking' && role.stage === 'broadcast') {
      role.syncs.add(id);
      this.send(role.leader, { type: 'syncRequest', id });
    } else {
      this.emit({ type: 'syncFailed', ids: [id] });
    }
  }
}

export type { LoggedTxn };
