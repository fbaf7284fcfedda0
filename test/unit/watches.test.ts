import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { EventType } from '../../src/protocol/constants.js';
import type { ACL } from '../../src/protocol/records.js';
import { OPEN_ACL_UNSAFE, READ_ACL_UNSAFE } from '../../src/tree/acl.js';
import { WatchMode, WatchTable, type Watcher } from '../../src/tree/watches.js';

interface Notification {
  type: number;
  path: string;
  zxid: number;
  acl: readonly ACL[];
}

class RecordingWatcher implements Watcher {
  readonly notifications: Notification[] = [];

  constructor(readonly name: string) {}

  notify(type: number, path: string, zxid: number, acl: readonly ACL[]): void {
    this.notifications.push({ type, path, zxid, acl });
  }

  /** The paths notified so far, and forgets them. */
  drain(): string[] {
    return this.notifications.splice(0).map((n) => n.path);
  }
}

const { Standard, Persistent, PersistentRecursive } = WatchMode;
const CHANGED = EventType.NodeDataChanged;

function fire(table: WatchTable, path: string, suppress?: ReadonlySet<Watcher>): Set<Watcher> | undefined {
  return table.trigger(path, CHANGED, 7, OPEN_ACL_UNSAFE, suppress);
}

describe('WatchTable', () => {
  it('consumes a one-shot watch when it fires, passing on the event, zxid and ACL', () => {
    const table = new WatchTable();
    const w = new RecordingWatcher('w');
    assert.equal(table.add('/a', w, Standard), true);
    const fired = table.trigger('/a', EventType.NodeDeleted, 42, READ_ACL_UNSAFE);
    assert.deepEqual(fired, new Set([w]));
    assert.deepEqual(w.notifications, [{ type: EventType.NodeDeleted, path: '/a', zxid: 42, acl: READ_ACL_UNSAFE }]);
    assert.equal(fire(table, '/a'), undefined);
    assert.equal(w.notifications.length, 1);
    assert.equal(table.contains('/a', w), false);
    assert.deepEqual([table.watchCount, table.pathCount], [0, 0]);
    assert.deepEqual(table.pathsOf(w), []);
    assert.deepEqual([...table.watchers()], []);
  });

  it('keeps a persistent watch after it fires', () => {
    const table = new WatchTable();
    const w = new RecordingWatcher('w');
    table.add('/a', w, Persistent);
    fire(table, '/a');
    fire(table, '/a');
    assert.deepEqual(w.drain(), ['/a', '/a']);
    assert.equal(table.contains('/a', w, Persistent), true);
  });

  it('notifies once for a one-shot and a persistent watch on the same path, consuming only the one-shot', () => {
    const table = new WatchTable();
    const w = new RecordingWatcher('w');
    assert.equal(table.add('/a', w, Standard), true);
    assert.equal(table.add('/a', w, Persistent), true);
    assert.equal(table.add('/a', w, Standard), false);
    assert.equal(table.watchCount, 1);
    fire(table, '/a');
    assert.deepEqual(w.drain(), ['/a']);
    assert.equal(table.contains('/a', w, Standard), false);
    assert.equal(table.contains('/a', w, Persistent), true);
  });

  it('fires a persistent-recursive watch for the node and every descendant, and keeps it', () => {
    const table = new WatchTable();
    const w = new RecordingWatcher('w');
    table.add('/a', w, PersistentRecursive);
    for (const path of ['/a', '/a/b', '/a/b/c', '/ab', '/b', '/']) fire(table, path);
    assert.deepEqual(w.drain(), ['/a', '/a/b', '/a/b/c']);
    assert.equal(table.contains('/a', w, PersistentRecursive), true);
  });

  it('fires a recursive watch on the root for every path', () => {
    const table = new WatchTable();
    const w = new RecordingWatcher('w');
    table.add('/', w, PersistentRecursive);
    for (const path of ['/', '/a', '/x/y/z']) fire(table, path);
    assert.deepEqual(w.drain(), ['/', '/a', '/x/y/z']);
  });

  it('does not fire one-shot or plain persistent watches of an ancestor, nor consume them', () => {
    const table = new WatchTable();
    const oneShot = new RecordingWatcher('one-shot');
    const persistent = new RecordingWatcher('persistent');
    table.add('/a', oneShot, Standard);
    table.add('/a', persistent, Persistent);
    // A recursive watch elsewhere makes the table walk ancestors.
    table.add('/z', new RecordingWatcher('elsewhere'), PersistentRecursive);
    assert.equal(fire(table, '/a/b'), undefined);
    assert.deepEqual([oneShot.drain(), persistent.drain()], [[], []]);
    assert.equal(table.contains('/a', oneShot, Standard), true);
  });

  it('notifies a watcher once when it watches both the path and an ancestor recursively', () => {
    const table = new WatchTable();
    const w = new RecordingWatcher('w');
    table.add('/a/b', w, Standard);
    table.add('/a', w, PersistentRecursive);
    table.add('/', w, PersistentRecursive);
    assert.deepEqual(fire(table, '/a/b'), new Set([w]));
    assert.deepEqual(w.drain(), ['/a/b']);
  });

  it('stops walking ancestors once no recursive watch is left, and resumes for a new one', () => {
    const table = new WatchTable();
    const w = new RecordingWatcher('w');
    const other = new RecordingWatcher('other');
    table.add('/a', w, Standard);
    table.add('/a', w, PersistentRecursive);
    table.add('/b', other, PersistentRecursive);
    // Consuming the one-shot mode must not count as removing the recursive one.
    fire(table, '/a');
    fire(table, '/a/x');
    assert.deepEqual(w.drain(), ['/a', '/a/x']);
    // Removing one recursive watch leaves the other working.
    assert.equal(table.remove('/b', other, PersistentRecursive), true);
    fire(table, '/a/y');
    fire(table, '/b/y');
    assert.deepEqual([w.drain(), other.drain()], [['/a/y'], []]);
    table.removeWatcher(w);
    assert.equal(fire(table, '/a/z'), undefined);
    table.add('/c', other, PersistentRecursive);
    fire(table, '/c/d');
    assert.deepEqual(other.drain(), ['/c/d']);
  });

  it('skips suppressed watchers, yet consumes their one-shot watches and reports them as fired', () => {
    const table = new WatchTable();
    const seen = new RecordingWatcher('seen');
    const suppressed = new RecordingWatcher('suppressed');
    table.add('/a', seen, Standard);
    table.add('/a', suppressed, Standard);
    const fired = fire(table, '/a', new Set([suppressed]));
    assert.deepEqual(fired, new Set([seen, suppressed]));
    assert.deepEqual([seen.drain(), suppressed.drain()], [['/a'], []]);
    assert.equal(table.contains('/a', suppressed), false);
  });

  it('removes one mode or every mode of a (path, watcher) pair', () => {
    const table = new WatchTable();
    const w = new RecordingWatcher('w');
    table.add('/a', w, Standard);
    table.add('/a', w, Persistent);
    table.add('/a', w, PersistentRecursive);
    assert.equal(table.remove('/a', w, Persistent), true);
    assert.equal(table.remove('/a', w, Persistent), false);
    assert.equal(table.contains('/a', w, Standard), true);
    assert.equal(table.contains('/a', w, PersistentRecursive), true);
    assert.equal(table.remove('/a', w), true);
    assert.equal(table.contains('/a', w), false);
    assert.equal(table.remove('/a', w), false);
    assert.equal(table.remove('/missing', w, Standard), false);
    assert.deepEqual([table.watchCount, table.pathCount, table.pathsOf(w).length], [0, 0, 0]);
    assert.equal(fire(table, '/a/b'), undefined);
  });

  it('removeWatcher drops every watch of a watcher from both indexes', () => {
    const table = new WatchTable();
    const gone = new RecordingWatcher('gone');
    const stays = new RecordingWatcher('stays');
    table.add('/a', gone, Standard);
    table.add('/b', gone, PersistentRecursive);
    table.add('/c', gone, Persistent);
    table.add('/a', stays, Standard);
    assert.deepEqual([table.watchCount, table.pathCount], [4, 3]);
    table.removeWatcher(gone);
    assert.deepEqual(table.pathsOf(gone), []);
    assert.deepEqual(table.watchersOf('/a'), [stays]);
    assert.deepEqual(table.watchersOf('/b'), []);
    assert.deepEqual([...table.watchedPaths()], ['/a']);
    assert.deepEqual([...table.watchers()], [stays]);
    assert.deepEqual([table.watchCount, table.pathCount], [1, 1]);
    table.removeWatcher(gone);
    assert.equal(table.watchCount, 1);
  });

  it('counts (path, watcher) pairs and distinct paths', () => {
    const table = new WatchTable();
    const [w1, w2] = [new RecordingWatcher('w1'), new RecordingWatcher('w2')];
    table.add('/a', w1, Standard);
    table.add('/a', w1, Persistent);
    table.add('/a', w2, Standard);
    table.add('/b', w2, PersistentRecursive);
    assert.deepEqual([table.watchCount, table.pathCount], [3, 2]);
    assert.deepEqual(new Set(table.pathsOf(w2)), new Set(['/a', '/b']));
  });
});

