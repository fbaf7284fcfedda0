/**
 * QuorumTransport: the TCP connections between the servers of an ensemble,
 * as the consensus driver uses them. It moves QuorumMessages (encoded by
 * quorum/wire.ts) and knows nothing of what they mean.
 *
 * Two channels, each on its own port of the server.N line:
 *
 * Election (electionPort): at most one connection per pair of servers, used
 * in both directions, and only the HIGHER id of a pair keeps a connection it
 * dialled (ZooKeeper's QuorumCnxManager rule). When the lower id has
 * something to send and no connection, it dials, sends a HELLO and hangs up:
 * a dial-back request. The higher id answers by dialling back. Messages wait
 * in a short per-peer queue meanwhile (the oldest are dropped: the election
 * tolerates loss); failed dials are retried with a doubling back-off while
 * messages wait.
 *
 * ZooKeeper's higher server drops its connection whenever a request comes
 * in, which churns when a request crosses a connection being opened. Here
 * the request names the last connection the lower server accepted from the
 * higher one (its linkId, a random number chosen by the higher side) and the
 * lower server's incarnation (random per start). The higher server replaces
 * its connection only when the request names that very connection (the
 * lower side lost it) or comes from a new incarnation (the lower side
 * restarted); a request naming anything else was sent before the lower side
 * accepted the current connection, and is ignored. Simultaneous dialling
 * thus ends with exactly one connection, without a second round.
 *
 * Quorum (quorumPort): the FIFO channel between a learner and its leader.
 * The learner dials (`connectToLeader`); both sides report `onConnected`
 * once HELLOs are exchanged and `onDisconnected` when the channel fails or
 * breaks. A second connection from the same learner replaces the first.
 * Each connection is a Link with its own generation; a Link that is closed
 * or no longer the channel of its peer delivers nothing more.
 *
 * Handlers are never called from inside a method of this class: events come
 * from socket and timer callbacks, and what `disconnect` reports is
 * delivered in a microtask after it returns. After `stop()` nothing is
 * reported.
 *
 * HELLO ids are trusted, as in ZooKeeper without quorum SASL: any process
 * that can reach the ports can claim to be a configured server.
 */
import { randomInt } from 'node:crypto';
import { createConnection, createServer, isIPv6, type Server, type Socket } from 'node:net';
import { JuteError, JuteWriter } from '../jute/mod.js';
import { FrameDecoder, FrameError } from '../protocol/framing.js';
import type { QuorumMessage } from '../quorum/messages.js';
import {
  PROTOCOL_VERSION,
  channelOf,
  decodeFrame,
  encodeFrame,
  snapshotChunkPrefix,
  writeFrame,
  type ChannelKind,
  type Hello,
  type WireFrame,
} from '../quorum/wire.js';
import type { QuorumServerSpec } from './config.js';
import type { Logger } from './logger.js';

/** What travels on the election channel. */
export type ElectionMessage = Extract<QuorumMessage, { type: 'notification' }>;
/** What travels on the quorum channel. */
export type ChannelMessage = Exclude<QuorumMessage, { type: 'notification' }>;

export interface QuorumTransportHandlers {
  /** A message from `from`; on the quorum channel, in the order it was sent. */
  onMessage(from: number, message: QuorumMessage): void;
  /** The quorum channel with `peer` is up (a learner's leader, or a leader's learner). */
  onConnected(peer: number): void;
  /**
   * The quorum channel with `peer` is gone: it broke, was replaced by a new
   * connection from that learner, was closed by `disconnect`, or (on a
   * learner) `connectToLeader` failed.
   */
  onDisconnected(peer: number): void;
}

export interface QuorumTransportOptions {
  myId: number;
  servers: readonly QuorumServerSpec[];
  /** Listen on the wildcard address instead of this server's host (quorumListenOnAllIPs). */
  listenOnAllIps: boolean;
  /** How long a dial, or a connection accepted, may take to exchange HELLOs (cnxTimeout). */
  connectTimeoutMs: number;
  logger: Logger;
  handlers: QuorumTransportHandlers;
  /**
   * The largest quorum message accepted: one frame, or a streamed snapshot
   * once assembled. Default 2 GiB − 1, the most a length prefix can state.
   * (A peer past its HELLO can thus make us allocate that much at once.)
   */
  maxFrameBytes?: number;
}

