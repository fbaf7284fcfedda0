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
import { arenaBytes } from './byte-arena.js';
import { ColumnBlock } from './column-block.js';
import type { NodeTable } from './node-table.js';

export class ColumnCopy {
  /** Ids below this existed when the copy began; later ones are not part of it. */
  readonly used: number;
  /** Live znodes when the copy began. */
  readonly nodeCount: number;
  readonly czxid: Float64Array;
  readonly mzxid: Float64Array;
  readonly pzxid: Float64Array;
  readonly ctime: Float64Array;
  readonly mtime: Float64Array;
  readonly version: Int32Array;
  readonly cversion: Int32Array;
  readonly aversion: Int32Array;
  readonly aclRef: Int32Array;
  readonly parent: Int32Array;
  readonly owner: BigInt64Array;
  readonly name: string[];
  /** Data refs into `dataChunks`, the arena's chunks when the copy began (see ByteArena.pin). */
  readonly dataRef: Uint32Array;
  readonly dataChunks: (Uint8Array | undefined)[];

  /** Ids below this have been bulk-copied. */
  private copiedUpTo = 0;
  /** Ids at or above copiedUpTo that were copied early because they were about to change. */
  private readonly preserved = new Set<number>();

  constructor(private readonly table: NodeTable) {
    this.used = table.highWater;
    this.nodeCount = table.size;
    // One block for all (see ColumnBlock): six 8-byte columns, six 4-byte ones.
    const block = new ColumnBlock(this.used, 6 * 8 + 6 * 4);
    this.czxid = block.float64();
    this.mzxid = block.float64();
    this.pzxid = block.float64();
    this.ctime = block.float64();
    this.mtime = block.float64();
    this.owner = block.bigInt64();
    this.version = block.int32();
    this.cversion = block.int32();
    this.aversion = block.int32();
    this.aclRef = block.int32();
    this.parent = block.int32();
    this.dataRef = block.uint32();
    this.name = new Array<string>(this.used);
    this.dataChunks = table.arena.chunkViews();
  }

  dataOf(id: number): Uint8Array | null {
    return arenaBytes(this.dataChunks, this.dataRef[id]!);
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
    const t = this.table;
    this.czxid.set(t.czxid.subarray(start, end), start);
    this.mzxid.set(t.mzxid.subarray(start, end), start);
    this.pzxid.set(t.pzxid.subarray(start, end), start);
    this.ctime.set(t.ctime.subarray(start, end), start);
    this.mtime.set(t.mtime.subarray(start, end), start);
    this.version.set(t.version.subarray(start, end), start);
    this.cversion.set(t.cversion.subarray(start, end), start);
    this.aversion.set(t.aversion.subarray(start, end), start);
    this.aclRef.set(t.aclRef.subarray(start, end), start);
    this.parent.set(t.parent.subarray(start, end), start);
    this.owner.set(t.owner.subarray(start, end), start);
    this.dataRef.set(t.dataRef.subarray(start, end), start);
    for (let id = start; id < end; id++) this.name[id] = t.name[id]!;
  }
}
