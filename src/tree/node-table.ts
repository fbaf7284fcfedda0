/**
 * NodeTable: znode metadata stored column-wise in typed arrays, indexed by a
 * small integer node id, instead of one JS object per znode.
 *
 * A znode object with eleven fields would cost a header, eleven pointers and
 * a boxed HeapNumber for every zxid and time above 2^31; columns cost 8 bytes
 * per long and 4 per int, and the GC never has to trace them. Znode data is
 * kept as a latin1 string (one byte per char), the most compact immutable
 * byte container V8 offers, and children as a name → id map per parent.
 */

import { ColumnCopy } from './column-copy.js';

const INITIAL_CAPACITY = 1024;
/** `parent` of the root. */
export const NO_PARENT = -1;
/** `parent` of an unused id. */
export const FREE_NODE = -2;

export class NodeTable {
  czxid = new Float64Array(INITIAL_CAPACITY);
  mzxid = new Float64Array(INITIAL_CAPACITY);
  pzxid = new Float64Array(INITIAL_CAPACITY);
  ctime = new Float64Array(INITIAL_CAPACITY);
  mtime = new Float64Array(INITIAL_CAPACITY);
  version = new Int32Array(INITIAL_CAPACITY);
  /** Children created under this node so far (the client sees 2*cversion − numChildren). */
  cversion = new Int32Array(INITIAL_CAPACITY);
  aversion = new Int32Array(INITIAL_CAPACITY);
  aclRef = new Int32Array(INITIAL_CAPACITY);
  owner = new BigInt64Array(INITIAL_CAPACITY);
  /**
   * The parent's id and the node's name. With them the columns alone describe
   * the whole tree, so a snapshot can copy the columns in one go and write
   * them out later while the tree keeps changing.
   */
  parent = new Int32Array(INITIAL_CAPACITY).fill(FREE_NODE);
  /**
   * A hash of the node's path and data, kept so that the tree digest can
   * drop and re-add a node's share when only its Stat changes without
   * hashing its path and data again. Not part of snapshots.
   */
  contentHash = new Uint32Array(INITIAL_CAPACITY);
  readonly name: string[] = [];
  readonly data: (string | null)[] = [];
  readonly children: (Map<string, number> | undefined)[] = [];

  private capacity = INITIAL_CAPACITY;
  private nextUnused = 0;
  private readonly freeIds: number[] = [];
  private live = 0;
  /** Snapshot copies in progress (a periodic snapshot, a learner's SNAP), which must see a node before it changes. */
  private copies: ColumnCopy[] = [];

  /**
   * Starts an exact copy of the columns as they are now; advance it with
   * `step` until done, then `endCopy`.
   */
  beginCopy(): ColumnCopy {
    const copy = new ColumnCopy(this);
    this.copies.push(copy);
    return copy;
  }

  endCopy(copy: ColumnCopy): void {
    this.copies = this.copies.filter((c) => c !== copy);
  }

  /** Must be called before any column of node `id` changes. */
  willChange(id: number): void {
    for (const copy of this.copies) copy.preserve(id);
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
    this.name[id] = '';
    this.data[id] = null;
    this.children[id] = undefined;
    this.live++;
    return id;
  }

  release(id: number): void {
    this.willChange(id);
    this.parent[id] = FREE_NODE;
    this.name[id] = '';
    this.data[id] = null;
    this.children[id] = undefined;
    this.freeIds.push(id);
    this.live--;
  }

  private grow(): void {
    const capacity = this.capacity * 2;
    this.czxid = growFloat64(this.czxid, capacity);
    this.mzxid = growFloat64(this.mzxid, capacity);
    this.pzxid = growFloat64(this.pzxid, capacity);
    this.ctime = growFloat64(this.ctime, capacity);
    this.mtime = growFloat64(this.mtime, capacity);
    this.version = growInt32(this.version, capacity);
    this.cversion = growInt32(this.cversion, capacity);
    this.aversion = growInt32(this.aversion, capacity);
    this.aclRef = growInt32(this.aclRef, capacity);
    this.parent = growInt32(this.parent, capacity);
    this.parent.fill(FREE_NODE, this.capacity);
    const contentHash = new Uint32Array(capacity);
    contentHash.set(this.contentHash);
    this.contentHash = contentHash;
    const owner = new BigInt64Array(capacity);
    owner.set(this.owner);
    this.owner = owner;
    this.capacity = capacity;
  }
}

function growFloat64(a: Float64Array, capacity: number): Float64Array<ArrayBuffer> {
  const grown = new Float64Array(capacity);
  grown.set(a);
  return grown;
}

function growInt32(a: Int32Array, capacity: number): Int32Array<ArrayBuffer> {
  const grown = new Int32Array(capacity);
  grown.set(a);
  return grown;
}