/** One connection's view, for status output and tests. */
export interface LinkInfo {
  peer: number;
  channel: ChannelKind;
  /** We dialled it (election: we are the higher id; quorum: we are the learner). */
  dialled: boolean;
  generation: number;
  localPort: number;
  remotePort: number;
  /** Election links: the id the higher server chose for this connection (0 on quorum links). */
  linkId: number;
  /** Election links: the other server's incarnation, from its HELLO. */
  remoteIncarnation: number;
}

const DEFAULT_MAX_FRAME_BYTES = 0x7fffffff;
/** A notification is under 50 bytes; anything near this is garbage. */
const ELECTION_MAX_FRAME_BYTES = 64 * 1024;
/** A HELLO is 36 bytes; the limit applies before we know who is talking. */
const HELLO_MAX_FRAME_BYTES = 256;
/** Streamed snapshots go out in pieces of at most this many bytes. */
const SNAPSHOT_CHUNK_BYTES = 1024 * 1024;
/** A piece's frame body: tag and length, then the piece. Accepted whatever maxFrameBytes is. */
const SNAPSHOT_CHUNK_FRAME_BYTES = 8 + SNAPSHOT_CHUNK_BYTES;
/** Election messages kept per unreachable peer; each carries the sender's whole current vote. */
const ELECTION_QUEUE_LIMIT = 16;
const RETRY_MIN_MS = 50;
const RETRY_MAX_MS = 2000;
/** Link ids and incarnations are random below 2^47: exact as jute longs, and collisions are negligible. */
const RANDOM_ID_LIMIT = 2 ** 47;

type SnapshotChunks = AsyncIterable<Uint8Array> | Iterable<Uint8Array>;

interface ElectionPeer {
  readonly id: number;
  /** The open connection (HELLOs exchanged), whichever side dialled it. */
  link: Link | null;
  /** Our dial in progress: a connection (we are the higher id) or a dial-back request (we are the lower). */
  dial: Link | null;
  /** Messages waiting for `link`. */
  queue: ElectionMessage[];
  retryTimer: NodeJS.Timeout | null;
  retryDelayMs: number;
  /** Lower side: the linkId of the last connection this peer opened to us (0: none since we started). */
  lastAcceptedLinkId: number;
}

interface QuorumChannel {
  readonly link: Link;
  /** Whether onConnected was reported. */
  connected: boolean;
}

export class QuorumTransport {
  private readonly myId: number;
  private readonly servers = new Map<number, QuorumServerSpec>();
  private readonly handlers: QuorumTransportHandlers;
  private readonly logger: Logger;
  private readonly maxFrameBytes: number;
  private readonly incarnation = randomInt(1, RANDOM_ID_LIMIT);
  private readonly election = new Map<number, ElectionPeer>();
  private readonly quorum = new Map<number, QuorumChannel>();
  /** Every connection not yet fully closed, for stop(). */
  private readonly links = new Set<Link>();
  private readonly listeners: Server[] = [];
  private stopping = false;
  private stopped: Promise<void> | null = null;

  constructor(private readonly options: QuorumTransportOptions) {
    this.myId = options.myId;
    this.handlers = options.handlers;
    this.logger = options.logger.child({ component: 'quorum-transport', myId: options.myId });
    this.maxFrameBytes = options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
    for (const spec of options.servers) this.servers.set(spec.id, spec);
    if (!this.servers.has(this.myId)) {
      throw new Error(`quorum transport: server ${this.myId} is not in the server list`);
    }
    for (const spec of options.servers) {
      if (spec.id === this.myId) continue;
      this.election.set(spec.id, {
        id: spec.id,
        link: null,
        dial: null,
        queue: [],
        retryTimer: null,
        retryDelayMs: RETRY_MIN_MS,
        lastAcceptedLinkId: 0,
      });
    }
  }

