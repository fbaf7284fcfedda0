/**
 * A deterministic simulator for the consensus core: a whole ensemble of real
 * QuorumPeers in one process, on a seeded random network, disks and clocks.
 *
 * Faults: election messages delayed, lost, duplicated and reordered; the
 * FIFO learner↔leader channels delayed, held across partitions and broken
 * (as TCP connections are); partitions, including "swizzle" (cut servers one
 * by one, heal in random order); crashes at any moment and restarts (what
 * was not fsynced is lost); slow disks; clocks ticking at different rates.
 *
 * Checks, after every step: at most one established leader per epoch; no
 * server applies two different transactions at one zxid, or applies out of
 * order; no log has a gap; no learner ACKs a proposal or NEWLEADER before it
 * is durable; no TRUNC drops a committed transaction. After healing: every
 * replica converges to the same tree digest, every acknowledged write is
 * there, no ephemeral of a closed session is left, and every sync+read saw
 * every write acknowledged before it began (linearizability, checked on the
 * zxid order that the replicated log defines).
 *
 * A failing seed replays exactly; `trace` prints what happened.
 */
import { JuteReader, JuteWriter } from '../../src/jute/mod.js';
import { OpCode } from '../../src/protocol/constants.js';
import { decodeTxn, encodeTxn, type Txn, type TxnBody } from '../../src/protocol/txn.js';
import { zxidFollows, zxidHex } from '../../src/protocol/zxid.js';
import type { PeerEffect, PeerEvent, QuorumMessage } from '../../src/quorum/messages.js';
import { QuorumPeer, type LoggedTxn } from '../../src/quorum/peer.js';
import { OPEN_ACL_UNSAFE } from '../../src/tree/acl.js';
import { ZkDatabase } from '../../src/tree/database.js';
import { treeDigest } from '../../src/tree/digest.js';
import { Random } from './random.js';

export interface SimOptions {
  seed: number;
  voters: number;
  observers: number;
  /** How long faults are injected (simulated ms). */
  faultMs: number;
  /** How long after healing the ensemble has to converge. */
  settleMs: number;
  faults: boolean;
  /** Lowered to exercise epoch changes when the zxid counter runs out. */
  maxCounter?: number;
  /** Trace every event, not only role changes and faults. */
  verbose?: boolean;
  /**
   * 'random' faults, or 'pausedLeader': the leader is paused while a new one
   * takes over and acknowledges writes, and clients meanwhile send sync+read
   * to the paused one (ZOOKEEPER-1675's stale read, which must not happen).
   */
  scenario?: 'random' | 'pausedLeader';
}

function describeEvent(event: PeerEvent): string {
  switch (event.type) {
    case 'message': {
      const { message } = event;
      const detail = Object.entries(message)
        .filter(([k, v]) => k !== 'type' && !(v instanceof Uint8Array))
        .map(([k, v]) => `${k}=${typeof v === 'number' && v > 0xffffffff ? zxidHex(v) : JSON.stringify(v)}`)
        .join(' ');
      return `${message.type} from n${event.from} ${detail}`;
    }
    case 'propose':
    case 'logged':
      return `${event.type} ${zxidHex(event.zxid)}`;
    case 'connected':
    case 'disconnected':
      return `${event.type} ${event.peer}`;
    default:
      return event.type;
  }
}

export class SimulationFailure extends Error {
  override name = 'SimulationFailure';
}

const TICK_MS = 100;

interface Disk {
  acceptedEpoch: number;
  currentEpoch: number;
  /** A snapshot installed from a leader: the transactions that rebuild it. */
  snapshotZxid: number;
  snapshotTxns: LoggedTxn[];
  log: LoggedTxn[];
  durable: number;
  fsyncInFlight: boolean;
  slowUntil: number;
}

interface SimNode {
  id: number;
  alive: boolean;
  peer: QuorumPeer | null;
  incarnation: number;
  clockRate: number;
  disk: Disk;
  db: ZkDatabase;
  applied: LoggedTxn[];
  appliedZxid: number;
  session: bigint;
  reads: Map<number, { zxid: number | null }>;
  /** While paused (a long GC, SIGSTOP), work waits here and ticks are skipped. */
  pausedUntil: number;
  deferred: (() => void)[];
}

interface Channel {
  learner: number;
  leader: number;
  generation: number;
  open: boolean;
  /** Messages held while a partition separates the ends, in order. */
  held: { to: number; message: QuorumMessage }[];
  lastDelivery: number;
  breakScheduled: boolean;
}

interface WriteOp {
  id: number;
  origin: number;
  invokedAt: number;
  ackedAt: number | null;
  zxid: number | null;
}

interface ReadOp {
  id: number;
  node: number;
  invokedAt: number;
  completedAt: number | null;
  appliedZxid: number | null;
}

class EventQueue {
  private heap: { time: number; seq: number; run: () => void }[] = [];
  private seq = 0;

