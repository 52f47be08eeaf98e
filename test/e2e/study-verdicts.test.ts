/**
 * The study's verdicts, as `npm start` gives them (the default options), against the README's
 * findings table (`npm run findings`): no cell is green where the table has a bug, and a cell's
 * verdict includes whatever its own timed run found.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { kptsim } from '../helpers/cli.ts';

interface Cell {
  readonly design: string;
  readonly scenario: string;
  readonly verdict: { readonly kind: string; readonly summary: string };
  readonly check: { readonly violations: readonly { readonly kind: string }[] };
  readonly metrics: { readonly violations: readonly { readonly kind: string }[] };
}

/** The README's findings table: for each design and scenario, the kinds it found (empty: none). */
function readmeFindings(): Map<string, string[]> {
  const readme = readFileSync('README.md', 'utf8');
  const table = readme.slice(readme.indexOf('<!-- findings:start -->'), readme.indexOf('<!-- findings:end -->'));
  // One table per IOMMU, each headed by its scenarios; a row names the design, then its release.
  const lines = table.split('\n').filter((l) => l.startsWith('| '));
  let scenarios: string[] = [];
  const found = new Map<string, string[]>();
  for (const line of lines) {
    const cells = line.split('|').slice(1, -1).map((c) => c.trim());
    if (cells[0] === 'design') {
      scenarios = cells.slice(1);
      continue;
    }
    const design = cells[0].replace(/^`([^`]+)`.*$/, '$1');
    cells.slice(1).forEach((cell, i) => found.set(`${design} ${scenarios[i]}`, [...cell.matchAll(/\*\*([a-z-]+)\*\*/g)].map((m) => m[1])));
  }
  return found;
}

test('npm start: every cell the README\'s findings table has as a bug is a bug in the study, and no cell is green while its timed run found a violation', () => {
  // The whole default study: every design on every path behind both IOMMUs (220 pairs, about 2.5
  // minutes on 2 cores).
  const r = kptsim(['--json', '--no-html', '--workers', '2'], { timeoutMs: 600_000 });
  assert.equal(r.code, 0, r.stderr);
  const study = JSON.parse(r.stdout) as { cells: Cell[][] };
  const cells = study.cells.flat();
  const table = readmeFindings();
  assert.equal(cells.length, table.size, 'the study covers the README table\'s pairs');
  for (const c of cells) {
    const where = `${c.design} on ${c.scenario}`;
    const known = table.get(`${c.design} ${c.scenario}`);
    assert.ok(known !== undefined, `${where} is in the README table`);
    if (known.length > 0) assert.equal(c.verdict.kind, 'bug', `${where}: the README has ${known.join(', ')}, the study says ${c.verdict.summary}`);
    for (const v of [...c.check.violations, ...c.metrics.violations]) {
      assert.equal(c.verdict.kind, 'bug', `${where}: ${v.kind} found, yet ${c.verdict.summary}`);
      assert.ok(c.verdict.summary.includes(v.kind), `${where}: the verdict ${c.verdict.summary} leaves out ${v.kind}`);
    }
    assert.notEqual(c.verdict.kind, 'proved', `${where}: PCT never proves`);
  }
});