  /** Listens on this server's election and quorum ports. */
  async start(): Promise<void> {
    const me = this.servers.get(this.myId)!;
    const wildcard = isIPv6(me.host) ? '::' : '0.0.0.0';
    const host = this.options.listenOnAllIps ? wildcard : me.host;
    try {
      await this.listen('election', host, me.electionPort);
      await this.listen('quorum', host, me.quorumPort);
    } catch (e) {
      await this.stop();
      throw e;
    }
  }

  /** Closes every connection and listener; resolves once all sockets are closed. Idempotent. */
  stop(): Promise<void> {
    this.stopped ??= this.shutdown();
    return this.stopped;
  }

  /** Sends an election message, dialling `to` if need be; may be dropped if `to` stays unreachable. */
  sendElection(to: number, message: ElectionMessage): void {
    const peer = this.election.get(to);
    if (peer === undefined || this.stopping) {
      this.logger.debug({ to }, 'dropping an election message to a server we do not dial');
      return;
    }
    if (peer.link !== null) {
      peer.link.send(message);
      return;
    }
    peer.queue.push(message);
    if (peer.queue.length > ELECTION_QUEUE_LIMIT) peer.queue.shift();
    if (peer.retryTimer === null) this.dialElection(peer);
  }

  /**
   * Opens the quorum channel to `leader`: reported by onConnected(leader),
   * or onDisconnected(leader) if it fails. Replaces any quorum channel with
   * `leader` without reporting that one.
   */
  connectToLeader(leader: number): void {
    if (this.stopping) return;
    const spec = this.servers.get(leader);
    if (spec === undefined || leader === this.myId) {
      this.logger.warn({ leader }, 'asked to follow a server that is not a peer');
      queueMicrotask(() => {
        if (!this.stopping) this.handlers.onDisconnected(leader);
      });
      return;
    }
    const old = this.quorum.get(leader);
    if (old !== undefined) {
      this.quorum.delete(leader);
      old.link.close('replaced by a new connection to the leader');
    }
    const socket = createConnection({ host: spec.host, port: spec.quorumPort });
    const link = this.newLink(socket, 'quorum', true, leader);
    this.quorum.set(leader, { link, connected: false });
    link.send(this.hello('quorum', 0));
  }

  /** Sends on the quorum channel with `to`; false (dropped) when there is none. */
  sendQuorum(to: number, message: ChannelMessage): boolean {
    const channel = this.quorum.get(to);
    if (channel === undefined || !channel.connected) return false;
    return channel.link.send(message);
  }

  /**
   * Sends `{type: 'snap', zxid, snapshot}` with the snapshot given in
   * pieces, read as the socket drains; messages sent to `to` afterwards
   * wait behind it. The receiver gets one `snap` message. Resolves true once
   * every byte is handed to the socket, false if there is no channel or it
   * closed first; if `chunks` throws, the channel is closed (the learner
   * cannot use half a snapshot) and the result is false. Chunks must not
   * change until then.
   */
  sendSnapshot(to: number, zxid: number, chunks: SnapshotChunks): Promise<boolean> {
    const channel = this.quorum.get(to);
    if (channel === undefined || !channel.connected) return Promise.resolve(false);
    return channel.link.sendSnapshot(zxid, chunks);
  }

  /** Closes the quorum channel with `peer` (either role); reports onDisconnected(peer) after returning. */
  disconnect(peer: number): void {
    const channel = this.quorum.get(peer);
    if (channel === undefined) return;
    this.quorum.delete(peer);
    channel.link.close('disconnect requested');
    queueMicrotask(() => {
      // A connectToLeader(peer) made meanwhile supersedes this report.
      if (!this.stopping && !this.quorum.has(peer)) this.handlers.onDisconnected(peer);
    });
  }

  /** The open connections: election links and established quorum channels. */
  connections(): LinkInfo[] {
    const open: Link[] = [];
    for (const peer of this.election.values()) if (peer.link !== null) open.push(peer.link);
    for (const channel of this.quorum.values()) if (channel.connected) open.push(channel.link);
    return open.map((link) => link.info());
  }

