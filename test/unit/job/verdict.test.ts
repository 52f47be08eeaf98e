/**
 * What a "proved" verdict says it covered (src/job/verdict.ts, docs/verdicts.md): the interleavings,
 * the preemption model, the injected failures and how many per execution, the other data choices.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { CheckSpace } from '../../../src/job/check-result.ts';
import { checkVerdict } from '../../../src/job/verdict.ts';

const FAULTS = ['alloc_pages GFP_ATOMIC', 'kmalloc GFP_ATOMIC'];
const SPACE: CheckSpace = { threads: 4, steps: 900, dataChoices: [...FAULTS, 'iommu speculative walk'].sort(), faultChoices: FAULTS, preempt: 'full' };

const proved = (space: CheckSpace, strategy: 'dfs' | 'dpor' = 'dpor') => checkVerdict({ strategy, executions: 120, stepBound: 0, complete: true, violations: [], space });

test('a complete check with --faults N says it covered up to N injected failures per execution, which ones, and the other data choices', () => {
  const v = proved({ ...SPACE, faults: 2 });
  assert.equal(v.kind, 'proved');
  assert.equal(
    v.detail.slice(0, v.detail.indexOf(', at the model')),
    "dpor covered every interleaving up to reordering of independent steps of this configuration's 4 threads under full kernel preemption (CONFIG_PREEMPT), " +
      'with up to 2 injected failures per execution (alloc_pages GFP_ATOMIC, kmalloc GFP_ATOMIC; --faults 2) and every value of its other data choices (iommu speculative walk), in 120 executions',
  );
  assert.match(proved({ ...SPACE, faults: 1 }).detail, /, with up to 1 injected failure per execution \(alloc_pages GFP_ATOMIC, kmalloc GFP_ATOMIC; --faults 1\) /);
});

test('without a bound it says any number of injected failures; without fault injection, none; and it names the preemption model', () => {
  assert.match(proved(SPACE).detail, /, with any number of injected failures per execution \(alloc_pages GFP_ATOMIC, kmalloc GFP_ATOMIC\) and every value/);
  const none = proved({ threads: 4, steps: 900, dataChoices: [], faultChoices: [], preempt: 'voluntary' }, 'dfs');
  assert.match(none.detail, /^dfs covered every interleaving of this configuration's 4 threads under voluntary preemption \(CONFIG_PREEMPT_VOLUNTARY\), with no injected failure \(the scenario does not set failAtomicAllocations\) and no other data choice, in 120 executions, at the model's granularity/);
  assert.match(proved({ ...SPACE, preempt: 'none' }).detail, / threads without kernel preemption \(CONFIG_PREEMPT_NONE\), with /);
});

test('a proof under config.tornLists says the stores of list helpers were steps of their own; one without it does not, and names the counters it checked', () => {
  assert.match(proved({ ...SPACE, tornLists: true }).detail, /\(CONFIG_PREEMPT\), with each store of a list helper on a shared list a step of its own \(config\.tornLists\), with any number/);
  const plain = proved(SPACE).detail;
  assert.doesNotMatch(plain, /tornLists/);
  assert.match(plain, /kmalloc'ed records and the vmstat counters \(NR_FREE_PAGES per zone, NR_PAGETABLE per node\) are checked for data races/);
});

test('a result from before faults were told apart (no faultChoices, no preempt) keeps its old wording', () => {
  const old = proved({ threads: 4, steps: 900, dataChoices: ['alloc_pages GFP_ATOMIC'] });
  assert.match(old.detail, /^dpor covered every interleaving up to reordering of independent steps of this configuration's 4 threads and every data choice it offers \(alloc_pages GFP_ATOMIC\) in 120 executions, /);
});

test('a run that is not complete says the bound it ran under', () => {
  const v = checkVerdict({ strategy: 'pct', executions: 40, stepBound: 0, complete: false, violations: [], space: { ...SPACE, faults: 1, pctDepth: 3 } });
  assert.equal(v.kind, 'not-found');
  assert.match(v.detail, /with probability at most [\d.e-]+; evidence, not proof; at most 1 injected failure per execution \(--faults 1\)$/);
});
