/**
 * NodeTable's tree shape (the child hash table and sibling lists) against a
 * model of parent → ordered child names, through random creates and deletes:
 * enough of them to grow the columns and the table and to exercise deletion
 * from the middle of probe runs.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { NO_PARENT, NodeTable } from '../../src/tree/node-table.js';

type Op = { kind: 'create'; parent: number; name: number } | { kind: 'delete'; pick: number };

const OP: fc.Arbitrary<Op> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('create' as const), parent: fc.nat(50), name: fc.nat(400) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('delete' as const), pick: fc.nat() }) },
);

/** Names: mostly ASCII, some not, so both comparisons run. */
function nameOf(n: number): string {
  return n % 7 === 0 ? `ü${n}` : `n${n}`;
}

describe('NodeTable', () => {
  it('finds, lists and counts children as a model does, through creates and deletes', () => {
    fc.assert(
      fc.property(fc.array(OP, { minLength: 2000, maxLength: 4000 }), (ops) => {
        const table = new NodeTable();
        const root = table.allocate(NO_PARENT, new Uint8Array(0), null);
        // Model: id → ordered child names; name lookups through it.
        const children = new Map<number, Map<string, number>>([[root, new Map()]]);
        const ids = [root];
        for (const op of ops) {
          if (op.kind === 'create') {
            const parent = ids[op.parent % ids.length]!;
            const name = nameOf(op.name);
            const path = `/p/${name}`;
            const existing = children.get(parent)!.get(name);
            assert.equal(table.childOf(parent, path, 3, path.length), existing ?? -1);
            if (existing !== undefined) continue;
            const id = table.allocate(parent, Buffer.from(name, 'utf8'), Buffer.from(path));
            children.get(parent)!.set(name, id);
            children.set(id, new Map());
            ids.push(id);
          } else {
            const leaves = ids.filter((id) => id !== root && children.get(id)!.size === 0);
            if (leaves.length === 0) continue;
            const id = leaves[op.pick % leaves.length]!;
            const parent = table.parent[id]!;
            children.get(parent)!.delete(table.nameOf(id));
            children.delete(id);
            ids.splice(ids.indexOf(id), 1);
            table.release(id);
          }
        }
        assert.equal(table.size, ids.length);
        for (const id of ids) {
          const model = children.get(id)!;
          assert.equal(table.numChildren(id), model.size);
          assert.deepEqual(table.childIds(id), [...model.values()]);
          for (const [name, child] of model) {
            const path = `//${name}`;
            assert.equal(table.childOf(id, path, 2, path.length), child);
            assert.equal(table.nameOf(child), name);
            assert.equal(Buffer.from(table.dataOf(child)!).toString(), `/p/${name}`);
          }
        }
      }),
      { numRuns: 30 },
    );
  });
});
