/**
 * ColumnCopy: an exact copy of a NodeTable's columns as they were at one
 * moment, made a slice at a time while the table keeps changing.
 *
 * The copy advances in steps (a bulk copy of the next range of ids). A node
 * about to change before its range has been copied is copied first, on its
 * own (copy-on-write), and the bulk step then leaves it alone. So however the
 * steps interleave with writes, the finished copy is the table at the moment
 * the copy began — and no step takes long enough to stall requests, even for
 * millions of znodes.
 */
import { ColumnBlock, SNAPSHOT_COLUMN_BYTES, SNAPSHOT_COLUMN_NAMES, snapshotColumnsIn, type SnapshotColumnSet } from './column-block.js';
import type { NodeTable } from './node-table.js';

export class ColumnCopy {
  /** Ids below this existed when the copy began; later ones are not part of it. */
  readonly used: number;
  /** Live znodes when the copy began. */
  readonly nodeCount: number;
  /**
   * The copied columns, all in one block of their own (see ColumnBlock). Their record refs
   * point into `chunks`, the arena's chunks when the copy began (see ByteArena.pin).
   */
  readonly columns: SnapshotColumnSet;
  readonly chunks: (Uint8Array | undefined)[];

  /** Ids below this have been bulk-copied. */
  private copiedUpTo = 0;
  /** Ids at or above copiedUpTo that were copied early because they were about to change. */
  private readonly preserved = new Set<number>();

  constructor(private readonly table: NodeTable) {
    this.used = table.highWater;
    this.nodeCount = table.size;
    this.columns = snapshotColumnsIn(new ColumnBlock(this.used, SNAPSHOT_COLUMN_BYTES));
    this.chunks = table.arena.chunkViews();
  }

  get done(): boolean {
    return this.copiedUpTo >= this.used;
  }

  /** Copies node `id` now if the copy still needs its current values (called before it changes). */
  preserve(id: number): void {
    if (id < this.copiedUpTo || id >= this.used || this.preserved.has(id)) return;
    this.copyRange(id, id + 1);
    this.preserved.add(id);
  }

  /** Copies the next `count` ids; returns true when the copy is complete. */
  step(count: number): boolean {
    const start = this.copiedUpTo;
    const end = Math.min(this.used, start + count);
    // Copy around the nodes preserved early: they already hold the older values.
    const early = [...this.preserved].filter((id) => id < end).sort((a, b) => a - b);
    let from = start;
    for (const id of early) {
      this.copyRange(from, id);
      this.preserved.delete(id);
      from = id + 1;
    }
    this.copyRange(from, end);
    this.copiedUpTo = end;
    return this.done;
  }

  private copyRange(start: number, end: number): void {
    if (start >= end) return;
    for (const name of SNAPSHOT_COLUMN_NAMES) {
      const from = this.table[name] as { subarray(start: number, end: number): unknown };
      (this.columns[name] as { set(from: unknown, offset: number): void }).set(from.subarray(start, end), start);
    }
  }
}
