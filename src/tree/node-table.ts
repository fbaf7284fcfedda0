/**
 * NodeTable: the znodes, stored column-wise in typed arrays indexed by a small
 * integer node id, instead of one JS object (and a name string, a data string
 * and a children map) per znode.
 *
 * A znode object with eleven fields would cost a header, eleven pointers and
 * a boxed HeapNumber for every zxid and time above 2^31; columns cost 8 bytes
 * per long and 4 per int, and the GC never has to trace them. Names and data
 * live in a ByteArena (one record per node), and the tree's shape in columns
 * too: each node's children form a circular doubly linked list (in creation
 * order), and one open-addressing hash table finds a child by parent and name.
 * The JS heap holds nothing per znode here (DataTree also indexes ephemeral,
 * container and TTL znodes by path).
 */

import { ByteArena, NO_RECORD } from './byte-arena.js';
import { ColumnBlock, SNAPSHOT_COLUMN_BYTES, snapshotColumnsIn, type SnapshotColumnSet } from './column-block.js';
import { ColumnCopy } from './column-copy.js';
import { EMPTY_HASH, hashText, hashUtf8AsText } from './fnv.js';

const INITIAL_CAPACITY = 1024;
/** Bytes of the columns per node: the snapshot's, and six more of 4 bytes. */
const COLUMN_BYTES_PER_NODE = SNAPSHOT_COLUMN_BYTES + 6 * 4;
/** `parent` of the root. */
export const NO_PARENT = -1;
/** `parent` of an unused id. */
export const FREE_NODE = -2;
/** No node: an empty child list, an empty hash slot. */
const NONE = -1;
/** The child hash table grows before it is this full, so probe runs stay short. */
const MAX_LOAD = 0.6;

/** The child table's hash of (parent, name), the name being `text[start, end)`. */
export function childHash(parent: number, text: string, start: number, end: number): number {
  return spread(hashText(hashParent(parent), text, start, end));
}

/** childHash of a name given as UTF-8 (the same value as from its text). */
function childHashOfUtf8(parent: number, name: Uint8Array): number {
  return spread(hashUtf8AsText(hashParent(parent), name));
}

function hashParent(parent: number): number {
  return Math.imul(EMPTY_HASH ^ parent, 0x01000193);
}

/** Folds high bits into the low ones the table's mask keeps. */
function spread(h: number): number {
  return (h ^ (h >>> 15)) >>> 0;
}

export class NodeTable implements SnapshotColumnSet {
  czxid!: Float64Array<ArrayBuffer>;
  mzxid!: Float64Array<ArrayBuffer>;
  pzxid!: Float64Array<ArrayBuffer>;
  ctime!: Float64Array<ArrayBuffer>;
  mtime!: Float64Array<ArrayBuffer>;
  owner!: BigInt64Array<ArrayBuffer>;
  version!: Int32Array<ArrayBuffer>;
  cversion!: Int32Array<ArrayBuffer>;
  aversion!: Int32Array<ArrayBuffer>;
  aclRef!: Int32Array<ArrayBuffer>;
  parent!: Int32Array<ArrayBuffer>;
  record!: Uint32Array<ArrayBuffer>;
  /**
   * A hash of the node's path and data, kept so that the tree digest can
   * drop and re-add a node's share when only its Stat changes without
   * hashing its path and data again. Not part of snapshots.
   */
  contentHash!: Uint32Array<ArrayBuffer>;
  /** childHash of the node's parent and name: where the child table keeps it. */
  private keyHash!: Uint32Array<ArrayBuffer>;
  private firstChild!: Int32Array<ArrayBuffer>;
  private nextSibling!: Int32Array<ArrayBuffer>;
  private prevSibling!: Int32Array<ArrayBuffer>;
  private childCount!: Int32Array<ArrayBuffer>;
  readonly arena = new ByteArena(
    (id) => this.record[id]!,
    (id, ref) => {
      this.record[id] = ref;
    },
  );

