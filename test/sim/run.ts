/**
 * Runs the ensemble simulator over many seeds (more than CI does):
 *   node dist/test/sim/run.js --seeds 5000 [--from 1] [--voters 3] [--observers 0] [--seed N --trace]
 * A failing seed prints its trace and the command that replays it.
 */
import { parseArgs } from 'node:util';
import { Simulation, SimulationFailure } from './simulator.js';

const { values } = parseArgs({
  options: {
    seeds: { type: 'string', default: '1000' },
    from: { type: 'string', default: '1' },
    seed: { type: 'string' },
    voters: { type: 'string', default: '3' },
    observers: { type: 'string', default: '0' },
    'fault-ms': { type: 'string', default: '10000' },
    'settle-ms': { type: 'string', default: '10000' },
    'max-counter': { type: 'string' },
    trace: { type: 'boolean', default: false },
    verbose: { type: 'boolean', default: false },
    scenario: { type: 'string', default: 'random' },
  },
});

const first = Number(values.seed ?? values.from);
const count = values.seed !== undefined ? 1 : Number(values.seeds);
let failures = 0;
const started = Date.now();
for (let seed = first; seed < first + count; seed++) {
  const sim = new Simulation({
    seed,
    voters: Number(values.voters),
    observers: Number(values.observers),
    faultMs: Number(values['fault-ms']),
    settleMs: Number(values['settle-ms']),
    faults: true,
    verbose: values.verbose,
    scenario: values.scenario === 'pausedLeader' ? 'pausedLeader' : 'random',
    ...(values['max-counter'] !== undefined && { maxCounter: Number(values['max-counter']) }),
  });
  try {
    sim.run();
    if (values.trace) console.log(sim.trace.join('\n'));
  } catch (e) {
    if (!(e instanceof SimulationFailure)) throw e;
    failures++;
    console.log(sim.trace.slice(-150).join('\n'));
    console.log(`FAIL ${e.message}`);
    console.log(
      `replay: node dist/test/sim/run.js --seed ${seed} --voters ${values.voters} --observers ${values.observers} --scenario ${values.scenario} --trace`,
    );
  }
}
console.log(`${count} seeds, ${failures} failed, ${((Date.now() - started) / 1000).toFixed(1)} s`);
process.exit(failures > 0 ? 1 : 0);
