/** `zkts bench`: the command-line front of the load generator (run.ts). */
import { writeFileSync } from 'node:fs';
import { InvalidArgumentError, Option, type Command } from 'commander';
import { renderChart } from './chart.js';
import { formatReport } from './report.js';
import { DEFAULT_OPTIONS, runBench, type BenchOptions } from './run.js';
import { WORKLOADS } from './workloads.js';

/** The options as commander parses them: BenchOptions' own, and a few named for the command line. */
interface CommandOptions
  extends Pick<BenchOptions, 'connect' | 'workload' | 'workers' | 'sessions' | 'outstanding' | 'size' | 'ops' | 'znodes' | 'reads' | 'multiSize' | 'root' | 'cleanup'> {
  duration: number;
  warmup: number;
  sessionTimeout: number;
  json?: boolean;
  chart?: string;
  quiet?: boolean;
}

function number(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n)) throw new InvalidArgumentError('not a number');
  return n;
}

export function registerBenchCommand(program: Command): void {
  const d = DEFAULT_OPTIONS;
  program
    .command('bench')
    .description('load-test a ZooKeeper-compatible server: throughput and latency percentiles')
    .option('--connect <servers>', 'host:port[,host:port...] of the server(s)', '127.0.0.1:2181')
    .addOption(new Option('--workload <name>', 'what to send').choices(WORKLOADS).default('getData'))
    .option('--workers <n>', 'worker processes generating the load', number, d.workers)
    .option('--sessions <n>', 'sessions in all, spread over the workers (churn: concurrent connect+close loops)', number, d.sessions)
    .option('--outstanding <n>', 'requests in flight per session', number, d.outstanding)
    .option('--size <bytes>', 'data per create/setData and per read-set znode', number, d.size)
    .option('--duration <seconds>', 'measure for this long', number, d.durationS)
    .option('--ops <n>', 'measure until this many operations completed (instead of --duration; no warm-up)', number)
    .option('--warmup <seconds>', 'run the load this long before measuring', number, d.warmupS)
    .option('--znodes <n>', 'znodes in the read set (getData, setData, mixed, multi)', number, d.znodes)
    .option('--reads <fraction>', 'share of getData in the mixed workload', number, d.reads)
    .option('--multi-size <n>', 'setData operations per multi', number, d.multiSize)
    .option('--root <path>', 'the run creates its znodes under <root>/<run id>', d.root)
    .option('--no-cleanup', "leave the run's znodes in place")
    .option('--session-timeout <ms>', 'requested session timeout', number, d.sessionTimeoutMs)
    .option('--json', 'print the result as JSON')
    .option('--chart <file.svg>', 'write an SVG chart of latency and throughput over time')
    .option('--quiet', 'no progress lines on stderr')
    .addHelpText(
      'after',
      `
Workloads:
  create   creates of fresh paths          setData  setData on the read set
  getData  getData on the read set         mixed    getData/setData mix (--reads)
  watch    exists+watch, then setData; latency is setData sent -> notification
  churn    connect, session, close         multi    --multi-size setData per multi

The load generator's own CPU use is reported per worker; above 90% of a core
the results describe the client, not the server, and a warning says so.`,
    )
    .action(async (o: CommandOptions) => {
      const { duration, warmup, sessionTimeout, json, chart, quiet, ...shared } = o;
      const options: BenchOptions = {
        ...shared,
        durationS: shared.ops === undefined ? duration : undefined,
        warmupS: warmup,
        sessionTimeoutMs: sessionTimeout,
      };
      try {
        const result = await runBench(options, { progress: quiet ? undefined : (line) => process.stderr.write(line + '\n') });
        if (chart !== undefined) writeFileSync(chart, renderChart(result));
        process.stdout.write((json ? JSON.stringify(result, null, 2) : formatReport(result)) + '\n');
      } catch (e) {
        process.stderr.write(`zkts bench: ${(e as Error).message}\n`);
        process.exitCode = 1;
      }
    });
}
