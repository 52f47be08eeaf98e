/** `kptsim run --design D --scenario S [--seed N] [--json]`: one seeded random execution, printed. */
import type { Command } from 'commander';
import { run, type RunResult } from '../measure/run.ts';

import type { CliContext } from './context.ts';
import { loadDesign, loadScenario } from './load.ts';
import { nonNegativeInt } from './parse.ts';
import { collapseRuns } from './trace-text.ts';

interface RunFlags {
  design: string;
  scenario: string;
  seed: number;
  json?: boolean;
}

export function runCommand(program: Command, ctx: CliContext): void {
  program
    .command('run')
    .description('run a design on a scenario once under a seeded random schedule and print what happened')
    .requiredOption('--design <name|path>', 'a built-in design (kptsim designs) or a path to a design module')
    .requiredOption('--scenario <name|path>', 'a built-in scenario (kptsim scenarios) or a path to a .yaml/.json scenario file')
    .option('--seed <n>', 'the schedule seed', nonNegativeInt('--seed'), 1)
    .option('--json', 'print the result as JSON')
    .action(async (flags: RunFlags) => {
      const design = await loadDesign(flags.design);
      const scenario = loadScenario(flags.scenario);
      const result = run(design, scenario, { seed: flags.seed });
      ctx.out(flags.json ? JSON.stringify(result, jsonBigint, 2) + '\n' : renderRun(result));
      ctx.exitCode = result.violations.length > 0 ? 1 : 0;
    });
}

/** Virtual addresses are bigints; JSON carries them as hex strings. */
export function jsonBigint(_key: string, value: unknown): unknown {
  return typeof value === 'bigint' ? `0x${value.toString(16)}` : value;
}

/** Reports of one kind printed in full; a run can report the same bug hundreds of times. */
const SHOWN_PER_KIND = 3;

function renderRun(r: RunResult): string {
  const lines = [`kptsim run: design ${r.design}, scenario ${r.scenario}, seed ${r.seed}`, ''];
  lines.push(...collapseRuns(r.trace).map((l) => l));
  lines.push('');
  if (r.violations.length === 0) lines.push('no violation');
  const shown = new Map<string, number>();
  for (const v of r.violations) {
    const n = (shown.get(v.kind) ?? 0) + 1;
    shown.set(v.kind, n);
    if (n <= SHOWN_PER_KIND) lines.push(`${v.kind}: ${v.title}`, ...v.details.map((d) => `    ${d}`), `    (thread ${v.thread}, step ${v.step})`);
  }
  for (const [kind, n] of shown) if (n > SHOWN_PER_KIND) lines.push(`... ${n - SHOWN_PER_KIND} more ${kind} reports (--json has them all)`);
  const s = r.stats;
  const inv = Object.entries(s.iommuInvalidations).map(([kind, n]) => `${kind} ${n}`).join(', ');
  lines.push('', `${r.steps} steps, ${r.status}; ${s.threads} threads, ${s.choices} scheduling choices`);
  lines.push(`IOMMU: ${s.iommuWalks} walks, ${s.iommuFaults} faults; invalidations: ${inv}; work executions: ${s.workExecutions}`);
  lines.push(`memory: ${s.freePages} free pages, ${s.pageTablePages} page-table pages at the end`);
  return lines.join('\n') + '\n';
}

