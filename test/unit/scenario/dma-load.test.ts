import { test } from 'node:test';
import assert from 'node:assert/strict';
import { z } from 'zod';
import { DEFAULT_CONFIG } from '../../../src/kernel/config.ts';
import { DEFAULT_COSTS } from '../../../src/measure/cost-model.ts';
import { TimedScheduler } from '../../../src/measure/timed-scheduler.ts';
import { RandomScheduler } from '../../../src/explore/index.ts';
import { SteadyDma } from '../../../src/scenario/dma-load.ts';
import type { Scenario } from '../../../src/scenario/scenario.ts';
import { buildWorld, type World } from '../../../src/scenario/world.ts';
import type { Scheduler } from '../../../src/sim/index.ts';
import { design } from './helpers.ts';

/** Two kernel threads ticking `ticks` times each, with nothing else to do. */
function ticking(ticks: number, dmasPerTick: number, out: { load?: SteadyDma; boundAtStart?: boolean[] }): Scenario {
  return {
    name: 'ticking',
    summary: '',
    params: {},
    config: DEFAULT_CONFIG,
    workload: {
      name: 'ticking',
      summary: '',
      params: z.object({}),
      spawn(k) {
        const load = SteadyDma.spawn(k, { bufferPages: 4, dmasPerTick });
        out.load = load;
        for (let cpu = 0; cpu < 2; cpu++) {
          load.spawnWorker(`cpu${cpu}:tick`, cpu, function* () {
            out.boundAtStart?.push(k.devices[0].pasid !== null);
            for (let i = 0; i < ticks; i++) yield* load.tick();
          });
        }
      },
    },
  };
}

function run(s: Scenario, scheduler: Scheduler): World {
  scheduler.beginExecution(0);
  const world = buildWorld(s, design('upstream'), scheduler);
  if (scheduler instanceof TimedScheduler) scheduler.attach(world.exec, world.k.iommu);
  return world;
}

test('the SVA device DMAs only on credit and its thread returns once the workload threads are done, under any schedule', () => {
  for (let seed = 1; seed <= 20; seed++) {
    const out: { load?: SteadyDma } = {};
    const { exec } = run(ticking(3, 2, out), new RandomScheduler(seed, 1));
    const r = exec.run();
    assert.equal(r.status, 'quiescent', `seed ${seed}`);
    assert.deepEqual(r.violations, []);
    const dev = exec.threads.find((t) => t.name === 'dev0:dma');
    assert.ok(dev?.done, `seed ${seed}: the DMA thread must end, not wait forever`);
    assert.ok(out.load !== undefined && out.load.stats.dmas <= 2 * 3 * 2, `seed ${seed}: ${out.load?.stats.dmas} DMAs for 12 credits`);
    assert.equal(out.load.stats.faults, 0, 'the buffer stays mapped: every DMA translates');
  }
});

test('under the timed scheduler the device reads and writes its buffer through the IOTLB (hits after the first pass)', () => {
  const out: { load?: SteadyDma } = {};
  const { exec, k } = run(ticking(20, 4, out), new TimedScheduler(DEFAULT_COSTS));
  const before = { ...k.iommu.stats };
  const r = exec.run();
  assert.equal(r.status, 'quiescent');
  const dmas = out.load?.stats.dmas ?? 0;
  assert.ok(dmas > 8, `only ${dmas} DMAs`);
  // Four buffer pages: a read misses once, and a write again for the dirty bit; every later DMA hits.
  assert.ok(k.iommu.stats.iotlbHits - before.iotlbHits >= dmas - 8, `hits ${k.iommu.stats.iotlbHits}, misses ${k.iommu.stats.iotlbMisses}`);
  assert.equal(k.iommu.stats.faults, 0);
});

test('workload threads start only once the process has bound the device (iommu_sva_bind_device)', () => {
  for (let seed = 1; seed <= 10; seed++) {
    const out: { load?: SteadyDma; boundAtStart?: boolean[] } = { boundAtStart: [] };
    const { exec } = run(ticking(1, 1, out), new RandomScheduler(seed, 1));
    assert.equal(exec.run().status, 'quiescent');
    assert.deepEqual(out.boundAtStart, [true, true], `seed ${seed}`);
  }
});
