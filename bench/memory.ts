/**
 * Measurement 5, memory: peak RSS (VmHWM) of one long exhaustive exploration, sampled at growing
 * execution counts in a child process of its own. A stateless explorer re-runs the program from
 * scratch for every execution and keeps only its search stack, so the peak should stay flat as
 * executions grow: the figure with a target is the growth of the peak from the second sample to
 * the last (1.0 = flat); the first is the warm-up, where V8 compiles and sizes its heap.
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { figure, type Figure } from './stats.ts';

const GROUP = '5. memory';

export interface MemoryOptions {
  readonly design: string;
  readonly scenario: string;
  readonly strategy: 'dfs' | 'dpor';
  /** Execution counts to sample at (at least two); each a multiple of the first. */
  readonly counts: readonly number[];
  readonly runs: number;
}

interface Sample {
  readonly executions: number;
  readonly rssMb: number;
  readonly hwmMb: number | null;
  readonly heapMb: number;
}

export function measureMemory(o: MemoryOptions): Figure[] {
  const child = fileURLToPath(new URL('./memory-child.ts', import.meta.url));
  const runs: Sample[][] = [];
  for (let r = 0; r < o.runs; r++) {
    const out = execFileSync(process.execPath, ['--import', 'tsx', child, o.design, o.scenario, o.strategy, o.counts.join(',')], { encoding: 'utf8' });
    runs.push(JSON.parse(out) as Sample[]);
  }
  const peak = (s: Sample) => s.hwmMb ?? s.rssMb;
  const out: Figure[] = [];
  const job = `${o.strategy}, ${o.design} on ${o.scenario}`;
  for (let i = 0; i < o.counts.length; i++) {
    const at = runs.map((run) => run[i]).filter((s) => s !== undefined);
    out.push(figure(GROUP, `peak RSS after ${o.counts[i]} executions (${job})`, 'MiB', at.map(peak), { note: `heap ${at.map((s) => s.heapMb.toFixed(0)).join('/')} MiB` }));
  }
  // The first sample is the warm-up (JIT, the heap sizing itself): flat means no growth after it.
  const from = 1;
  const growth = runs.filter((run) => run.length === o.counts.length).map((run) => peak(run[run.length - 1]) / peak(run[from]));
  out.push(
    figure(GROUP, `peak RSS growth, ${o.counts[from]} to ${o.counts[o.counts.length - 1]} executions`, 'x', growth, {
      target: { op: '<=', value: 1.1 },
      note: `flat = 1.0; from the second sample, after ${o.counts[0]} executions of warm-up`,
    }),
  );
  return out;
}