  // ---- connections ----

  private listen(channel: ChannelKind, host: string, port: number): Promise<void> {
    const server = createServer((socket) => this.accept(socket, channel));
    this.listeners.push(server);
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host, port }, () => {
        server.off('error', reject);
        server.on('error', (e) => this.logger.error({ err: e, channel }, 'listener error'));
        this.logger.info({ host, port }, `listening for ${channel} connections`);
        resolve();
      });
    });
  }

  private accept(socket: Socket, channel: ChannelKind): void {
    if (this.stopping) {
      socket.destroy();
      return;
    }
    this.newLink(socket, channel, false, -1);
  }

  private newLink(socket: Socket, channel: ChannelKind, dialled: boolean, peer: number): Link {
    const maxFrameBytes = channel === 'election' ? ELECTION_MAX_FRAME_BYTES : this.maxFrameBytes;
    const link = new Link(socket, channel, dialled, peer, maxFrameBytes, this.options.connectTimeoutMs, this);
    this.links.add(link);
    void link.whenClosed.then(() => this.links.delete(link));
    return link;
  }

  private hello(channel: ChannelKind, linkId: number): Hello {
    return {
      type: 'hello',
      version: PROTOCOL_VERSION,
      serverId: this.myId,
      channel,
      incarnation: this.incarnation,
      linkId,
    };
  }

  /** Called by a Link with the first frame from the other side. */
  onHello(link: Link, hello: Hello): void {
    const problem = this.helloProblem(link, hello);
    if (problem !== null) {
      link.close(`bad hello: ${problem}`, true);
      return;
    }
    if (link.channel === 'election') this.electionHello(link, hello);
    else this.quorumHello(link, hello);
  }

  private helloProblem(link: Link, hello: Hello): string | null {
    if (hello.version !== PROTOCOL_VERSION) return `protocol version ${hello.version}, expected ${PROTOCOL_VERSION}`;
    if (hello.channel !== link.channel) return `a ${hello.channel} hello on a ${link.channel} connection`;
    if (hello.serverId === this.myId) return 'it claims our own server id';
    if (!this.servers.has(hello.serverId)) return `unknown server id ${hello.serverId}`;
    if (link.dialled && hello.serverId !== link.peer) {
      return `server ${hello.serverId} answered at ${link.peer}'s address`;
    }
    return null;
  }

  /** Called by a Link once it is closed, whoever closed it. */
  onClosed(link: Link, reason: string, malformed: boolean): void {
    const context = { peer: link.peer, channel: link.channel, generation: link.generation, reason };
    if (malformed) this.logger.warn(context, 'closing a connection that broke the protocol');
    else this.logger.debug(context, 'connection closed');
    if (this.stopping) return;
    if (link.channel === 'election') this.electionClosed(link);
    else this.quorumClosed(link, reason);
  }

  /** Called by a Link for each message, in order. */
  onMessage(link: Link, message: QuorumMessage): void {
    if (!this.isCurrent(link)) return;
    this.handlers.onMessage(link.peer, message);
  }

  /** The generation guard: only the peer's current, open connection delivers. */
  private isCurrent(link: Link): boolean {
    if (link.state !== 'open') return false;
    const current =
      link.channel === 'election' ? this.election.get(link.peer)?.link : this.quorum.get(link.peer)?.link;
    return current?.generation === link.generation;
  }

  // ---- election channel ----

  private electionHello(link: Link, hello: Hello): void {
    const peer = this.election.get(hello.serverId)!;
    if (link.dialled) {
      // Only the higher id's dial is answered; a dial-back request never is.
      if (this.myId < peer.id || hello.linkId !== link.linkId || peer.dial !== link) {
        link.close('unexpected answer on an election dial', true);
        return;
      }
      peer.dial = null;
      link.remoteIncarnation = hello.incarnation;
      this.openElection(peer, link);
    } else if (hello.serverId > this.myId) {
      // The higher id dialled us: this is the pair's connection from now on.
      link.peer = peer.id;
      link.linkId = hello.linkId;
      link.remoteIncarnation = hello.incarnation;
      peer.lastAcceptedLinkId = hello.linkId;
      const old = peer.link;
      peer.link = null;
      old?.close('replaced by a new connection from the same server');
      link.send(this.hello('election', hello.linkId));
      this.openElection(peer, link);
    } else {
      link.peer = peer.id;
      link.close('dial-back request received');
      this.dialBackRequested(peer, hello);
    }
  }

  private openElection(peer: ElectionPeer, link: Link): void {
    link.open();
    peer.link = link;
    this.cancelRetry(peer);
    peer.retryDelayMs = RETRY_MIN_MS;
    this.logger.debug({ peer: peer.id, generation: link.generation }, 'election connection open');
    for (const message of peer.queue) link.send(message);
    peer.queue = [];
  }

  /** We are the higher id, and the lower one asked us to dial. */
  private dialBackRequested(peer: ElectionPeer, request: Hello): void {
    const current = peer.link;
    if (current !== null) {
      const sameRun = current.remoteIncarnation === request.incarnation;
      if (sameRun && current.linkId !== request.linkId) return; // sent before it accepted `current`
      peer.link = null;
      current.close('the peer lost this connection');
    } else if (peer.dial !== null) {
      return; // our dial in progress answers it
    }
    this.cancelRetry(peer);
    this.dialElection(peer);
  }

  private dialElection(peer: ElectionPeer): void {
    if (this.stopping || peer.link !== null || peer.dial !== null) return;
    this.cancelRetry(peer);
    const spec = this.servers.get(peer.id)!;
    const socket = createConnection({ host: spec.host, port: spec.electionPort });
    const link = this.newLink(socket, 'election', true, peer.id);
    peer.dial = link;
    if (this.myId > peer.id) {
      link.linkId = randomInt(1, RANDOM_ID_LIMIT);
      link.send(this.hello('election', link.linkId));
    } else {
      link.sendFinal(this.hello('election', peer.lastAcceptedLinkId));
    }
  }

  private electionClosed(link: Link): void {
    const peer = this.election.get(link.peer);
    if (peer === undefined) return;
    if (peer.dial === link) peer.dial = null;
    else if (peer.link === link) peer.link = null;
    else return;
    this.scheduleRetry(peer);
  }

  /** Dials again after the back-off while messages wait (a lower id waits there for the dial back). */
  private scheduleRetry(peer: ElectionPeer): void {
    if (this.stopping || peer.queue.length === 0) return;
    if (peer.link !== null || peer.dial !== null || peer.retryTimer !== null) return;
    peer.retryTimer = setTimeout(() => {
      peer.retryTimer = null;
      this.dialElection(peer);
    }, peer.retryDelayMs);
    peer.retryDelayMs = Math.min(peer.retryDelayMs * 2, RETRY_MAX_MS);
  }

  private cancelRetry(peer: ElectionPeer): void {
    if (peer.retryTimer === null) return;
    clearTimeout(peer.retryTimer);
    peer.retryTimer = null;
  }

  // ---- quorum channel ----

  private quorumHello(link: Link, hello: Hello): void {
    if (link.dialled) {
      const channel = this.quorum.get(link.peer);
      if (channel?.link !== link) {
        link.close('answer on a superseded connection');
        return;
      }
      link.open();
      channel.connected = true;
      this.logger.info({ leader: link.peer, generation: link.generation }, 'connected to the leader');
      this.handlers.onConnected(link.peer);
      return;
    }
    const learner = hello.serverId;
    link.peer = learner;
    const old = this.quorum.get(learner);
    if (old !== undefined) {
      this.quorum.delete(learner);
      old.link.close('replaced by a new connection from the same server');
      this.handlers.onDisconnected(learner);
      if (this.stopping || link.state === 'closed') return;
    }
    link.send(this.hello('quorum', 0));
    link.open();
    this.quorum.set(learner, { link, connected: true });
    this.logger.info({ learner, generation: link.generation }, 'learner connected');
    this.handlers.onConnected(learner);
  }

  private quorumClosed(link: Link, reason: string): void {
    const channel = this.quorum.get(link.peer);
    if (channel?.link !== link) return; // replaced or disconnected: reported there
    this.quorum.delete(link.peer);
    this.logger.info({ peer: link.peer, generation: link.generation, reason }, 'quorum channel closed');
    this.handlers.onDisconnected(link.peer);
  }

  private async shutdown(): Promise<void> {
    this.stopping = true;
    for (const peer of this.election.values()) {
      this.cancelRetry(peer);
      peer.queue = [];
      peer.link = null;
      peer.dial = null;
    }
    this.quorum.clear();
    const closed = [...this.links].map((link) => link.whenClosed);
    for (const link of [...this.links]) link.close('transport stopped');
    const listenersClosed = this.listeners.map(
      (server) => new Promise<void>((resolve) => server.close(() => resolve())),
    );
    await Promise.all([...closed, ...listenersClosed]);
  }
}