  push(time: number, run: () => void): void {
    const item = { time, seq: this.seq++, run };
    const heap = this.heap;
    heap.push(item);
    for (let i = heap.length - 1; i > 0; ) {
      const parent = (i - 1) >> 1;
      if (!this.less(heap[i]!, heap[parent]!)) break;
      [heap[i], heap[parent]] = [heap[parent]!, heap[i]!];
      i = parent;
    }
  }

  private less(a: { time: number; seq: number }, b: { time: number; seq: number }): boolean {
    return a.time < b.time || (a.time === b.time && a.seq < b.seq);
  }

  pop(): { time: number; run: () => void } | undefined {
    const heap = this.heap;
    const top = heap[0];
    const last = heap.pop();
    if (top === undefined || last === undefined) return undefined;
    if (heap.length > 0) {
      heap[0] = last;
      for (let i = 0; ; ) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < heap.length && this.less(heap[l]!, heap[m]!)) m = l;
        if (r < heap.length && this.less(heap[r]!, heap[m]!)) m = r;
        if (m === i) break;
        [heap[i], heap[m]] = [heap[m]!, heap[i]!];
        i = m;
      }
    }
    return top;
  }
}

function encodeBody(txn: Txn): Uint8Array {
  const w = new JuteWriter(128);
  encodeTxn(w, txn);
  return w.take();
}

export class Simulation {
  readonly trace: string[] = [];
  private readonly rng: Random;
  private readonly queue = new EventQueue();
  private now = 0;
  private readonly nodes: SimNode[] = [];
  private readonly voterIds: number[];
  private readonly observerIds: number[];
  private readonly channels = new Map<string, Channel>();
  private generation = 0;
  private readonly cut = new Set<string>();
  /** zxid → txn bytes of every transaction any server committed. */
  private readonly committed = new Map<number, Uint8Array>();
  private readonly leaders = new Map<number, number>();
  private readonly writes = new Map<number, WriteOp>();
  private readonly readsLog: ReadOp[] = [];
  private nextOpId = 1;
  private readonly closedSessions = new Set<bigint>();
  private nextVirtualSession = 1n;
  private stopWorkload = false;
  private mixSecond = -1;
  /** No client load (a scenario's quiet spell). */
  private quiet = false;
  private writeShare = 0.55;

  constructor(private readonly options: SimOptions) {
    this.rng = new Random(options.seed);
    const total = options.voters + options.observers;
    this.voterIds = Array.from({ length: options.voters }, (_, i) => i + 1);
    this.observerIds = Array.from({ length: options.observers }, (_, i) => options.voters + i + 1);
    for (let id = 1; id <= total; id++) {
      this.nodes.push({
        id,
        alive: false,
        peer: null,
        incarnation: 0,
        clockRate: 0.9 + this.rng.next() * 0.2,
        disk: {
          acceptedEpoch: 0,
          currentEpoch: 0,
          snapshotZxid: 0,
          snapshotTxns: [],
          log: [],
          durable: 0,
          fsyncInFlight: false,
          slowUntil: 0,
        },
        db: new ZkDatabase({ extendedTypesEnabled: false }),
        applied: [],
        appliedZxid: 0,
        session: 0x1000n + BigInt(id),
        reads: new Map(),
        pausedUntil: 0,
        deferred: [],
      });
    }
  }

  private log(line: string): void {
    this.trace.push(`${String(this.now).padStart(7)} ${line}`);
    if (!this.options.verbose && this.trace.length > 4000) this.trace.splice(0, 1000);
  }

  private fail(message: string): never {
    throw new SimulationFailure(`seed ${this.options.seed} at ${this.now} ms: ${message}`);
  }

  private node(id: number): SimNode {
    return this.nodes[id - 1]!;
  }

  // ---- running ----

  run(): void {
    for (const node of this.nodes) this.start(node);
    this.scheduleWorkload();
    if (this.options.scenario === 'pausedLeader') this.schedulePausedLeader();
    else if (this.options.faults) this.scheduleFaults();
    const healAt = this.options.faultMs;
    this.queue.push(healAt, () => this.healAll());
    this.queue.push(healAt + this.options.settleMs * 0.6, () => (this.stopWorkload = true));
    const end = healAt + this.options.settleMs;
    for (let event = this.queue.pop(); event !== undefined && event.time <= end; event = this.queue.pop()) {
      this.now = event.time;
      event.run();
    }
    this.checkConverged();
    this.checkLinearizable();
  }