// ---- model-based property ----

const PATHS = ['/', '/a', '/a/b', '/a/b/c', '/ab', '/b'];
const MODES = [Standard, Persistent, PersistentRecursive] as const;
const WATCHERS = 3;

type Step =
  | { op: 'add'; path: string; watcher: number; mode: WatchMode }
  | { op: 'remove'; path: string; watcher: number; mode: WatchMode | undefined }
  | { op: 'removeWatcher'; watcher: number }
  | { op: 'trigger'; path: string; suppress: number[] };

const path = fc.constantFrom(...PATHS);
const watcher = fc.nat({ max: WATCHERS - 1 });
const mode = fc.constantFrom(...MODES);
const STEP: fc.Arbitrary<Step> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ op: fc.constant('add' as const), path, watcher, mode }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('remove' as const), path, watcher, mode: fc.option(mode, { nil: undefined }) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('removeWatcher' as const), watcher }) },
  {
    weight: 4,
    arbitrary: fc.record({
      op: fc.constant('trigger' as const),
      path,
      suppress: fc.uniqueArray(watcher, { maxLength: WATCHERS }),
    }),
  },
);

function isStrictAncestor(ancestor: string, path: string): boolean {
  return ancestor !== path && (ancestor === '/' || path.startsWith(`${ancestor}/`));
}