/** Ids of Links, unique in the process: the generation guard compares them. */
let nextGeneration = 1;

interface SnapshotJob {
  zxid: number;
  chunks: SnapshotChunks;
  done(sent: boolean): void;
}

/** A streamed snapshot being received. */
interface SnapshotAssembly {
  zxid: number;
  pieces: Uint8Array[];
  bytes: number;
}

/** A violation of the protocol by the other side; the connection is closed. */
class ProtocolError extends Error {
  override name = 'ProtocolError';
}

/**
 * One TCP connection: the HELLO handshake, framing, decoding, batched
 * writes, and a FIFO of outgoing work in which a streamed snapshot holds
 * back what was sent after it. Whom it belongs to is the transport's call.
 */
class Link {
  readonly generation = nextGeneration++;
  state: 'handshake' | 'open' | 'closed' = 'handshake';
  /** Election links: the id the higher server gave this connection, and the other server's incarnation. */
  linkId = 0;
  remoteIncarnation = 0;
  readonly whenClosed: Promise<void>;

  /** The other side's HELLO frame, while it is incomplete. */
  private greeting: Buffer = Buffer.alloc(0);
  private readonly decoder: FrameDecoder;
  private readonly handshakeTimer: NodeJS.Timeout;
  /** Frames sent this event-loop turn, written together. */
  private readonly batch = new JuteWriter(4096);
  private flushScheduled = false;
  /** Work queued behind a snapshot being streamed: earlier batches and later snapshots. */
  private readonly backlog: (Buffer | SnapshotJob)[] = [];
  private streaming = false;
  private assembly: SnapshotAssembly | null = null;

