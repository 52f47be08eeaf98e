/**
 * Writes the README's table of what `kptsim check` finds for every built-in design on every
 * built-in scenario, from real runs (never typed by hand): `npm run findings`.
 * Each cell is the pair's verdict (docs/verdicts.md): the kinds found with the execution that first
 * showed each (and whether the hazard's witness search found a device walking the freed table), or
 * "not found in N".
 */
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { BUILTIN_DESIGNS } from '../src/designs/index.ts';
import type { StrategyName } from '../src/explore/index.ts';
import { check } from '../src/job/check.ts';
import { replayLabel } from '../src/job/label.ts';
import { BUILTIN_SCENARIOS, builtinScenario } from '../src/scenario/scenario.ts';

const STRATEGY: StrategyName = 'pct';
const BUDGET = Number(process.env.FINDINGS_BUDGET ?? 60);
const WITNESS_RUNS = 50;
const START = '<!-- findings:start -->';
const END = '<!-- findings:end -->';

/** One table per IOMMU: the built-in scenarios as they are (Intel VT-d), then behind an AMD IOMMU (`NAME@amd`). */
const rows: string[] = [];
for (const iommu of ['', '@amd']) {
  const scenarios = BUILTIN_SCENARIOS.map((s) => `${s.name}${iommu}`);
  if (rows.length > 0) rows.push('');
  rows.push(`| design | ${scenarios.join(' | ')} |`);
  rows.push(`|---|${scenarios.map(() => '---').join('|')}|`);
  for (const design of BUILTIN_DESIGNS) {
    const cells: string[] = [];
    for (const name of scenarios) {
      const scenario = builtinScenario(name)!;
      const r = check(design, scenario, { strategy: STRATEGY, seed: 0, budget: BUDGET, shrinkRuns: 0, witnessRuns: WITNESS_RUNS }, replayLabel(design.name, scenario.name));
      const kinds = [...new Set(r.violations.map((v) => v.kind))];
      const of = (kind: string) => r.violations.filter((v) => v.kind === kind);
      const firstAt = (kind: string) => Math.min(...of(kind).map((v) => v.execution)) + 1;
      const witnessed = (kind: string) => (kind === 'iommu-uncovered-free' ? (of(kind).some((v) => v.witness?.replay) ? ', witnessed' : ', no witness') : '');
      const found = kinds.map((kind) => `**${kind}** (execution ${firstAt(kind)}${witnessed(kind)})`).join(', ');
      cells.push(r.verdict.kind === 'bug' ? found : r.verdict.summary);
      process.stderr.write(`${design.name} × ${scenario.name}: ${r.verdict.summary} (${r.executions} executions)\n`);
    }
    rows.push(`| \`${design.name}\` (${design.kernel?.name ?? 'model default'}) | ${cells.join(' | ')} |`);
  }
}
const table = [
  START,
  `Produced by \`npm run findings\`: \`kptsim check --strategy ${STRATEGY} --budget ${BUDGET} --seed 0\` on each pair — each built-in design (with the kernel release it describes) on each built-in scenario behind an Intel VT-d IOMMU and behind an AMD one — with up to ${WITNESS_RUNS} steered executions per hazard for its witness. A cell is the pair's verdict (docs/verdicts.md): each kind found, the execution (of ${BUDGET}) that first showed it, and for \`iommu-uncovered-free\` whether a witness — a device walking the freed table — was found; or "not found in N": no violation in N executions, evidence and not proof (for proof on a small configuration, \`--strategy dpor\`).`,
  '',
  ...rows,
  END,
].join('\n');
const readme = readFileSync('README.md', 'utf8');
const at = readme.indexOf(START);
const next = at < 0 ? `${readme.trimEnd()}\n\n## What check finds\n\n${table}\n` : readme.slice(0, at) + table + readme.slice(readme.indexOf(END) + END.length);
writeFileSync('README.md.tmp', next);
renameSync('README.md.tmp', 'README.md');