  private start(node: SimNode): void {
    node.alive = true;
    node.incarnation++;
    this.rebuildFromDisk(node);
    const disk = node.disk;
    const log = disk.log.slice(0, disk.durable);
    const lastZxid = log.length > 0 ? log[log.length - 1]!.zxid : disk.snapshotZxid;
    const recent = log.slice(-50);
    const recentBase = recent.length < log.length ? log[log.length - recent.length - 1]!.zxid : disk.snapshotZxid;
    node.peer = new QuorumPeer(
      {
        myId: node.id,
        voters: this.voterIds,
        observers: this.observerIds,
        tickMs: TICK_MS,
        initLimit: 10,
        syncLimit: 5,
        finalizeWaitMs: 50,
        minNotificationIntervalMs: 50,
        maxNotificationIntervalMs: 1600,
        commitLogCount: 20,
        ...(this.options.maxCounter !== undefined && { maxCounter: this.options.maxCounter }),
      },
      { acceptedEpoch: disk.acceptedEpoch, currentEpoch: disk.currentEpoch, lastZxid, recent, recentBase },
      this.localClock(node),
    );
    this.log(`n${node.id} starts (incarnation ${node.incarnation}) at zxid ${zxidHex(lastZxid)}`);
    this.drain(node);
    this.scheduleTick(node, node.incarnation);
  }

  private localClock(node: SimNode): number {
    return Math.floor(this.now * node.clockRate);
  }

  private scheduleTick(node: SimNode, incarnation: number): void {
    this.queue.push(this.now + Math.max(5, Math.round(25 / node.clockRate)), () => {
      if (!node.alive || node.incarnation !== incarnation) return;
      this.step(node, { type: 'tick', nowMs: this.localClock(node) });
      this.scheduleTick(node, incarnation);
    });
  }

  /** Runs work on a server's event loop: later if it is paused. */
  private onNode(node: SimNode, work: () => void): void {
    if (this.now < node.pausedUntil) node.deferred.push(work);
    else work();
  }

  private step(node: SimNode, event: PeerEvent): void {
    if (!node.alive || node.peer === null) return;
    if (this.now < node.pausedUntil) {
      if (event.type !== 'tick') node.deferred.push(() => this.step(node, event));
      return;
    }
    if (this.options.verbose && event.type !== 'tick') this.log(`n${node.id} ← ${describeEvent(event)}`);
    node.peer.step(event);
    this.drain(node);
  }

  /** Restores what a restarted server holds: its durable log, all of it applied. */
  private rebuildFromDisk(node: SimNode): void {
    const disk = node.disk;
    disk.log.length = disk.durable;
    node.db = new ZkDatabase({ extendedTypesEnabled: false });
    node.applied = [];
    node.appliedZxid = 0;
    for (const entry of [...disk.snapshotTxns, ...disk.log]) this.applyLocally(node, entry);
  }

  private applyLocally(node: SimNode, entry: LoggedTxn): void {
    const txn = decodeTxn(new JuteReader(Buffer.from(entry.txn)));
    node.db.apply(txn);
    node.applied.push(entry);
    node.appliedZxid = entry.zxid;
  }

  // ---- effects ----

  private drain(node: SimNode): void {
    const incarnation = node.incarnation;
    for (const effect of node.peer!.takeEffects()) {
      if (!node.alive || node.incarnation !== incarnation) return;
      this.execute(node, effect);
    }
  }

  private execute(node: SimNode, effect: PeerEffect): void {
    switch (effect.type) {
      case 'send':
        this.checkAckDurable(node, effect.message);
        if (effect.message.type === 'notification') this.sendElection(node.id, effect.to, effect.message);
        else this.sendQuorum(node.id, effect.to, effect.message);
        return;
      case 'sendSnapshot': {
        if (node.appliedZxid !== effect.zxid) this.fail(`n${node.id} sends a snapshot at ${zxidHex(effect.zxid)} but applied ${zxidHex(node.appliedZxid)}`);
        const snapshot = encodeSnapshot(node.applied);
        this.sendQuorum(node.id, effect.to, { type: 'snap', zxid: effect.zxid, snapshot });
        return;
      }
      case 'connect':
        this.connect(node.id, effect.leader);
        return;
      case 'disconnect':
        this.closeChannel(node.id, effect.peer);
        return;
      case 'persistEpochs':
        node.disk.acceptedEpoch = effect.acceptedEpoch;
        node.disk.currentEpoch = effect.currentEpoch;
        return;
      case 'append':
        this.append(node, { zxid: effect.zxid, txn: effect.txn });
        return;
      case 'truncate':
        this.truncate(node, effect.zxid);
        return;
      case 'installSnapshot':
        this.installSnapshot(node, effect.zxid, effect.snapshot);
        return;
      case 'apply':
        this.apply(node, { zxid: effect.zxid, txn: effect.txn });
        return;
      case 'roleChanged':
        this.log(
          `n${node.id} → ${effect.role}${effect.role === 'looking' ? '' : ` of ${effect.leader}`} epoch ${effect.epoch}` +
            `${effect.serving ? ' (serving)' : ''}${effect.reason === undefined ? '' : `: ${effect.reason}`}`,
        );
        if (effect.role === 'leading' && effect.serving) {
          const previous = this.leaders.get(effect.epoch);
          if (previous !== undefined && previous !== node.id) this.fail(`two leaders in epoch ${effect.epoch}: n${previous} and n${node.id}`);
          this.leaders.set(effect.epoch, node.id);
        }
        return;
      case 'request':
        this.proposeForwarded(node, effect.payload);
        return;
      case 'syncDone': {
        if (this.options.verbose) this.log(`n${node.id} sync ${effect.id} done at ${zxidHex(effect.zxid)}`);
        const read = node.reads.get(effect.id);
        if (read !== undefined) {
          read.zxid = effect.zxid;
          this.completeReads(node);
        }
        return;
      }
      case 'syncFailed':
        for (const id of effect.ids) node.reads.delete(id);
        return;
    }
  }

