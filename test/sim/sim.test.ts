/**
 * The consensus core under the deterministic simulator: a few hundred seeds
 * per configuration in CI (`npm run sim -- --seeds 5000` runs thousands).
 * Each seed either passes every check or fails with a message naming the
 * seed; `node dist/test/sim/run.js --seed N --trace` replays it exactly.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Simulation, SimulationFailure, type SimOptions } from './simulator.js';

function runSeeds(count: number, options: Omit<SimOptions, 'seed'>, firstSeed = 1): void {
  const failures: string[] = [];
  for (let seed = firstSeed; seed < firstSeed + count; seed++) {
    const sim = new Simulation({ ...options, seed });
    try {
      sim.run();
    } catch (e) {
      if (!(e instanceof SimulationFailure)) throw e;
      failures.push(`${e.message}\n${sim.trace.slice(-60).join('\n')}`);
    }
  }
  assert.deepEqual(failures, [], failures[0]);
}

const base = { faultMs: 10_000, settleMs: 10_000, faults: true } as const;

describe('ensemble simulator', () => {
  it('3 voters, random faults', { timeout: 600_000 }, () => runSeeds(250, { ...base, voters: 3, observers: 0 }));

  it('5 voters and 1 observer, random faults', { timeout: 600_000 }, () =>
    runSeeds(120, { ...base, voters: 5, observers: 1 }, 10_001),
  );

  // Seed 248: a deposed leader had promised epoch 3 in a discovery round that never completed,
  // while the new leader ran epoch 2; it was locked out until the leader stepped down for it.
  it('a server that promised a later epoch than the leader’s gets back in', () =>
    runSeeds(1, { ...base, voters: 5, observers: 1 }, 248),
  );

  it('a paused leader never answers a sync with stale data', { timeout: 600_000 }, () =>
    runSeeds(60, { ...base, voters: 3, observers: 0, scenario: 'pausedLeader' }, 20_001),
  );

  it('the zxid counter running out starts a new epoch without losing writes', { timeout: 600_000 }, () =>
    runSeeds(60, { ...base, voters: 3, observers: 0, maxCounter: 25 }, 30_001),
  );

  it('an ensemble of one voter (a standalone server) and an observer', { timeout: 600_000 }, () =>
    runSeeds(40, { ...base, voters: 1, observers: 1 }, 40_001),
  );
});
