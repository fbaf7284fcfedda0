import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { SessionTracker } from '../../src/server/session-tracker.js';

// Time is passed in explicitly, so none of these tests depends on a clock.
const TICK = 1000;

describe('SessionTracker', () => {
  it('rounds a deadline up to the next tick boundary, a boundary itself included', () => {
    const tracker = new SessionTracker(TICK, 0);
    tracker.add(1n, 5000, 0); // now + timeout = 5000, a boundary: expires at 6000
    tracker.add(2n, 5000, 1234); // 6234 → 7000
    tracker.add(3n, 4999, 1); // 5000 → 6000
    assert.deepEqual(tracker.expire(5999), []);
    assert.deepEqual(tracker.expire(6000), [1n, 3n]);
    assert.deepEqual(tracker.expire(6999), []);
    assert.deepEqual(tracker.expire(7000), [2n]);
  });

  it('expires a session at the first tick boundary strictly after now + timeout, never before', () => {
    const scenario = fc.record({
      tick: fc.integer({ min: 10, max: 5000 }),
      start: fc.integer({ min: 0, max: 1e9 }),
      addedAfter: fc.integer({ min: 0, max: 1e5 }),
      timeout: fc.integer({ min: 0, max: 1e5 }),
    });
    fc.assert(
      fc.property(scenario, ({ tick, start, addedAfter, timeout }) => {
        const tracker = new SessionTracker(tick, start);
        const now = start + addedAfter;
        tracker.add(7n, timeout, now);
        const due = now + timeout;
        // The first multiple of the tick strictly greater than `due`.
        const deadline = (Math.floor(due / tick) + 1) * tick;
        // expire() handles every bucket up to its argument, so one call covers all earlier boundaries.
        assert.deepEqual(tracker.expire(due), []);
        assert.deepEqual(tracker.expire(deadline - 1), []);
        assert.deepEqual(tracker.expire(deadline), [7n]);
      }),
      { seed: 2718, numRuns: 300 },
    );
  });

  it('moves a touched session to a later bucket, so it is not expired at its old deadline', () => {
    const tracker = new SessionTracker(TICK, 0);
    tracker.add(1n, 5000, 0); // deadline 6000
    assert.equal(tracker.touch(1n, 3000), true); // deadline 9000
    assert.deepEqual(tracker.expire(6000), []);
    assert.deepEqual(tracker.expire(8999), []);
    assert.deepEqual(tracker.expire(9000), [1n]);
  });

  it('leaves a session in place when a touch lands in the same bucket', () => {
    const tracker = new SessionTracker(TICK, 0);
    tracker.add(1n, 5000, 0);
    tracker.add(2n, 5000, 0);
    tracker.touch(1n, 500); // still 6000: keeps its place ahead of session 2
    assert.deepEqual(tracker.expire(6000), [1n, 2n]);
  });

  it('returns due sessions in deadline order and each only once', () => {
    const tracker = new SessionTracker(TICK, 0);
    tracker.add(3n, 8000, 0); // 9000
    tracker.add(1n, 2000, 0); // 3000
    tracker.add(2n, 4000, 0); // 5000
    tracker.add(4n, 50_000, 0); // 51000
    assert.deepEqual(tracker.expire(20_000), [1n, 2n, 3n]);
    assert.deepEqual(tracker.expire(20_000), []);
    assert.deepEqual(tracker.expire(40_000), []);
    assert.deepEqual(tracker.expire(60_000), [4n]);
  });

  it('keeps an expired session tracked until removed, and a late touch cannot revive it', () => {
    const tracker = new SessionTracker(TICK, 0);
    tracker.add(1n, 2000, 0);
    assert.equal(tracker.timeoutOf(1n), 2000);
    assert.deepEqual(tracker.expire(3000), [1n]);
    assert.equal(tracker.has(1n), true);
    assert.equal(tracker.size, 1);
    assert.equal(tracker.timeoutOf(1n), undefined);
    assert.equal(tracker.touch(1n, 3000), false);
    assert.deepEqual(tracker.expire(100_000), []);
    tracker.remove(1n);
    assert.equal(tracker.has(1n), false);
    assert.equal(tracker.size, 0);
  });

  it('never expires a removed session, and ignores touches of unknown ones', () => {
    const tracker = new SessionTracker(TICK, 0);
    tracker.add(1n, 2000, 0);
    tracker.add(2n, 2000, 0);
    tracker.remove(1n);
    tracker.remove(99n);
    assert.equal(tracker.touch(1n, 500), false);
    assert.equal(tracker.touch(99n, 500), false);
    assert.deepEqual(tracker.expire(10_000), [2n]);
  });

  it('re-arms a session with a new timeout when added again', () => {
    const tracker = new SessionTracker(TICK, 0);
    tracker.add(1n, 2000, 0); // 3000
    tracker.add(1n, 10_000, 1000); // 12000
    assert.equal(tracker.timeoutOf(1n), 10_000);
    assert.equal(tracker.size, 1);
    assert.deepEqual(tracker.expire(11_999), []);
    assert.deepEqual(tracker.expire(12_000), [1n]);
  });

  it('tells how long until the next bucket is due', () => {
    const tracker = new SessionTracker(TICK, 2500);
    assert.equal(tracker.msUntilNextExpiry(2500), 500);
    assert.equal(tracker.msUntilNextExpiry(3000), 0);
    assert.equal(tracker.msUntilNextExpiry(3700), 0);
    tracker.expire(3700);
    assert.equal(tracker.msUntilNextExpiry(3700), 300);
  });
});