/** The reference: a plain set of (path, watcher, mode) triples, scanned in full for every event. */
class ModelTable {
  readonly watches = new Set<string>();
  private static key = (path: string, watcher: number, mode: number) => `${path}|${watcher}|${mode}`;

  has(path: string, watcher: number, mode: number): boolean {
    return this.watches.has(ModelTable.key(path, watcher, mode));
  }

  add(path: string, watcher: number, mode: number): boolean {
    const key = ModelTable.key(path, watcher, mode);
    if (this.watches.has(key)) return false;
    this.watches.add(key);
    return true;
  }

  remove(path: string, watcher: number, mode: number | undefined): boolean {
    let removed = false;
    for (const m of mode === undefined ? MODES : [mode]) removed = this.watches.delete(ModelTable.key(path, watcher, m)) || removed;
    return removed;
  }

  removeWatcher(watcher: number): void {
    for (const p of PATHS) this.remove(p, watcher, undefined);
  }

  /** Who fires for an event on `path`; one-shot watches on the path are consumed. */
  trigger(path: string): Set<number> {
    const fired = new Set<number>();
    for (let w = 0; w < WATCHERS; w++) {
      if (MODES.some((m) => this.has(path, w, m))) fired.add(w);
      if (PATHS.some((p) => isStrictAncestor(p, path) && this.has(p, w, PersistentRecursive))) fired.add(w);
      this.watches.delete(ModelTable.key(path, w, Standard));
    }
    return fired;
  }

  pairs(): Set<string> {
    return new Set([...this.watches].map((key) => key.split('|').slice(0, 2).join('|')));
  }
}

describe('WatchTable against a reference model', () => {
  it('agrees on every result, notification and count over random operation sequences', () => {
    fc.assert(
      fc.property(fc.array(STEP, { maxLength: 40 }), (steps) => {
        const table = new WatchTable();
        const model = new ModelTable();
        const watchers = Array.from({ length: WATCHERS }, (_, i) => new RecordingWatcher(`w${i}`));
        const index = (w: Watcher) => watchers.indexOf(w as RecordingWatcher);
        for (const step of steps) {
          switch (step.op) {
            case 'add':
              assert.equal(table.add(step.path, watchers[step.watcher]!, step.mode), model.add(step.path, step.watcher, step.mode));
              break;
            case 'remove':
              assert.equal(
                table.remove(step.path, watchers[step.watcher]!, step.mode),
                model.remove(step.path, step.watcher, step.mode),
              );
              break;
            case 'removeWatcher':
              table.removeWatcher(watchers[step.watcher]!);
              model.removeWatcher(step.watcher);
              break;
            case 'trigger': {
              const suppress = new Set(step.suppress.map((i) => watchers[i]!));
              const fired = fire(table, step.path, suppress);
              const expected = model.trigger(step.path);
              assert.deepEqual(new Set([...(fired ?? [])].map(index)), expected, `fired for ${step.path}`);
              for (const [i, w] of watchers.entries()) {
                const notified: boolean = expected.has(i) && !step.suppress.includes(i);
                assert.deepEqual(w.drain(), notified ? [step.path] : [], `${w.name} for ${step.path}`);
              }
              break;
            }
          }
          const pairs = model.pairs();
          assert.equal(table.watchCount, pairs.size);
          assert.equal(table.pathCount, new Set([...pairs].map((p) => p.split('|')[0])).size);
          for (const [i, w] of watchers.entries()) {
            const modelPaths = PATHS.filter((p) => MODES.some((m) => model.has(p, i, m)));
            assert.deepEqual(new Set(table.pathsOf(w)), new Set(modelPaths), `paths of ${w.name}`);
            for (const p of PATHS) for (const m of MODES) assert.equal(table.contains(p, w, m), model.has(p, i, m));
          }
        }
      }),
      { seed: 8086, numRuns: 400 },
    );
  });
});