  private checkAckDurable(node: SimNode, message: QuorumMessage): void {
    if (message.type !== 'ack') return;
    const disk = node.disk;
    const durableEnd = disk.durable > 0 ? disk.log[disk.durable - 1]!.zxid : disk.snapshotZxid;
    const appendedEnd = disk.log.length > 0 ? disk.log[disk.log.length - 1]!.zxid : disk.snapshotZxid;
    const isNewLeaderAck = message.zxid % 0x100000000 === 0;
    if (isNewLeaderAck ? durableEnd !== appendedEnd : message.zxid > durableEnd) {
      this.fail(`n${node.id} ACKs ${zxidHex(message.zxid)} with only ${zxidHex(durableEnd)} durable (appended ${zxidHex(appendedEnd)})`);
    }
  }

  // ---- disk ----

  private append(node: SimNode, entry: LoggedTxn): void {
    const disk = node.disk;
    const last = disk.log.length > 0 ? disk.log[disk.log.length - 1]!.zxid : disk.snapshotZxid;
    if (!zxidFollows(last, entry.zxid)) this.fail(`n${node.id} log gap: ${zxidHex(entry.zxid)} after ${zxidHex(last)}`);
    disk.log.push(entry);
    this.fsync(node);
  }

  /** Group commit: one fsync covers everything appended when it starts. */
  private fsync(node: SimNode): void {
    const disk = node.disk;
    if (disk.fsyncInFlight || disk.durable === disk.log.length) return;
    disk.fsyncInFlight = true;
    const covers = disk.log.length;
    const incarnation = node.incarnation;
    const latency = this.now < disk.slowUntil ? this.rng.int(50, 400) : this.rng.int(1, 8);
    this.queue.push(this.now + latency, () => {
      if (!node.alive || node.incarnation !== incarnation) return;
      disk.fsyncInFlight = false;
      disk.durable = Math.max(disk.durable, Math.min(covers, disk.log.length));
      const zxid = disk.durable > 0 ? disk.log[disk.durable - 1]!.zxid : disk.snapshotZxid;
      this.step(node, { type: 'logged', zxid });
      this.fsync(node);
    });
  }

  private truncate(node: SimNode, zxid: number): void {
    const disk = node.disk;
    for (const entry of disk.log) {
      if (entry.zxid > zxid && this.committed.has(entry.zxid)) {
        this.fail(`n${node.id} truncates committed ${zxidHex(entry.zxid)} (TRUNC to ${zxidHex(zxid)})`);
      }
    }
    this.log(`n${node.id} truncates its log to ${zxidHex(zxid)}`);
    disk.log = disk.log.filter((e) => e.zxid <= zxid);
    disk.durable = Math.min(disk.durable, disk.log.length);
    // Until a pending fsync ends, the cut tail counts as gone: keep durable in range.
    this.rebuildState(node);
  }

  private installSnapshot(node: SimNode, zxid: number, snapshot: Uint8Array): void {
    this.log(`n${node.id} installs a snapshot at ${zxidHex(zxid)}`);
    const disk = node.disk;
    disk.snapshotTxns = decodeSnapshot(snapshot);
    disk.snapshotZxid = zxid;
    disk.log = [];
    disk.durable = 0;
    this.rebuildState(node);
  }

  /** After TRUNC or SNAP the state is rebuilt from what the disk holds (all of it durable now). */
  private rebuildState(node: SimNode): void {
    node.db = new ZkDatabase({ extendedTypesEnabled: false });
    node.applied = [];
    node.appliedZxid = 0;
    for (const entry of [...node.disk.snapshotTxns, ...node.disk.log]) this.applyLocally(node, entry);
  }

  // ---- applying committed transactions ----