  constructor(
    private readonly socket: Socket,
    readonly channel: ChannelKind,
    readonly dialled: boolean,
    /** The server at the other end: known when we dial, from its HELLO when it dials us (−1 until then). */
    public peer: number,
    /** The largest message, as one frame or an assembled snapshot. */
    private readonly maxMessageBytes: number,
    connectTimeoutMs: number,
    private readonly transport: QuorumTransport,
  ) {
    const snapshotFrames = channel === 'quorum' ? SNAPSHOT_CHUNK_FRAME_BYTES : 0;
    this.decoder = new FrameDecoder(Math.max(maxMessageBytes, snapshotFrames));
    socket.setNoDelay(true);
    this.handshakeTimer = setTimeout(() => this.close('no hello in time'), connectTimeoutMs);
    this.whenClosed = new Promise((resolve) => socket.once('close', () => resolve()));
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (e) => this.close(`socket error: ${e.message}`));
    socket.on('close', () => this.close('closed by the other side'));
  }

  info(): LinkInfo {
    return {
      peer: this.peer,
      channel: this.channel,
      dialled: this.dialled,
      generation: this.generation,
      localPort: this.socket.localPort ?? 0,
      remotePort: this.socket.remotePort ?? 0,
      linkId: this.linkId,
      remoteIncarnation: this.remoteIncarnation,
    };
  }

  open(): void {
    this.state = 'open';
    clearTimeout(this.handshakeTimer);
  }

  /** Closes at once; unsent output is dropped. `malformed`: the other side broke the protocol. */
  close(reason: string, malformed = false): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    clearTimeout(this.handshakeTimer);
    this.assembly = null;
    this.socket.destroy();
    this.transport.onClosed(this, reason, malformed);
  }

  // ---- receiving ----

  private onData(chunk: Buffer): void {
    let rest = chunk;
    if (this.state === 'handshake') {
      let greeting: { hello: Hello; rest: Buffer } | null;
      try {
        greeting = this.readGreeting(chunk);
      } catch (e) {
        this.closeOnPeerFault(e);
        return;
      }
      if (greeting === null) return;
      this.transport.onHello(this, greeting.hello);
      rest = greeting.rest;
      if (rest.length > 0 && this.state === 'handshake') {
        this.close('data before the handshake completed', true);
        return;
      }
    }
    if (this.state !== 'open' || rest.length === 0) return;
    try {
      this.decoder.push(rest, this.onFrame);
    } catch (e) {
      if (!(e instanceof FrameError)) throw e;
      this.close(e.message, true);
    }
  }

  /** Collects the HELLO frame: null while it is incomplete. */
  private readGreeting(chunk: Buffer): { hello: Hello; rest: Buffer } | null {
    const data = this.greeting.length === 0 ? chunk : Buffer.concat([this.greeting, chunk]);
    this.greeting = data;
    if (data.length < 4) return null;
    const length = data.readInt32BE(0);
    if (length < 0 || length > HELLO_MAX_FRAME_BYTES) throw new FrameError(`hello frame length ${length}`);
    if (data.length < 4 + length) return null;
    this.greeting = Buffer.alloc(0);
    const frame = decodeFrame(data.subarray(4, 4 + length));
    if (frame.type !== 'hello') throw new ProtocolError(`expected a hello, got ${frame.type}`);
    return { hello: frame, rest: data.subarray(4 + length) };
  }

  private readonly onFrame = (body: Buffer): void => {
    // Closed by an earlier frame of the same chunk (a handler's disconnect, or an error).
    if (this.state !== 'open') return;
    let message: QuorumMessage | null;
    try {
      message = this.receive(body);
    } catch (e) {
      this.closeOnPeerFault(e);
      return;
    }
    // Outside the try: a handler's exception is the handler's, not the peer's fault.
    if (message !== null) this.transport.onMessage(this, message);
  };

  /** Decodes one frame: the message it completes, or null (a snapshot piece). */
  private receive(body: Buffer): QuorumMessage | null {
    const frame = decodeFrame(body);
    switch (frame.type) {
      case 'hello':
        throw new ProtocolError('a second hello');
      case 'snapshotBegin':
        if (this.channel !== 'quorum' || this.assembly !== null) throw new ProtocolError('unexpected snapshot start');
        this.assembly = { zxid: frame.zxid, pieces: [], bytes: 0 };
        return null;
      case 'snapshotChunk': {
        const assembly = this.assembly;
        if (assembly === null) throw new ProtocolError('snapshot chunk outside a snapshot');
        assembly.bytes += frame.bytes.length;
        if (assembly.bytes > this.maxMessageBytes) {
          throw new ProtocolError(`streamed snapshot exceeds ${this.maxMessageBytes} bytes`);
        }
        // A view of the received bytes: socket chunks are never reused, so no copy is needed.
        assembly.pieces.push(frame.bytes);
        return null;
      }
      case 'snapshotEnd': {
        const assembly = this.assembly;
        if (assembly === null) throw new ProtocolError('snapshot end outside a snapshot');
        if (frame.totalBytes !== assembly.bytes) {
          throw new ProtocolError(`snapshot of ${frame.totalBytes} bytes arrived with ${assembly.bytes}`);
        }
        this.assembly = null;
        return { type: 'snap', zxid: assembly.zxid, snapshot: Buffer.concat(assembly.pieces, assembly.bytes) };
      }
      default:
        if (this.assembly !== null) throw new ProtocolError(`${frame.type} inside a streamed snapshot`);
        if (channelOf(frame) !== this.channel) throw new ProtocolError(`${frame.type} on the ${this.channel} channel`);
        // The decoder lets frames up to a snapshot piece's size through; messages have their own limit.
        if (body.length > this.maxMessageBytes) {
          throw new ProtocolError(`${frame.type} of ${body.length} bytes exceeds ${this.maxMessageBytes}`);
        }
        return frame;
    }
  }

  /** Closes the connection for bytes the other side got wrong; rethrows anything else (a bug). */
  private closeOnPeerFault(e: unknown): void {
    if (!(e instanceof FrameError || e instanceof JuteError || e instanceof ProtocolError)) throw e;
    this.close(e.message, true);
  }

  // ---- sending ----

  /** Queues a frame; frames queued in one event-loop turn go out in one socket write. */
  send(frame: WireFrame): boolean {
    if (this.state === 'closed') return false;
    writeFrame(this.batch, frame);
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(this.flush);
    }
    return true;
  }

  /** Sends one frame and half-closes: a dial-back request says all it has to say in its HELLO. */
  sendFinal(frame: WireFrame): void {
    this.socket.end(encodeFrame(frame));
  }

  private readonly flush = (): void => {
    this.flushScheduled = false;
    // While a snapshot streams, the batch waits; streamBacklog writes it afterwards.
    if (this.state === 'closed' || this.streaming || this.batch.length === 0) return;
    this.socket.write(this.batch.take());
  };

  sendSnapshot(zxid: number, chunks: SnapshotChunks): Promise<boolean> {
    if (this.state === 'closed') return Promise.resolve(false);
    return new Promise((done) => {
      // What was sent before the snapshot goes before it.
      if (this.batch.length > 0) this.backlog.push(this.batch.take());
      this.backlog.push({ zxid, chunks, done });
      if (this.streaming) return;
      this.streaming = true;
      // Started after this call returns: a source that fails at once closes the link, and
      // handlers are never called from inside a transport method.
      queueMicrotask(() => void this.streamBacklog());
    });
  }

  /** Writes the backlog in order, waiting for the socket to drain; then whatever was batched meanwhile. */
  private async streamBacklog(): Promise<void> {
    for (let item = this.backlog.shift(); item !== undefined; item = this.backlog.shift()) {
      if (this.state === 'closed') {
        if (!Buffer.isBuffer(item)) item.done(false);
        continue;
      }
      if (!Buffer.isBuffer(item)) item.done(await this.writeSnapshot(item));
      else if (!this.socket.write(item)) await this.drained();
    }
    this.streaming = false;
    this.flush();
  }

  private async writeSnapshot(job: SnapshotJob): Promise<boolean> {
    let total = 0;
    try {
      this.socket.write(encodeFrame({ type: 'snapshotBegin', zxid: job.zxid }));
      for await (const chunk of job.chunks) {
        for (let at = 0; at < chunk.length; at += SNAPSHOT_CHUNK_BYTES) {
          if (this.state === 'closed') return false;
          const piece = chunk.subarray(at, at + SNAPSHOT_CHUNK_BYTES);
          total += piece.length;
          // The piece itself goes to the socket, uncopied, in one writev with its prefix.
          this.socket.cork();
          this.socket.write(snapshotChunkPrefix(piece.length));
          const more = this.socket.write(piece);
          this.socket.uncork();
          if (!more) await this.drained();
        }
      }
      if (this.state === 'closed') return false;
      this.socket.write(encodeFrame({ type: 'snapshotEnd', totalBytes: total }));
      return true;
    } catch (e) {
      this.close(`snapshot source failed: ${e instanceof Error ? e.message : String(e)}`);
      return false;
    }
  }

  /** Resolves when the socket wants more data, or is gone. */
  private drained(): Promise<void> {
    if (this.state === 'closed') return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        this.socket.off('drain', done);
        this.socket.off('close', done);
        resolve();
      };
      this.socket.on('drain', done);
      this.socket.on('close', done);
    });
  }
}
