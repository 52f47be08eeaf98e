import assert from 'node:assert/strict';
import { test } from 'node:test';
import { builtinDesign } from '../../src/designs/index.ts';
import { builtinScenario } from '../../src/scenario/scenario.ts';
import { measurePeer } from '../../bench/peer.ts';
import { resultsJson, runBench, type BenchResults } from '../../bench/run.ts';
import { figure, median } from '../../bench/stats.ts';
import { renderTable } from '../../bench/table.ts';

test('npm run bench -- --quick: step cost, exploration and the profile give positive figures, a table and JSON that parses back', async () => {
  const partial = await runBench({ quick: true, only: [1, 2, 7] });
  const results: BenchResults = { command: 'npm run bench -- --quick', ...partial };
  const groups = new Set(results.figures.map((f) => f.group));
  assert.deepEqual([...groups], ['1. raw step cost', '2. exploration', '7. profile: self time by layer']);
  // The speed issue's proof target: at quick sizes the search is cut, and the figure says so rather than giving a time.
  const proof = results.figures.find((f) => f.name === 'dpor proof time, upstream on vfree-small');
  assert.ok(proof !== undefined && proof.target?.value === 5, 'the dpor proof-time figure');
  assert.ok(proof.median !== null || /not complete/.test(proof.note ?? ''), `${proof.median} ${proof.note}`);
  for (const f of results.figures.filter((f) => f.unit === 'steps/s' || f.unit === 'exec/s')) {
    assert.ok(f.median !== null && f.median > 0, `${f.name}: ${f.median}`);
    assert.equal(f.samples.length, results.runs);
  }
  const shares = results.figures.filter((f) => f.unit === '% of CPU').map((f) => f.median as number);
    // A quick profile has few samples: a layer may get none, but the shares must add up to at most all.
  const total = shares.reduce((a, b) => a + b, 0);
  assert.ok(shares.length > 0 && shares.every((x) => x >= 0) && total > 0 && total <= 100.0001, `profile shares ${shares}`);
  const ratio = results.figures.find((f) => f.name === 'kptsim / ceiling');
  assert.ok(ratio?.target !== undefined && typeof ratio.met === 'boolean');
  const parsed = JSON.parse(resultsJson(results)) as BenchResults;
  assert.equal(parsed.version, 1);
  assert.ok(parsed.machine.cores >= 1 && parsed.machine.cpu.length > 0 && parsed.machine.node.startsWith('v'));
  const table = renderTable(results);
  assert.equal(table.split('\n').filter((l) => l.startsWith('| ') && !l.startsWith('| measurement')).length, results.figures.length);
});

test('a figure is the median of its samples, checked against its target; a search that found nothing is written as null', () => {
  assert.equal(median([3, 1, 2]), 2);
  assert.equal(median([4, 1, 2, 3]), 2.5);
  const f = figure('g', 'speed-up', 'x', [1.9, 1.7, 2.0], { target: { op: '>=', value: 1.8 } });
  assert.equal(f.median, 1.9);
  assert.equal(f.met, true);
  assert.equal(figure('g', 'growth', 'x', [1.3], { target: { op: '<=', value: 1.1 } }).met, false);
  const results: BenchResults = {
    version: 1,
    command: 'x',
    quick: true,
    date: '',
    machine: { cpu: 'c', cores: 2, node: 'v20', platform: 'linux', load: 0 },
    loadAfter: 0,
    runs: 1,
    elapsedMs: 0,
    figures: [figure('g', 'time to bug', 'ms', [Infinity])],
    skipped: [],
  };
  assert.deepEqual((JSON.parse(resultsJson(results)) as BenchResults).figures[0].samples, [null]);
  assert.match(renderTable(results), /\| time to bug \| not found \|/);
});

test('the SPIN peer is skipped with its reason when spin or gcc cannot be found', () => {
  const path = process.env.PATH;
  process.env.PATH = '/nonexistent';
  try {
    const r = measurePeer({ designs: [builtinDesign('immediate')!], scenario: builtinScenario('vfree-huge-vmap')!, strategies: ['pct'], runs: 1, capMs: 10 });
    assert.deepEqual(r.figures, []);
    assert.match(r.skipped ?? '', /not found/);
  } finally {
    process.env.PATH = path;
  }
});