  private apply(node: SimNode, entry: LoggedTxn): void {
    if (!zxidFollows(node.appliedZxid, entry.zxid)) {
      this.fail(`n${node.id} applies ${zxidHex(entry.zxid)} after ${zxidHex(node.appliedZxid)}`);
    }
    const known = this.committed.get(entry.zxid);
    if (known === undefined) this.committed.set(entry.zxid, entry.txn);
    else if (!Buffer.from(known).equals(Buffer.from(entry.txn))) this.fail(`two different transactions committed at ${zxidHex(entry.zxid)}`);
    this.applyLocally(node, entry);
    const txn = decodeTxn(new JuteReader(Buffer.from(entry.txn)));
    if (txn.body.type === OpCode.closeSession) this.closedSessions.add(txn.clientId);
    if (txn.clientId === node.session) this.ackWrite(txn.cxid, entry.zxid);
    this.completeReads(node);
  }

  private ackWrite(opId: number, zxid: number): void {
    const op = this.writes.get(opId);
    if (op === undefined || op.ackedAt !== null) return;
    op.ackedAt = this.now;
    op.zxid = zxid;
  }

  // ---- network ----

  private key(a: number, b: number): string {
    return a < b ? `${a}-${b}` : `${b}-${a}`;
  }

  private reachable(a: number, b: number): boolean {
    return this.node(a).alive && this.node(b).alive && !this.cut.has(this.key(a, b));
  }

  private sendElection(from: number, to: number, message: QuorumMessage): void {
    if (!this.reachable(from, to) || this.rng.chance(0.05)) return;
    const copies = this.rng.chance(0.03) ? 2 : 1;
    for (let i = 0; i < copies; i++) {
      this.queue.push(this.now + this.rng.int(1, 40), () => {
        if (this.reachable(from, to)) this.step(this.node(to), { type: 'message', from, message });
      });
    }
  }

  private channelKey(learner: number, leader: number): string {
    return `${learner}>${leader}`;
  }

  private connect(learner: number, leader: number): void {
    const key = this.channelKey(learner, leader);
    const existing = this.channels.get(key);
    if (existing?.open) this.breakChannel(existing);
    const learnerNode = this.node(learner);
    const incarnation = learnerNode.incarnation;
    this.queue.push(this.now + this.rng.int(2, 30), () => {
      if (!learnerNode.alive || learnerNode.incarnation !== incarnation) return;
      if (!this.reachable(learner, leader)) {
        this.step(learnerNode, { type: 'disconnected', peer: leader });
        return;
      }
      const channel: Channel = { learner, leader, generation: ++this.generation, open: true, held: [], lastDelivery: this.now, breakScheduled: false };
      this.channels.set(key, channel);
      this.step(learnerNode, { type: 'connected', peer: leader });
    });
  }

  private channelBetween(a: number, b: number): Channel | undefined {
    for (const key of [this.channelKey(a, b), this.channelKey(b, a)]) {
      const channel = this.channels.get(key);
      if (channel?.open) return channel;
    }
    return undefined;
  }

  private sendQuorum(from: number, to: number, message: QuorumMessage): void {
    const channel = this.channelBetween(from, to);
    if (channel === undefined) return;
    if (this.cut.has(this.key(from, to))) {
      channel.held.push({ to, message });
      this.scheduleBreak(channel);
      return;
    }
    // Keep FIFO: anything held from an earlier partition goes first.
    if (channel.held.length > 0) this.flushHeld();
    this.deliverOnChannel(channel, from, to, message);
  }

  private deliverOnChannel(channel: Channel, from: number, to: number, message: QuorumMessage): void {
    const at = Math.max(channel.lastDelivery, this.now + this.rng.int(1, 15));
    channel.lastDelivery = at;
    const generation = channel.generation;
    this.queue.push(at, () => {
      if (!channel.open || channel.generation !== generation) return;
      this.step(this.node(to), { type: 'message', from, message });
    });
  }

  /** A partition silently holds a connection's traffic until TCP gives up on it. */
  private scheduleBreak(channel: Channel): void {
    if (channel.breakScheduled) return;
    channel.breakScheduled = true;
    const generation = channel.generation;
    this.queue.push(this.now + this.rng.int(100, 2500), () => {
      if (channel.open && channel.generation === generation && this.cut.has(this.key(channel.learner, channel.leader))) {
        this.breakChannel(channel);
      } else {
        channel.breakScheduled = false;
      }
    });
  }

  private breakChannel(channel: Channel): void {
    if (!channel.open) return;
    channel.open = false;
    channel.held = [];
    for (const [end, other] of [
      [channel.learner, channel.leader],
      [channel.leader, channel.learner],
    ] as const) {
      const node = this.node(end);
      const incarnation = node.incarnation;
      this.queue.push(this.now + this.rng.int(1, 50), () => {
        if (node.alive && node.incarnation === incarnation) this.step(node, { type: 'disconnected', peer: other });
      });
    }
  }

  private closeChannel(from: number, peer: number): void {
    const channel = this.channelBetween(from, peer);
    if (channel !== undefined) this.breakChannel(channel);
  }

