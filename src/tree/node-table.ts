/**
 * NodeTable: znode metadata stored column-wise in typed arrays, indexed by a
 * small integer node id, instead of one JS object per znode.
 *
 * A znode object with eleven fields would cost a header, eleven pointers and
 * a boxed HeapNumber for every zxid and time above 2^31; columns cost 8 bytes
 * per long and 4 per int, and the GC never has to trace them. Znode data is
 * kept off the heap too, in a ByteArena (a ref per node), and children as a
 * name → id map per parent.
 */

import { ByteArena, NULL_REF } from './byte-arena.js';
import { ColumnBlock } from './column-block.js';
import { ColumnCopy } from './column-copy.js';

const INITIAL_CAPACITY = 1024;
/** Bytes of the columns per node: six of 8 bytes, seven of 4. */
const COLUMN_BYTES_PER_NODE = 6 * 8 + 7 * 4;
/** `parent` of the root. */
export const NO_PARENT = -1;
/** `parent` of an unused id. */
export const FREE_NODE = -2;

export class NodeTable {
  czxid: Float64Array<ArrayBuffer>;
  mzxid: Float64Array<ArrayBuffer>;
  pzxid: Float64Array<ArrayBuffer>;
  ctime: Float64Array<ArrayBuffer>;
  mtime: Float64Array<ArrayBuffer>;
  owner: BigInt64Array<ArrayBuffer>;
  version: Int32Array<ArrayBuffer>;
  /** Children created under this node so far (the client sees 2*cversion − numChildren). */
  cversion: Int32Array<ArrayBuffer>;
  aversion: Int32Array<ArrayBuffer>;
  aclRef: Int32Array<ArrayBuffer>;
  /**
   * The parent's id and the node's name. With them the columns alone describe
   * the whole tree, so a snapshot can copy the columns in one go and write
   * them out later while the tree keeps changing.
   */
  parent: Int32Array<ArrayBuffer>;
  /**
   * A hash of the node's path and data, kept so that the tree digest can
   * drop and re-add a node's share when only its Stat changes without
   * hashing its path and data again. Not part of snapshots.
   */
  contentHash: Uint32Array<ArrayBuffer>;
  /** The node's data in `arena`. */
  dataRef: Uint32Array<ArrayBuffer>;
  readonly arena = new ByteArena(
    (id) => this.dataRef[id]!,
    (id, ref) => {
      this.dataRef[id] = ref;
    },
  );
  readonly name: string[] = [];
  readonly children: (Map<string, number> | undefined)[] = [];

  private capacity = 0;
  private nextUnused = 0;
  private readonly freeIds: number[] = [];
  private live = 0;
  /** Snapshot copies in progress (a periodic snapshot, a learner's SNAP), which must see a node before it changes. */
  private copies: ColumnCopy[] = [];

  constructor() {
    const block = new ColumnBlock(INITIAL_CAPACITY, COLUMN_BYTES_PER_NODE);
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
    this.contentHash = block.uint32();
    this.dataRef = block.uint32();
    this.parent.fill(FREE_NODE);
    this.capacity = INITIAL_CAPACITY;
  }

  /**
   * Starts an exact copy of the columns as they are now; advance it with
   * `step` until done, then `endCopy`.
   */
  beginCopy(): ColumnCopy {
    const copy = new ColumnCopy(this);
    this.copies.push(copy);
    // The copy holds data refs as they are now: they must not move until it is done.
    this.arena.pin();
    return copy;
  }

  endCopy(copy: ColumnCopy): void {
    const before = this.copies.length;
    this.copies = this.copies.filter((c) => c !== copy);
    if (this.copies.length < before) this.arena.unpin();
  }

  /** Must be called before any column of node `id` changes. */
  willChange(id: number): void {
    for (const copy of this.copies) copy.preserve(id);
  }

  /** Node `id`'s data: a view that stays valid (see ByteArena), or null. */
  dataOf(id: number): Uint8Array | null {
    return this.arena.bytes(this.dataRef[id]!);
  }

  dataLength(id: number): number {
    return this.arena.length(this.dataRef[id]!);
  }

  /** Replaces node `id`'s data with a copy of `data` (willChange first, as for any column). */
  setData(id: number, data: Uint8Array | null): void {
    const old = this.dataRef[id]!;
    this.dataRef[id] = this.arena.store(id, data);
    this.arena.release(old);
    this.arena.compact();
  }

  get size(): number {
    return this.live;
  }

  /** One past the highest id ever allocated: the columns' used length. */
  get highWater(): number {
    return this.nextUnused;
  }

  /** Returns a fresh node id with zeroed metadata, no data and no children. */
  allocate(): number {
    const id = this.freeIds.pop() ?? this.nextUnused++;
    if (id >= this.capacity) this.grow();
    this.willChange(id);
    this.czxid[id] = 0;
    this.mzxid[id] = 0;
    this.pzxid[id] = 0;
    this.ctime[id] = 0;
    this.mtime[id] = 0;
    this.version[id] = 0;
    this.cversion[id] = 0;
    this.aversion[id] = 0;
    this.aclRef[id] = 0;
    this.owner[id] = 0n;
    this.parent[id] = NO_PARENT;
    this.contentHash[id] = 0;
    this.dataRef[id] = NULL_REF;
    this.name[id] = '';
    this.children[id] = undefined;
    this.live++;
    return id;
  }

  release(id: number): void {
    this.willChange(id);
    this.parent[id] = FREE_NODE;
    this.arena.release(this.dataRef[id]!);
    this.dataRef[id] = NULL_REF;
    this.arena.compact();
    this.name[id] = '';
    this.children[id] = undefined;
    this.freeIds.push(id);
    this.live--;
  }

  /** Doubles every column, in a new block. */
  private grow(): void {
    const block = new ColumnBlock(this.capacity * 2, COLUMN_BYTES_PER_NODE);
    const grown = <T extends { set(from: T): void }>(make: () => T, from: T): T => {
      const column = make();
      column.set(from);
      return column;
    };
    this.czxid = grown(() => block.float64(), this.czxid);
    this.mzxid = grown(() => block.float64(), this.mzxid);
    this.pzxid = grown(() => block.float64(), this.pzxid);
    this.ctime = grown(() => block.float64(), this.ctime);
    this.mtime = grown(() => block.float64(), this.mtime);
    this.owner = grown(() => block.bigInt64(), this.owner);
    this.version = grown(() => block.int32(), this.version);
    this.cversion = grown(() => block.int32(), this.cversion);
    this.aversion = grown(() => block.int32(), this.aversion);
    this.aclRef = grown(() => block.int32(), this.aclRef);
    this.parent = grown(() => block.int32(), this.parent);
    this.parent.fill(FREE_NODE, this.capacity);
    this.contentHash = grown(() => block.uint32(), this.contentHash);
    this.dataRef = grown(() => block.uint32(), this.dataRef);
    this.capacity = block.length;
  }
}
