/**
 * The child process of the memory measurement (its RSS is its own): one long exhaustive
 * exploration, sampling the resident set at each of the given execution counts. Prints one JSON
 * line: [{ executions, rssMb, hwmMb, heapMb }].
 */
import { readFileSync } from 'node:fs';
import { builtinDesign } from '../src/designs/index.ts';
import { STRATEGIES, explore, isStrategyName } from '../src/explore/index.ts';
import { programOf } from '../src/job/program.ts';
import { builtinScenario } from '../src/scenario/scenario.ts';

const [designName, scenarioName, strategyName, countsArg] = process.argv.slice(2);
const design = builtinDesign(designName);
const scenario = builtinScenario(scenarioName);
if (design === undefined || scenario === undefined || !isStrategyName(strategyName)) throw new Error(`memory-child: bad arguments ${process.argv.slice(2).join(' ')}`);
const counts = countsArg.split(',').map(Number);
const every = counts[0];
if (counts.some((c) => c % every !== 0)) throw new Error('memory-child: every count must be a multiple of the first');

/** VmHWM from /proc/self/status (Linux), in MiB; null elsewhere. */
function hwmMb(): number | null {
  try {
    const m = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync('/proc/self/status', 'utf8'));
    return m === null ? null : Number(m[1]) / 1024;
  } catch {
    return null;
  }
}

const samples: { executions: number; rssMb: number; hwmMb: number | null; heapMb: number }[] = [];
explore(programOf(design, scenario), STRATEGIES[strategyName]({ seed: 0 }), {
  budget: counts[counts.length - 1],
  progressEvery: every,
  onProgress: (p) => {
    if (!counts.includes(p.executions) || samples.some((s) => s.executions === p.executions)) return;
    const m = process.memoryUsage();
    samples.push({ executions: p.executions, rssMb: m.rss / 2 ** 20, hwmMb: hwmMb(), heapMb: m.heapUsed / 2 ** 20 });
  },
});
process.stdout.write(JSON.stringify(samples) + '\n');