  private flushHeld(): void {
    for (const channel of this.channels.values()) {
      if (!channel.open || this.cut.has(this.key(channel.learner, channel.leader))) continue;
      const held = channel.held;
      channel.held = [];
      for (const { to, message } of held) {
        const from = to === channel.learner ? channel.leader : channel.learner;
        this.deliverOnChannel(channel, from, to, message);
      }
    }
  }

  // ---- faults ----

  /** The process stops for a while; what reaches it meanwhile is handled, in order, when it resumes. */
  private pause(node: SimNode, ms: number): void {
    if (!node.alive || this.now < node.pausedUntil) return;
    this.log(`n${node.id} pauses for ${ms} ms`);
    node.pausedUntil = this.now + ms;
    const incarnation = node.incarnation;
    this.queue.push(node.pausedUntil, () => {
      if (!node.alive || node.incarnation !== incarnation) return;
      this.log(`n${node.id} resumes`);
      const deferred = node.deferred;
      node.deferred = [];
      for (const work of deferred) work();
    });
  }

  private crash(node: SimNode): void {
    if (!node.alive) return;
    node.pausedUntil = 0;
    node.deferred = [];
    this.log(`n${node.id} crashes (${node.disk.log.length - node.disk.durable} unsynced txns lost)`);
    node.alive = false;
    node.peer = null;
    node.reads.clear();
    node.disk.fsyncInFlight = false;
    node.disk.log.length = node.disk.durable;
    for (const channel of this.channels.values()) {
      if (channel.open && (channel.learner === node.id || channel.leader === node.id)) this.breakChannel(channel);
    }
  }

  private partition(groups: number[][]): void {
    this.cut.clear();
    for (let i = 0; i < groups.length; i++) {
      for (let j = i + 1; j < groups.length; j++) {
        for (const a of groups[i]!) for (const b of groups[j]!) this.cut.add(this.key(a, b));
      }
    }
    this.log(`partition ${groups.map((g) => `{${g.join(',')}}`).join(' ')}`);
    for (const channel of this.channels.values()) {
      if (channel.open && this.cut.has(this.key(channel.learner, channel.leader))) this.scheduleBreak(channel);
    }
    this.flushHeld();
  }

  private heal(): void {
    this.cut.clear();
    this.log('network healed');
    this.flushHeld();
  }

  private healAll(): void {
    this.heal();
    for (const node of this.nodes) {
      node.disk.slowUntil = 0;
      if (!node.alive) this.start(node);
    }
  }

  private scheduleFaults(): void {
    const ids = this.nodes.map((n) => n.id);
    for (let t = 300; t < this.options.faultMs; t += this.rng.int(200, 1200)) {
      const kind = this.rng.int(0, 10);
      this.queue.push(t, () => {
        switch (kind) {
          case 0:
          case 1: {
            const alive = this.nodes.filter((n) => n.alive);
            if (alive.length > 0) this.crash(this.rng.pick(alive));
            return;
          }
          case 2: {
            const dead = this.nodes.filter((n) => !n.alive);
            if (dead.length > 0) this.start(this.rng.pick(dead));
            return;
          }
          case 3: {
            const shuffled = this.rng.shuffle(ids);
            const at = this.rng.int(1, shuffled.length - 1);
            this.partition([shuffled.slice(0, at), shuffled.slice(at)]);
            return;
          }
          case 4:
            this.swizzle(ids);
            return;
          case 5:
            this.heal();
            return;
          case 6:
            this.rng.pick(this.nodes).disk.slowUntil = this.now + this.rng.int(200, 2000);
            return;
          case 7:
            // A whole-quorum crash: every server, then all restart.
            for (const node of this.nodes) this.crash(node);
            this.queue.push(this.now + this.rng.int(50, 500), () => {
              for (const node of this.nodes) if (!node.alive) this.start(node);
            });
            return;
          case 8: {
            // Most often the leader: the case where a stale leader could answer a sync.
            const leader = this.nodes.find((n) => n.alive && n.peer?.state === 'leading');
            this.pause(leader !== undefined && this.rng.chance(0.7) ? leader : this.rng.pick(this.nodes), this.rng.int(500, 4000));
            return;
          }
          default: {
            const node = this.rng.pick(this.nodes);
            node.clockRate = 0.8 + this.rng.next() * 0.4;
          }
        }
      });
    }
  }

  private schedulePausedLeader(): void {
    // A quiet spell first, so the old leader has nothing in flight when it stops.
    this.queue.push(1500, () => (this.quiet = true));
    this.queue.push(2000, () => {
      const leader = this.nodes.find((n) => n.alive && n.peer?.state === 'leading' && n.peer.serving);
      if (leader === undefined) return;
      this.pause(leader, 4000);
      this.queue.push(4500, () => {
        this.quiet = false;
        const next = this.nodes.find((n) => n !== leader && n.peer?.state === 'leading' && n.peer.serving);
        for (let i = 0; i < 5 && next !== undefined; i++) this.write(next);
      });
      for (let t = 5000; t < 5900; t += 100) this.queue.push(t, () => this.read(leader));
    });
  }

