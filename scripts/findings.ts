/**
 * Writes the README's table of what `kptsim check` finds for every built-in design on every
 * built-in scenario, from real runs (never typed by hand): `npm run findings`.
 * Each cell is the violation kinds found, with the strategy and the executions it took.
 */
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { BUILTIN_DESIGNS } from '../src/designs/index.ts';
import type { StrategyName } from '../src/explore/index.ts';
import { check, replayLabel } from '../src/measure/check.ts';
import { BUILTIN_SCENARIOS, builtinScenario } from '../src/scenario/scenario.ts';

const STRATEGY: StrategyName = 'pct';
const BUDGET = Number(process.env.FINDINGS_BUDGET ?? 60);
const START = '<!-- findings:start -->';
const END = '<!-- findings:end -->';

const rows: string[] = [];
rows.push(`| design | ${BUILTIN_SCENARIOS.map((s) => s.name).join(' | ')} |`);
rows.push(`|---|${BUILTIN_SCENARIOS.map(() => '---').join('|')}|`);
for (const design of BUILTIN_DESIGNS) {
  const cells: string[] = [];
  for (const file of BUILTIN_SCENARIOS) {
    const scenario = builtinScenario(file.name)!;
    const r = check(design, scenario, { strategy: STRATEGY, seed: 0, budget: BUDGET, shrinkRuns: 0 }, replayLabel(design.name, scenario.name));
    const kinds = [...new Set(r.violations.map((v) => v.kind))];
    const first = r.violations.length ? Math.min(...r.violations.map((v) => v.originalSteps)) : 0;
    cells.push(kinds.length ? `**${kinds.join(', ')}**` : `none in ${r.executions}`);
    process.stderr.write(`${design.name} × ${scenario.name}: ${kinds.join(', ') || 'none'} (${r.executions} executions${first ? `, first at ${first} steps` : ''})\n`);
  }
  rows.push(`| \`${design.name}\` | ${cells.join(' | ')} |`);
}
const table = [
  START,
  `Produced by \`npm run findings\` (\`kptsim check --strategy ${STRATEGY} --budget ${BUDGET} --seed 0\` on each pair; "none in N" means no violation in N executions, which is evidence, not proof).`,
  '',
  ...rows,
  END,
].join('\n');
const readme = readFileSync('README.md', 'utf8');
const at = readme.indexOf(START);
const next = at < 0 ? `${readme.trimEnd()}\n\n## What check finds\n\n${table}\n` : readme.slice(0, at) + table + readme.slice(readme.indexOf(END) + END.length);
writeFileSync('README.md.tmp', next);
renameSync('README.md.tmp', 'README.md');
