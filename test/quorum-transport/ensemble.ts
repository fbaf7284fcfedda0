/**
 * Helpers for the transport tests: a few QuorumTransports in this process
 * on 127.0.0.1, each recording what it reports, and polling waits bounded
 * by a generous deadline (nothing here measures time).
 */
import { once } from 'node:events';
import { connect as tcpConnect, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { PeerState, type QuorumMessage } from '../../src/quorum/messages.js';
import { PROTOCOL_VERSION, encodeFrame, type Hello } from '../../src/quorum/wire.js';
import type { QuorumServerSpec } from '../../src/server/config.js';
import { silentLogger } from '../../src/server/logger.js';
import { QuorumTransport, type ElectionMessage, type LinkInfo } from '../../src/server/quorum-transport.js';
import { allocatePorts } from '../harness/ports.js';

export type TransportEvent =
  | { kind: 'message'; from: number; message: QuorumMessage }
  | { kind: 'connected'; peer: number }
  | { kind: 'disconnected'; peer: number };

/** Long enough for a loaded 2-core machine; a hang fails the test instead of the run. */
const WAIT_LIMIT_MS = 60_000;

export interface TransportLimits {
  connectTimeoutMs?: number;
  maxFrameBytes?: number;
}

export class Member {
  transport: QuorumTransport;
  readonly events: TransportEvent[] = [];
  /** A test's reaction to each event, called after it is recorded. */
  onEvent: ((event: TransportEvent) => void) | null = null;

  constructor(
    readonly id: number,
    private readonly servers: readonly QuorumServerSpec[],
    private readonly limits: TransportLimits = {},
  ) {
    this.transport = this.create();
  }

  private create(): QuorumTransport {
    const record = (event: TransportEvent): void => {
      this.events.push(event);
      this.onEvent?.(event);
    };
    return new QuorumTransport({
      myId: this.id,
      servers: this.servers,
      listenOnAllIps: false,
      connectTimeoutMs: this.limits.connectTimeoutMs ?? 10_000,
      maxFrameBytes: this.limits.maxFrameBytes,
      logger: silentLogger(),
      handlers: {
        onMessage: (from, message) => record({ kind: 'message', from, message }),
        onConnected: (peer) => record({ kind: 'connected', peer }),
        onDisconnected: (peer) => record({ kind: 'disconnected', peer }),
      },
    });
  }

  /** Stops this server's transport and starts a new one with the same id (a restart). */
  async restart(): Promise<void> {
    await this.transport.stop();
    this.transport = this.create();
    await this.transport.start();
  }

  messagesFrom(peer: number): QuorumMessage[] {
    const out: QuorumMessage[] = [];
    for (const e of this.events) if (e.kind === 'message' && e.from === peer) out.push(e.message);
    return out;
  }

  /** The election epochs of the notifications received from `peer`, in arrival order. */
  electionEpochsFrom(peer: number): number[] {
    return this.messagesFrom(peer).flatMap((m) => (m.type === 'notification' ? [m.electionEpoch] : []));
  }

  count(kind: TransportEvent['kind'], peer: number): number {
    let n = 0;
    for (const e of this.events) if (e.kind === kind && (e.kind === 'message' ? e.from : e.peer) === peer) n++;
    return n;
  }

  /** The open election connection with `peer`, if any. */
  electionLink(peer: number): LinkInfo | undefined {
    return this.transport.connections().find((c) => c.channel === 'election' && c.peer === peer);
  }
}

export class Ensemble {
  constructor(
    readonly servers: readonly QuorumServerSpec[],
    readonly members: Map<number, Member>,
  ) {}

  member(id: number): Member {
    const m = this.members.get(id);
    if (m === undefined) throw new Error(`no member ${id}`);
    return m;
  }

  async stop(): Promise<void> {
    await Promise.all([...this.members.values()].map((m) => m.transport.stop()));
  }
}

/**
 * Configures servers `ids` on 127.0.0.1 and starts transports for those in
 * `running` (all by default); the others are configured but down.
 */
export async function startEnsemble(
  ids: readonly number[],
  running: readonly number[] = ids,
  limits: TransportLimits = {},
): Promise<Ensemble> {
  const ports = await allocatePorts(ids.length * 2);
  const servers: QuorumServerSpec[] = ids.map((id, i) => ({
    id,
    host: '127.0.0.1',
    quorumPort: ports[2 * i]!,
    electionPort: ports[2 * i + 1]!,
    role: 'participant',
  }));
  const members = new Map<number, Member>();
  for (const id of running) members.set(id, new Member(id, servers, limits));
  await Promise.all([...members.values()].map((m) => m.transport.start()));
  return new Ensemble(servers, members);
}

export function notification(leader: number, electionEpoch: number): ElectionMessage {
  return {
    type: 'notification',
    state: PeerState.Looking,
    vote: { leader, zxid: 0, peerEpoch: 1 },
    electionEpoch,
  };
}

/** Polls `condition` until it holds; fails with `what` after a generous deadline. */
export async function waitFor(what: string, condition: () => boolean): Promise<void> {
  const deadline = Date.now() + WAIT_LIMIT_MS;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await sleep(5);
  }
}

/** The open TCP sockets and listeners of this process. */
export function tcpHandles(): number {
  return process.getActiveResourcesInfo().filter((r) => r === 'TCPSocketWrap' || r === 'TCPServerWrap').length;
}

export function tcpSockets(): number {
  return process.getActiveResourcesInfo().filter((r) => r === 'TCPSocketWrap').length;
}

/** A HELLO frame; by default server 2's on a quorum connection. */
export function hello(fields: Partial<Hello>): Buffer {
  return encodeFrame({
    type: 'hello',
    version: PROTOCOL_VERSION,
    serverId: 2,
    channel: 'quorum',
    incarnation: 1,
    linkId: 0,
    ...fields,
  });
}

export function int(value: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeInt32BE(value);
  return b;
}

/** A raw TCP client that records what it receives and whether the server closed it. */
export class RawPeer {
  received = Buffer.alloc(0);
  closed = false;

  private constructor(private readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => (this.received = Buffer.concat([this.received, chunk])));
    socket.on('error', () => undefined); // a reset is one way of being closed
    socket.on('close', () => (this.closed = true));
  }

  static async open(port: number): Promise<RawPeer> {
    const socket = tcpConnect({ host: '127.0.0.1', port });
    await once(socket, 'connect');
    return new RawPeer(socket);
  }

  write(bytes: Buffer): void {
    this.socket.write(bytes);
  }

  destroy(): void {
    this.socket.destroy();
  }
}