  /** Cut servers off one by one, then heal them in a random order (FoundationDB's swizzle-clog). */
  private swizzle(ids: number[]): void {
    const order = this.rng.shuffle(ids).slice(0, this.rng.int(1, ids.length));
    const isolated: number[] = [];
    let t = this.now;
    for (const id of order) {
      t += this.rng.int(20, 300);
      this.queue.push(t, () => {
        isolated.push(id);
        this.partition([ids.filter((x) => !isolated.includes(x)), ...isolated.map((x) => [x])]);
      });
    }
    for (const id of this.rng.shuffle(order)) {
      t += this.rng.int(20, 400);
      this.queue.push(t, () => {
        const at = isolated.indexOf(id);
        if (at !== -1) isolated.splice(at, 1);
        if (isolated.length === 0) this.heal();
        else this.partition([ids.filter((x) => !isolated.includes(x)), ...isolated.map((x) => [x])]);
      });
    }
  }

  // ---- workload ----

  private scheduleWorkload(): void {
    this.queue.push(this.now + this.rng.int(5, 60), () => {
      if (this.stopWorkload) return;
      const serving = this.nodes.filter((n) => n.alive && n.peer?.serving);
      if (serving.length > 0 && !this.quiet) {
        // The mix changes every second: quiet spells let a stale leader answer a sync at once if it may.
        if (Math.floor(this.now / 1000) !== this.mixSecond) {
          this.mixSecond = Math.floor(this.now / 1000);
          this.writeShare = this.rng.pick([0.05, 0.3, 0.55]);
        }
        const roll = this.rng.next();
        const node = this.rng.pick(serving);
        if (roll < this.writeShare) this.write(node);
        else if (roll < 0.85) this.read(node);
        else this.onNode(node, () => this.sessionCycle());
      }
      this.scheduleWorkload();
    });
  }

  private write(node: SimNode): void {
    const op: WriteOp = { id: this.nextOpId++, origin: node.id, invokedAt: this.now, ackedAt: null, zxid: null };
    this.writes.set(op.id, op);
    const key = this.rng.int(0, 4);
    const body: TxnBody = this.rng.chance(0.3)
      ? { type: OpCode.create, create: { path: `/k${key}-${op.id}`, data: Buffer.from(String(op.id)), acl: [...OPEN_ACL_UNSAFE], ephemeral: false, parentCVersion: -1 } }
      : { type: OpCode.setData, setData: { path: `/k${key}-1`, data: Buffer.from(String(op.id)), version: op.id } };
    const request = { clientId: node.session, cxid: op.id, body };
    this.onNode(node, () => {
      if (!node.alive || node.peer === null) return;
      if (node.peer.state === 'leading') this.propose(node, request);
      else this.step(node, { type: 'forward', payload: encodeRequest(request) });
    });
  }

  private propose(leader: SimNode, request: { clientId: bigint; cxid: number; body: TxnBody }): void {
    if (leader.peer === null) return;
    const zxid = leader.peer.nextZxid;
    if (zxid === -1) return;
    const txn = encodeBody({ clientId: request.clientId, cxid: request.cxid, zxid, time: this.now, body: request.body });
    this.step(leader, { type: 'propose', zxid, txn });
  }

  /** Handled as a later event: effects of one step must run before the next step's. */
  private proposeForwarded(leader: SimNode, payload: Uint8Array): void {
    const incarnation = leader.incarnation;
    this.queue.push(this.now, () =>
      this.onNode(leader, () => {
        if (leader.alive && leader.incarnation === incarnation && leader.peer?.state === 'leading' && leader.peer.serving) {
          this.propose(leader, decodeRequest(payload));
        }
      }),
    );
  }

  private read(node: SimNode): void {
    const op: ReadOp = { id: this.nextOpId++, node: node.id, invokedAt: this.now, completedAt: null, appliedZxid: null };
    this.readsLog.push(op);
    node.reads.set(op.id, { zxid: null });
    this.step(node, { type: 'sync', id: op.id });
  }

  private completeReads(node: SimNode): void {
    for (const [id, read] of node.reads) {
      if (read.zxid === null || node.appliedZxid < read.zxid) continue;
      node.reads.delete(id);
      const op = this.readsLog.find((r) => r.id === id);
      if (op !== undefined) {
        op.completedAt = this.now;
        op.appliedZxid = node.appliedZxid;
      }
    }
  }