  private nextUnused = 0;
  private readonly freeIds: number[] = [];
  private live = 0;
  /** Child table: node ids by childHash, linear probing; NONE in empty slots. */
  private slots = new Int32Array(INITIAL_CAPACITY * 2).fill(NONE);
  /** Snapshot copies in progress (a periodic snapshot, a learner's SNAP), which must see a node before it changes. */
  private copies: ColumnCopy[] = [];

  constructor() {
    this.useBlock(new ColumnBlock(INITIAL_CAPACITY, COLUMN_BYTES_PER_NODE));
    this.parent.fill(FREE_NODE);
  }

  private useBlock(block: ColumnBlock): void {
    Object.assign(this, snapshotColumnsIn(block));
    this.contentHash = block.uint32();
    this.keyHash = block.uint32();
    this.firstChild = block.int32();
    this.nextSibling = block.int32();
    this.prevSibling = block.int32();
    this.childCount = block.int32();
  }

  /**
   * Starts an exact copy of the columns as they are now; advance it with
   * `step` until done, then `endCopy`.
   */
  beginCopy(): ColumnCopy {
    const copy = new ColumnCopy(this);
    this.copies.push(copy);
    // The copy holds record refs as they are now: they must not move until it is done.
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

  get size(): number {
    return this.live;
  }

  /** One past the highest id ever allocated: the columns' used length. */
  get highWater(): number {
    return this.nextUnused;
  }

  // ---- names and data ----

  /** Node `id`'s data: a view that stays valid (see ByteArena), or null. */
  dataOf(id: number): Uint8Array | null {
    return this.arena.data(this.record[id]!);
  }

  dataLength(id: number): number {
    return this.arena.dataLength(this.record[id]!);
  }

  nameOf(id: number): string {
    return this.arena.name(this.record[id]!);
  }

  /** Replaces node `id`'s data with a copy of `data` (willChange first, as for any column). */
  setData(id: number, data: Uint8Array | null): void {
    const old = this.record[id]!;
    this.record[id] = this.arena.withData(id, old, data);
    this.arena.release(old);
  }

  // ---- the tree's shape ----

  /** The child of `parent` named `path[start, end)`, or −1 (`hash`: its childHash, if known). */
  childOf(parent: number, path: string, start: number, end: number, hash = childHash(parent, path, start, end)): number {
    const mask = this.slots.length - 1;
    for (let slot = hash & mask; ; slot = (slot + 1) & mask) {
      const id = this.slots[slot]!;
      if (id === NONE) return -1;
      if (this.keyHash[id] === hash && this.parent[id] === parent && this.arena.nameEquals(this.record[id]!, path, start, end)) return id;
    }
  }

  numChildren(id: number): number {
    return this.childCount[id]!;
  }

  /** The ids of `parent`'s children, oldest first. */
  childIds(parent: number): number[] {
    const ids: number[] = [];
    const first = this.firstChild[parent]!;
    if (first === NONE) return ids;
    let id = first;
    do {
      ids.push(id);
      id = this.nextSibling[id]!;
    } while (id !== first);
    return ids;
  }

  /**
   * A new node: `parent`'s child named `name` (UTF-8; ignored for the root, whose parent is
   * NO_PARENT) holding a copy of `data`, with zeroed metadata. Returns its id. `hash`: the
   * name's childHash, if the caller has it already (it looked the name up first).
   */
  allocate(parent: number, name: Uint8Array, data: Uint8Array | null, hash?: number): number {
    const id = this.freeIds.pop() ?? this.nextUnused++;
    if (id >= this.parent.length) this.grow();
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
    this.contentHash[id] = 0;
    this.record[id] = this.arena.store(id, name, data);
    this.firstChild[id] = NONE;
    this.childCount[id] = 0;
    this.parent[id] = parent;
    if (parent !== NO_PARENT) this.link(id, parent, hash ?? childHashOfUtf8(parent, name));
    this.live++;
    return id;
  }

  /** Frees node `id`, which must have no children. */
  release(id: number): void {
    if (this.childCount[id]! > 0) throw new Error(`NodeTable.release: node ${id} has children`);
    this.willChange(id);
    if (this.parent[id]! !== NO_PARENT) this.unlink(id);
    this.parent[id] = FREE_NODE;
    const record = this.record[id]!;
    this.record[id] = NO_RECORD;
    this.arena.release(record);
    this.freeIds.push(id);
    this.live--;
  }

  private link(id: number, parent: number, hash: number): void {
    // Every live node but the root is in the table.
    if (this.live > this.slots.length * MAX_LOAD) this.growSlots();
    this.keyHash[id] = hash;
    this.place(id);
    const first = this.firstChild[parent]!;
    if (first === NONE) {
      this.firstChild[parent] = id;
      this.nextSibling[id] = id;
      this.prevSibling[id] = id;
    } else {
      const last = this.prevSibling[first]!;
      this.nextSibling[last] = id;
      this.prevSibling[id] = last;
      this.nextSibling[id] = first;
      this.prevSibling[first] = id;
    }
    this.childCount[parent]!++;
  }

  private unlink(id: number): void {
    const parent = this.parent[id]!;
    this.removeSlot(id);
    const next = this.nextSibling[id]!;
    if (next === id) {
      this.firstChild[parent] = NONE;
    } else {
      const prev = this.prevSibling[id]!;
      this.nextSibling[prev] = next;
      this.prevSibling[next] = prev;
      if (this.firstChild[parent] === id) this.firstChild[parent] = next;
    }
    this.childCount[parent]!--;
  }

  /** Puts `id` in the first free slot from its hash on. */
  private place(id: number): void {
    const mask = this.slots.length - 1;
    let slot = this.keyHash[id]! & mask;
    while (this.slots[slot] !== NONE) slot = (slot + 1) & mask;
    this.slots[slot] = id;
  }

  /** Takes `id` out of the table, moving later entries of its probe run back (no tombstones). */
  private removeSlot(id: number): void {
    const slots = this.slots;
    const mask = slots.length - 1;
    let hole = this.keyHash[id]! & mask;
    while (slots[hole] !== id) hole = (hole + 1) & mask;
    for (let next = (hole + 1) & mask; slots[next] !== NONE; next = (next + 1) & mask) {
      const home = this.keyHash[slots[next]!]! & mask;
      // The entry at `next` may move to the hole unless its home lies cyclically in (hole, next].
      const stays = hole < next ? home > hole && home <= next : home > hole || home <= next;
      if (!stays) {
        slots[hole] = slots[next]!;
        hole = next;
      }
    }
    slots[hole] = NONE;
  }

  private growSlots(): void {
    const old = this.slots;
    this.slots = new Int32Array(old.length * 2).fill(NONE);
    for (const id of old) if (id !== NONE) this.place(id);
  }

  /** Doubles every column, in a new block. */
  private grow(): void {
    const before = this.columns();
    const oldCapacity = this.parent.length;
    this.useBlock(new ColumnBlock(oldCapacity * 2, COLUMN_BYTES_PER_NODE));
    const after = this.columns();
    for (let i = 0; i < after.length; i++) (after[i] as { set(from: unknown): void }).set(before[i]);
    this.parent.fill(FREE_NODE, oldCapacity);
  }

  /** Every column, always in this order. */
  private columns(): (Float64Array | BigInt64Array | Int32Array | Uint32Array)[] {
    return [
      ...[this.czxid, this.mzxid, this.pzxid, this.ctime, this.mtime, this.owner],
      ...[this.version, this.cversion, this.aversion, this.aclRef, this.parent, this.record],
      ...[this.contentHash, this.keyHash, this.firstChild, this.nextSibling, this.prevSibling, this.childCount],
    ];
  }
}
