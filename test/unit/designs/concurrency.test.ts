/**
 * Designs written to have the races the finer concurrency model exists for (issue 13), and what the
 * checker finds in them:
 *  - a work function that splices its list without the lock: KCSAN's data-race, with random, pct
 *    and dpor (test/fixtures/designs/unlocked-splice.ts); and with config.tornLists, where the
 *    stores of the splice and of a producer's add interleave one by one, the list-corruption
 *    DEBUG_LIST reports and the entry the torn splice loses (kmemleak);
 *  - an enqueue helper that queues the work before it adds the entry: the entry is stranded when the
 *    kworker runs in between, which on the enqueuing CPU only PREEMPT (full) allows — found by dpor
 *    with one kworker under full, proved absent under none (test/fixtures/designs/queue-before-add.ts).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import type { Design } from '../../../src/designs/design.ts';
import { builtinDesign } from '../../../src/designs/index.ts';
import { designFromModule } from '../../../src/job/inputs.ts';
import { check } from '../../../src/job/check.ts';
import { replayLabel } from '../../../src/job/label.ts';
import { scenarioFromText, type Scenario } from '../../../src/scenario/scenario.ts';
import type { StrategyName } from '../../../src/explore/index.ts';
import { renderCheck } from '../../../src/report/check-text.ts';

async function fixture(name: string): Promise<Design> {
  const url = new URL(`../../fixtures/designs/${name}.ts`, import.meta.url);
  return designFromModule(url.pathname, await import(url.href));
}

function scenario(path: string, edit: (text: string) => string = (t) => t): Scenario {
  const url = new URL(`../../../${path}`, import.meta.url);
  return scenarioFromText(edit(readFileSync(url, 'utf8')), path);
}

function run(design: Design, s: Scenario, strategy: StrategyName, budget?: number) {
  return check(design, s, { strategy, seed: 0, ...(budget === undefined ? {} : { budget }), shrinkRuns: 50, witnessRuns: 0 }, replayLabel(design.name, s.name));
}

test('a work function that splices the deferred list without its lock: data-race on the list head, found by random, pct and dpor within 1000 executions', async () => {
  const design = await fixture('unlocked-splice');
  const s = scenario('test/fixtures/scenarios/pud-small.yaml');
  for (const strategy of ['random', 'pct', 'dpor'] as const) {
    const r = run(design, s, strategy, 1000);
    const races = r.violations.filter((v) => v.kind === 'data-race');
    assert.equal(races.length, 1, `${strategy}: ${r.violations.map((v) => v.kind).join(', ')}`);
    const [v] = races;
    assert.equal(v.message, 'BUG: KCSAN: data-race in kernel_pgtable_work / pagetable_free', strategy);
    assert.ok(v.details.some((d) => /kernel_pgtable_work\.lock is held by task \d+ and not by task \d+/.test(d)), v.details.join('\n'));
  }
});

test('with config.tornLists the unlocked splice tears the list: list-corruption and a lost entry, found by random, pct and dpor; v6.19 (locked) stays clean', async () => {
  const design = await fixture('unlocked-splice');
  const torn = scenario('test/fixtures/scenarios/pud-small-torn.yaml');
  // Budgets: each strategy's first list-corruption was at execution 0 (random), 97 (pct), 236 (dpor).
  for (const [strategy, budget] of [['random', 50], ['pct', 200], ['dpor', 300]] as const) {
    const r = run(design, torn, strategy, budget);
    const kinds = new Set(r.violations.map((v) => v.kind));
    assert.ok(kinds.has('data-race') && kinds.has('list-corruption'), `${strategy}: ${[...kinds].join(', ')}`);
    const corruption = r.violations.find((v) => v.kind === 'list-corruption');
    assert.match(corruption?.message ?? '', /^list_add corruption\. next->prev should be prev \(kernel_pgtable_work\.list\)/, strategy);
  }
  // Without tearing, the same design shows the race and nothing the race would do to the list.
  const whole = run(design, scenario('test/fixtures/scenarios/pud-small.yaml'), 'random', 50);
  assert.deepEqual([...new Set(whole.violations.map((v) => v.kind))], ['data-race']);
  // Tearing is no source of findings of its own: v6.19 takes the lock on both sides.
  const v619 = builtinDesign('upstream');
  assert.ok(v619 !== undefined);
  const upstream = run(v619, torn, 'pct', 30);
  assert.deepEqual(upstream.violations, []);
  assert.equal(upstream.space.tornLists, true);
});

test('queue_work() before the add: dpor finds the stranded entry (kmemleak) with one kworker on the enqueuing CPU under PREEMPT, and proves it absent under PREEMPT_NONE', async () => {
  const design = await fixture('queue-before-add');
  const full = run(design, scenario('examples/scenarios/vfree-small.yaml'), 'dpor');
  assert.equal(full.complete, true);
  assert.deepEqual([...new Set(full.violations.map((v) => v.kind))], ['leak']);
  const none = run(design, scenario('examples/scenarios/vfree-small.yaml', (t) => t.replace('kworkers: 1', 'kworkers: 1\n  preempt: none')), 'dpor');
  assert.equal(none.complete, true);
  assert.deepEqual(none.violations, []);
  assert.match(none.verdict.detail, /without kernel preemption \(CONFIG_PREEMPT_NONE\)/);
  // The proof's first line says for which preemption model the space was whole.
  assert.match(renderCheck(none).split('\n')[0], /complete: the whole space was covered \(config\.preempt: none\)$/);
  assert.match(renderCheck(full).split('\n')[0], /, complete: the whole space was covered$/);
});
