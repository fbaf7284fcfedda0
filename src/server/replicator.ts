/**
 * The replication boundary of the request pipeline. Prepared transactions
 * are proposed here; they come back, in zxid order, through the commit
 * callback once they are decided, and only then are they applied.
 *
 * SoloReplicator is the ensemble of one: a transaction is decided when it
 * is durable in this server's log. Proposals made while an fsync is in flight
 * are logged together, so a burst of writes costs one fsync.
 */
import { JuteWriter } from '../jute/mod.js';
import { encodeTxn, type Txn } from '../protocol/txn.js';

export interface Replicator {
  /** Proposes a prepared transaction; it commits later through the commit callback. */
  propose(txn: Txn): void;
  /** Calls `done` once everything proposed before this call has committed. */
  barrier(done: () => void): void;
}

export type CommitCallback = (txn: Txn, bytes: number) => void;

/** Where a replicator logs serialized transactions (the TxnLog). */
export interface TxnSink {
  append(zxid: number, txnBytes: Uint8Array): void;
}

export class SoloReplicator implements Replicator {
  private readonly pending: { txn: Txn; bytes: number }[] = [];
  private pendingHead = 0;
  private readonly barriers: { zxid: number; done: () => void }[] = [];
  private readonly encoder = new JuteWriter(64 * 1024);

  constructor(
    private readonly sink: TxnSink,
    private readonly commit: CommitCallback,
  ) {}

  propose(txn: Txn): void {
    encodeTxn(this.encoder, txn);
    const bytes = this.encoder.view();
    this.sink.append(txn.zxid, bytes);
    this.encoder.truncate(0);
    this.pending.push({ txn, bytes: bytes.length });
  }

  barrier(done: () => void): void {
    const last = this.pending[this.pending.length - 1];
    if (this.pendingHead === this.pending.length || last === undefined) {
      done();
      return;
    }
    this.barriers.push({ zxid: last.txn.zxid, done });
  }

  /** The log made everything up to `zxid` durable: commit it, in order. */
  onDurable(zxid: number): void {
    while (this.pendingHead < this.pending.length && this.pending[this.pendingHead]!.txn.zxid <= zxid) {
      const { txn, bytes } = this.pending[this.pendingHead]!;
      this.pending[this.pendingHead++] = undefined as unknown as { txn: Txn; bytes: number };
      this.commit(txn, bytes);
    }
    if (this.pendingHead === this.pending.length) {
      this.pending.length = 0;
      this.pendingHead = 0;
    }
    while (this.barriers.length > 0 && this.barriers[0]!.zxid <= zxid) this.barriers.shift()!.done();
  }
}
