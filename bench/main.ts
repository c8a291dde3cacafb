/**
 * `npm run bench -- <benchmark> [flags]`: the benchmarks, one subcommand each, in sibling files
 * (bench/watch.ts; later views.ts, ops.ts, scale.ts) that export a `register…(program)` function added
 * to BENCHMARKS below. Each prints a table of absolute numbers and side-by-side ratios and writes
 * bench/results/<name>.json and .md. See docs/performance.md.
 */
import { Command } from 'commander';
import { runCommand } from '../src/cli/run-command.ts';
import { registerDigestBenchmark } from './digest.ts';
import { registerHaBenchmark } from './ha.ts';
import { registerOpsBenchmark } from './ops.ts';
import { registerScaleBenchmark } from './scale.ts';
import { registerViewsBenchmark } from './views.ts';
import { registerWatchBenchmark } from './watch.ts';

const BENCHMARKS: Array<(program: Command) => void> = [
  registerWatchBenchmark,
  registerViewsBenchmark,
  registerOpsBenchmark,
  registerScaleBenchmark,
  registerDigestBenchmark,
  registerHaBenchmark,
];

const program = new Command('scale-agent-bench')
  .usage('<benchmark> [options]')
  .description('Scale Agent benchmarks. Each runs the real processes on 127.0.0.1 and writes bench/results/<benchmark>.json and .md; see docs/performance.md.')
  .showHelpAfterError();

for (const register of BENCHMARKS) register(program);

await runCommand(program, process.argv);
