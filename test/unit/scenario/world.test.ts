/** Building worlds: a world restored from the program's boot image is the world a fresh boot builds. */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import { PgtableShadow } from '../../../src/check/index.ts';
import { builtinDesign } from '../../../src/designs/index.ts';
import { RandomScheduler } from '../../../src/explore/index.ts';
import type { Kernel } from '../../../src/kernel/model/kernel.ts';
import { builtinScenario, scenarioFrom, type Scenario } from '../../../src/scenario/scenario.ts';
import { buildWorld, newWorldCache, type World } from '../../../src/scenario/world.ts';
import { FRAME_OBJECT_LIMIT } from '../../../src/sim/index.ts';

/** Everything the memory phase, the boot page tables and the shadow's boot scan decide, as plain data. */
function bootState(k: Kernel): unknown {
  const p = k.pages;
  const shadow = k.observers.find((o): o is PgtableShadow => o instanceof PgtableShadow);
  assert.ok(shadow !== undefined);
  const bytes = k.mem.readBytes(0, k.mem.size);
  return {
    pgd: k.init_mm.pgd,
    mem: createHash('sha256').update(bytes).digest('hex'),
    pages: [p.flagsLo, p.flagsHi, p.refcount, p.mapcount, p.private, p.compoundHead, p.compoundOrder, p.ptlock, p.shadow].map((a) => Array.from(a)),
    lastCpupid: Array.from(p.lastCpupidFallback() ?? []),
    corruptedPacked: p.corruptedPackedFields(),
    lists: [k.lists.size, Array.from(k.lists.next.subarray(0, k.lists.size)), Array.from(k.lists.prev.subarray(0, k.lists.size))],
    zones: k.zones.map((z) => [z.name, z.lock, z.managed_pages, z.free_area.map((a) => [a.free_list, a.nr_free])]),
    vmstat: [Array.from(k.vmstat.zone.NR_FREE_PAGES), Array.from(k.vmstat.node.NR_PAGETABLE)],
    objects: Array.from({ length: 200 }, (_, i) => k.exec.objects.describe(FRAME_OBJECT_LIMIT + i)),
    shadow: [shadow.tableLevel, shadow.linkStep, shadow.linkEntry].map((a) => Array.from(a)),
  };
}

function build(s: Scenario, seed: number, cache?: ReturnType<typeof newWorldCache>): World {
  const design = builtinDesign('upstream');
  assert.ok(design !== undefined);
  const scheduler = new RandomScheduler(seed, 1);
  scheduler.beginExecution(0);
  return buildWorld(s, design, scheduler, { stopOnViolation: true }, cache);
}

const scenarios: Scenario[] = [
  builtinScenario('vfree-huge-vmap')!,
  builtinScenario('hot-remove')!,
  builtinScenario('hotplug-cycles')!,
  scenarioFrom({ name: 'five-level', workload: 'vfree-huge-vmap', config: { pagingLevels: 5, frames: 1100, pageFlags: { LAST_CPUPID_WIDTH: 0 } } }, 'test'),
];

for (const s of scenarios) {
  test(`a world built from the boot image, after an execution dirtied the last one, boots as a fresh world does (${s.name})`, () => {
    const cache = newWorldCache();
    const first = build(s, 1, cache);
    const firstState = bootState(first.k);
    first.exec.run();
    const restored = build(s, 2, cache);
    assert.ok(cache.boot.image !== null && cache.oracles.bootTables !== null, 'the first build took the images');
    assert.equal(restored.k.mem, first.k.mem, 'physical memory is reused');
    assert.equal(restored.k.pages, first.k.pages, 'mem_map is reused');
    const fresh = build(s, 3);
    assert.deepEqual(bootState(restored.k), bootState(fresh.k));
    assert.deepEqual(firstState, bootState(fresh.k));
  });
}

test('an execution on a restored world reports what it reports on a fresh one (hot-remove, upstream: the vmemmap leak)', () => {
  const s = builtinScenario('hot-remove')!;
  const cache = newWorldCache();
  build(s, 0, cache).exec.run();
  const restored = build(s, 0, cache).exec.run();
  const fresh = build(s, 0).exec.run();
  assert.ok(fresh.violations.length > 0);
  assert.deepEqual(restored, fresh);
});
