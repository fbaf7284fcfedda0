/**
 * The replication boundary of the request pipeline. Prepared transactions
 * are proposed here; they come back, in zxid order, through the commit
 * callback once they are decided, and only then are they applied.
 *
 * LocalReplicator is the ensemble of one: it commits what it is given in
 * batches, one batch per event-loop turn, so that a burst of writes is
 * decided (and, with durable storage, logged) together.
 */
import type { Txn } from '../protocol/txn.js';

export interface Replicator {
  /** Proposes a prepared transaction; it commits later through the commit callback. */
  propose(txn: Txn): void;
  /** Calls `done` once everything proposed before this call has committed. */
  barrier(done: () => void): void;
  /** Stops committing; pending proposals are dropped. */
  close(): void;
}

export type CommitCallback = (txn: Txn) => void;

export class LocalReplicator implements Replicator {
  private batch: Txn[] = [];
  private barriers: (() => void)[] = [];
  private scheduled = false;
  private closed = false;

  constructor(private readonly commit: CommitCallback) {}

  propose(txn: Txn): void {
    this.batch.push(txn);
    this.schedule();
  }

  barrier(done: () => void): void {
    if (this.batch.length === 0) {
      done();
      return;
    }
    this.barriers.push(done);
    this.schedule();
  }

  private schedule(): void {
    if (this.scheduled || this.closed) return;
    this.scheduled = true;
    setImmediate(() => this.flush());
  }

  private flush(): void {
    this.scheduled = false;
    if (this.closed) return;
    const batch = this.batch;
    const barriers = this.barriers;
    this.batch = [];
    this.barriers = [];
    for (const txn of batch) this.commit(txn);
    for (const done of barriers) done();
  }

  close(): void {
    this.closed = true;
    this.batch = [];
    this.barriers = [];
  }
}
