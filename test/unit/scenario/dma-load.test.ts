import { test } from 'node:test';
import assert from 'node:assert/strict';
import { z } from 'zod';
import { PAGE_SIZE, PMD_SIZE } from '../../../src/hw/address.ts';
import { __va } from '../../../src/kernel/arch/x86/include/asm/pgtable_64_types.ts';
import { DEFAULT_CONFIG } from '../../../src/kernel/model/config.ts';
import { DEFAULT_COSTS } from '../../../src/measure/cost-model.ts';
import { TimedScheduler } from '../../../src/measure/timed-scheduler.ts';
import { RandomScheduler } from '../../../src/explore/index.ts';
import { SteadyDma } from '../../../src/scenario/dma-load.ts';
import type { Scenario } from '../../../src/scenario/scenario.ts';
import { buildWorld, type World } from '../../../src/scenario/world.ts';
import type { Scheduler } from '../../../src/sim/index.ts';
import { design } from './helpers.ts';

/** Two kernel threads ticking `ticks` times each, with nothing else to do (with `probes`: each publishing a direct-map address first and last). */
function ticking(ticks: number, dmasPerTick: number, out: { load?: SteadyDma; boundAtStart?: boolean[] }, probes?: number): Scenario {
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
        const load = SteadyDma.spawn(k, { bufferPages: 4, dmasPerTick, ...(probes === undefined ? {} : { probe: { probes } }) });
        out.load = load;
        for (let cpu = 0; cpu < 2; cpu++) {
          load.spawnWorker(`cpu${cpu}:tick`, cpu, function* () {
            out.boundAtStart?.push(k.devices[0].pasid !== null);
            yield* load.publish(__va(k.layout, (cpu + 1) * PMD_SIZE));
            for (let i = 0; i < ticks; i++) yield* load.tick();
            yield* load.publish(__va(k.layout, (cpu + 1) * PMD_SIZE + PAGE_SIZE));
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

test('the probing device probes every publication, the last ones after the workload returns, and spends at most its spare probes, paid from DMA credit', () => {
  for (let seed = 1; seed <= 20; seed++) {
    const out: { load?: SteadyDma } = {};
    const { exec, k } = run(ticking(3, 2, out, 5), new RandomScheduler(seed, 1));
    const r = exec.run();
    assert.equal(r.status, 'quiescent', `seed ${seed}`);
    assert.ok(exec.threads.find((t) => t.name === 'dev0:dma')?.done, `seed ${seed}: the DMA thread must end`);
    const load = out.load;
    assert.ok(load !== undefined && load.probe !== null);
    const spares = load.probe.probed - 4;
    assert.ok(spares >= 0 && spares <= 5, `seed ${seed}: ${load.probe.probed} probes for 4 publications and 5 spares`);
    assert.ok(load.stats.dmas + spares <= 2 * 3 * 2, `seed ${seed}: ${load.stats.dmas} DMAs and ${spares} spare probes for 12 credits`);
    // Kernel addresses are supervisor-only: every probe faults, every buffer DMA translates.
    assert.equal(k.devices[0].stats.faults, load.probe.probed, `seed ${seed}`);
    assert.equal(load.stats.faults, 0);
  }
});

test('without the probe option nothing is published or probed: the run is the buffer DMA alone, step for step', () => {
  const quiet = run(ticking(3, 2, {}), new RandomScheduler(7, 1)).exec.run();
  const probing = run(ticking(3, 2, {}, 0), new RandomScheduler(7, 1)).exec.run();
  assert.equal(quiet.status, 'quiescent');
  assert.ok(probing.steps > quiet.steps, `${probing.steps} steps probing, ${quiet.steps} without`);
  const out: { load?: SteadyDma } = {};
  const { exec, k } = run(ticking(3, 2, out), new RandomScheduler(7, 1));
  assert.equal(exec.run().steps, quiet.steps);
  assert.equal(out.load?.probe, null);
  assert.equal(k.devices[0].stats.faults, 0);
});