// ---- model-based property ----

type Step =
  | { op: 'add'; id: number; timeout: number }
  | { op: 'touch'; id: number }
  | { op: 'remove'; id: number }
  | { op: 'expire' }
  | { op: 'advance'; ms: number };

const id = fc.nat({ max: 5 });
const STEP: fc.Arbitrary<Step> = fc.oneof(
  fc.record({ op: fc.constant('add' as const), id, timeout: fc.integer({ min: 0, max: 6000 }) }),
  fc.record({ op: fc.constant('touch' as const), id }),
  fc.record({ op: fc.constant('remove' as const), id }),
  fc.record({ op: fc.constant('expire' as const) }),
  fc.record({ op: fc.constant('advance' as const), ms: fc.integer({ min: 0, max: 2500 }) }),
);

interface ModelSession {
  timeout: number | undefined;
  deadline: number;
  /** When it last entered its deadline's bucket: ties in a bucket expire in this order. */
  joined: number;
}

describe('SessionTracker against a reference model', () => {
  it('expires exactly the due, live sessions, in order, over random schedules', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 3000 }), fc.array(STEP, { maxLength: 60 }), (tick, steps) => {
        let now = 0;
        let joins = 0;
        const tracker = new SessionTracker(tick, now);
        const model = new Map<number, ModelSession>();
        const boundaryAfter = (t: number) => (Math.floor(t / tick) + 1) * tick;
        const rearm = (session: ModelSession) => {
          const deadline = boundaryAfter(now + session.timeout!);
          if (deadline !== session.deadline) Object.assign(session, { deadline, joined: joins++ });
        };
        for (const step of steps) {
          switch (step.op) {
            case 'add': {
              tracker.add(BigInt(step.id), step.timeout, now);
              const session = model.get(step.id) ?? { timeout: undefined, deadline: -1, joined: -1 };
              session.timeout = step.timeout;
              rearm(session);
              model.set(step.id, session);
              break;
            }
            case 'touch': {
              const session = model.get(step.id);
              const live = session?.timeout !== undefined;
              assert.equal(tracker.touch(BigInt(step.id), now), live);
              if (live) rearm(session!);
              break;
            }
            case 'remove':
              tracker.remove(BigInt(step.id));
              model.delete(step.id);
              break;
            case 'expire': {
              const due = [...model.entries()]
                .filter(([, s]) => s.timeout !== undefined && s.deadline <= now)
                .sort(([, a], [, b]) => a.deadline - b.deadline || a.joined - b.joined);
              for (const [, s] of due) s.timeout = undefined;
              assert.deepEqual(
                tracker.expire(now),
                due.map(([sessionId]) => BigInt(sessionId)),
              );
              break;
            }
            case 'advance':
              now += step.ms;
              break;
          }
          assert.equal(tracker.size, model.size);
          for (let i = 0; i <= 5; i++) {
            assert.equal(tracker.has(BigInt(i)), model.has(i));
            assert.equal(tracker.timeoutOf(BigInt(i)), model.get(i)?.timeout);
          }
        }
      }),
      { seed: 16_180, numRuns: 400 },
    );
  });
});
