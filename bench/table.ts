/**
 * The benchmark's table: a Markdown table (readable in a terminal, pasted as is into
 * docs/performance.md), one row per figure, grouped by measurement.
 */
import type { BenchResults } from './run.ts';
import type { Figure } from './stats.ts';

/** Four significant digits below 1000, whole numbers with thousands separators above. */
export function formatValue(v: number | null): string {
  if (v === null) return 'n/a';
  if (!Number.isFinite(v)) return 'not found';
  if (Math.abs(v) >= 1000) return Math.round(v).toLocaleString('en-US');
  if (v === 0) return '0';
  return Number(v.toPrecision(3)).toString();
}

function targetCell(f: Figure): string {
  if (f.target === undefined) return '';
  const mark = f.met === undefined ? '' : f.met ? ' met' : ' **not met**';
  return `${f.target.op} ${f.target.value}${mark}`;
}

export function renderTable(r: BenchResults): string {
  const lines: string[] = [];
  lines.push(`\`${r.command}\` on ${r.machine.cpu}, ${r.machine.cores} cores (load ${r.machine.load} at the start, ${r.loadAfter} at the end), Node ${r.machine.node}; median of ${r.runs} run(s); ${(r.elapsedMs / 1000).toFixed(0)} s in all.`);
  lines.push('');
  lines.push('| measurement | figure | median | unit | target | note |');
  lines.push('|---|---|---:|---|---|---|');
  let group = '';
  for (const f of r.figures) {
    const g = f.group === group ? '' : f.group;
    group = f.group;
    lines.push(`| ${g} | ${f.name} | ${formatValue(f.median)} | ${f.unit} | ${targetCell(f)} | ${f.note ?? ''} |`);
  }
  for (const s of r.skipped) lines.push(`| ${s.group} | skipped | | | | ${s.reason} |`);
  return lines.join('\n') + '\n';
}