  /** A client session: created, an ephemeral made, then closed (as expiry would). */
  private sessionCycle(): void {
    const leader = this.nodes.find((n) => n.alive && n.peer?.state === 'leading' && n.peer.serving && this.now >= n.pausedUntil);
    if (leader === undefined) return;
    const session = 0x500000n + this.nextVirtualSession++;
    this.propose(leader, { clientId: session, cxid: 0, body: { type: OpCode.createSession, createSession: { timeOut: 30000, passwd: Buffer.alloc(16) } } });
    this.propose(leader, {
      clientId: session,
      cxid: 1,
      body: { type: OpCode.create, create: { path: `/e${session}`, data: null, acl: [...OPEN_ACL_UNSAFE], ephemeral: true, parentCVersion: -1 } },
    });
    if (this.rng.chance(0.7)) {
      this.propose(leader, { clientId: session, cxid: 2, body: { type: OpCode.closeSession, closeSession: { paths2Delete: [] } } });
    }
  }

  // ---- final checks ----

  private checkConverged(): void {
    const live = this.nodes.filter((n) => n.alive);
    const notServing = live.filter((n) => !n.peer?.serving);
    if (notServing.length > 0) {
      this.fail(`after healing, ${notServing.map((n) => `n${n.id} (${n.peer?.state})`).join(', ')} not serving`);
    }
    for (const n of live) {
      const walked = treeDigest(n.db.tree);
      if (n.db.tree.digest !== walked) this.fail(`n${n.id}'s running tree digest ${n.db.tree.digest} differs from its tree's ${walked}`);
    }
    const zxids = new Set(live.map((n) => n.appliedZxid));
    const digests = new Set(live.map((n) => n.db.tree.digest));
    if (zxids.size !== 1 || digests.size !== 1) {
      this.fail(`replicas differ after healing: ${live.map((n) => `n${n.id}@${zxidHex(n.appliedZxid)}:${treeDigest(n.db.tree)}`).join(' ')}`);
    }
    const finalZxid = live[0]!.appliedZxid;
    const history = new Set(live[0]!.applied.map((e) => e.zxid));
    for (const op of this.writes.values()) {
      if (op.zxid !== null && !history.has(op.zxid)) this.fail(`acknowledged write ${op.id} at ${zxidHex(op.zxid)} is lost`);
    }
    for (const [zxid] of this.committed) {
      if (zxid <= finalZxid && !history.has(zxid)) this.fail(`committed ${zxidHex(zxid)} is missing from the final history`);
    }
    for (const node of live) {
      for (const session of node.db.tree.ephemerals.keys()) {
        if (this.closedSessions.has(session)) this.fail(`n${node.id} still holds an ephemeral of closed session ${session}`);
      }
    }
  }

  /**
   * The replicated log orders every write; a read after sync observes the
   * prefix up to the zxid its server had applied. It is linearizable if that
   * prefix holds every write acknowledged before the read began.
   */
  private checkLinearizable(): void {
    const acked = [...this.writes.values()].filter((w) => w.ackedAt !== null).sort((a, b) => a.ackedAt! - b.ackedAt!);
    for (const read of this.readsLog) {
      if (read.completedAt === null) continue;
      for (const write of acked) {
        if (write.ackedAt! >= read.invokedAt) break;
        if (write.zxid! > read.appliedZxid!) {
          this.fail(`stale read ${read.id} on n${read.node}: saw ${zxidHex(read.appliedZxid!)} but write ${write.id} at ${zxidHex(write.zxid!)} was acknowledged before it began`);
        }
      }
    }
  }

  summary(): { committed: number; acked: number; reads: number; leaders: number } {
    return {
      committed: this.committed.size,
      acked: [...this.writes.values()].filter((w) => w.ackedAt !== null).length,
      reads: this.readsLog.filter((r) => r.completedAt !== null).length,
      leaders: this.leaders.size,
    };
  }
}

function encodeRequest(request: { clientId: bigint; cxid: number; body: TxnBody }): Uint8Array {
  return encodeBody({ clientId: request.clientId, cxid: request.cxid, zxid: 0, time: 0, body: request.body });
}

function decodeRequest(payload: Uint8Array): { clientId: bigint; cxid: number; body: TxnBody } {
  const txn = decodeTxn(new JuteReader(Buffer.from(payload)));
  return { clientId: txn.clientId, cxid: txn.cxid, body: txn.body };
}

/** The simulator's snapshot: the applied transactions that rebuild the state. */
function encodeSnapshot(applied: readonly LoggedTxn[]): Uint8Array {
  const w = new JuteWriter(1024);
  w.writeInt(applied.length);
  for (const entry of applied) {
    w.writeLong(entry.zxid);
    w.writeBuffer(entry.txn);
  }
  return w.take();
}

function decodeSnapshot(bytes: Uint8Array): LoggedTxn[] {
  const r = new JuteReader(Buffer.from(bytes));
  const count = r.readInt();
  const out: LoggedTxn[] = [];
  for (let i = 0; i < count; i++) out.push({ zxid: r.readLong(), txn: Buffer.from(r.readBuffer()!) });
  return out;
}
