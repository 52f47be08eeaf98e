import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PAGE_SIZE } from '../../../src/hw/address.ts';
import { DEFAULT_CONFIG } from '../../../src/kernel/model/config.ts';
import { iommu_sva_bind_device } from '../../../src/kernel/drivers/iommu/iommu-sva.ts';
import { pgd_alloc } from '../../../src/kernel/kernel/fork.ts';
import { vmalloc } from '../../../src/kernel/mm/vmalloc.ts';
import type { ChoicePoint, Scheduler } from '../../../src/sim/index.ts';
import { bootTestKernel, runKernel } from '../../helpers/kernel.ts';

/** First runnable thread; every data choice takes `data`. */
function fixedData(data: number): Scheduler {
  return { beginExecution: (i) => i === 0, choose: (p: ChoicePoint) => (p.kind === 'data' ? data : 0) };
}

function probeOnce(data: number, speculate: boolean) {
  const k = bootTestKernel({ scheduler: fixedData(data), config: { iommu: { ...DEFAULT_CONFIG.iommu, speculate } } });
  const result = runKernel(k, [
    function* () {
      const mm = (yield* pgd_alloc(k, 'task'))!;
      yield* iommu_sva_bind_device(k, k.devices[0], mm);
      const va = (yield* vmalloc(k, 2 * PAGE_SIZE))!;
      yield* k.devices[0].dma({ va, write: false });
    },
  ]);
  return { k, result };
}

test('with speculation on, each translation may be followed by a walk of the next page: a recorded data choice (VT-d may cache speculatively)', () => {
  const taken = probeOnce(1, true);
  assert.equal(taken.k.iommu.stats.speculativeWalks, 1);
  assert.ok(taken.result.choices.some((c) => c.kind === 'data' && c.reason === 'iommu speculative walk' && c.chosen === 1));
  const declined = probeOnce(0, true);
  assert.equal(declined.k.iommu.stats.speculativeWalks, 0);
  assert.ok(declined.k.iommu.stats.walks < taken.k.iommu.stats.walks);
  const off = probeOnce(1, false);
  assert.ok(!off.result.choices.some((c) => c.reason === 'iommu speculative walk'), 'no choice offered when speculation is off');
});
