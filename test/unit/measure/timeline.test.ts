import { test } from 'node:test';
import assert from 'node:assert/strict';
import { attachOracles } from '../../../src/check/index.ts';
import { builtinDesign } from '../../../src/designs/index.ts';
import type { InvDesc } from '../../../src/hw/index.ts';
import { alloc_pages, __free_pages } from '../../../src/kernel/mm/page_alloc.ts';
import { GFP_KERNEL } from '../../../src/kernel/include/linux/gfp.ts';
import { entry_table } from '../../../src/kernel/arch/x86/include/asm/pgtable.ts';
import { DEFAULT_COSTS } from '../../../src/measure/cost-model.ts';
import { timedRun, type TimedRunResult } from '../../../src/measure/timed-run.ts';
import { TimedScheduler } from '../../../src/measure/timed-scheduler.ts';
import { TimelineRecorder, type Timeline } from '../../../src/measure/timeline.ts';
import { StepStarts } from '../../../src/measure/time-keeper.ts';
import { builtinScenario } from '../../../src/scenario/scenario.ts';
import type { Sim } from '../../../src/sim/index.ts';
import { bootTestKernel, entryAt, runKernel } from '../../helpers/kernel.ts';

function timed(design: string, scenario: string): TimedRunResult & { timeline: Timeline } {
  const r = timedRun(builtinDesign(design)!, builtinScenario(scenario)!, { trace: true, timeline: true });
  assert.ok(r.timeline !== undefined);
  return r as TimedRunResult & { timeline: Timeline };
}

const seed = timed('seed', 'vfree-huge-vmap');

test('seed: the PTE table pmd_free_pte_page unlinks is covered by the work’s PASID-selective flush, then freed (one flow)', () => {
  const t = seed.timeline;
  assert.equal(t.flows.length, 1);
  const [flow] = t.flows;
  assert.equal(flow.status, 'covered');
  assert.equal(flow.level, 2, 'a PTE table, pointed to by a PMD entry');
  assert.equal(flow.va, '0xffffc90000000000');
  assert.equal(flow.vaEnd, '0xffffc90000200000', 'the 2 MiB the PMD entry mapped');
  const inv = t.invalidations[flow.invalidation!];
  const free = t.frees[flow.free];
  assert.equal(inv.kind, 'piotlb-pasid');
  assert.equal(free.pfn, flow.pfn);
  assert.ok(flow.windowNs < inv.timeNs && inv.timeNs < free.timeNs, 'unlink, then invalidation, then free');
  assert.equal(t.threads[inv.thread].name, t.threads[free.thread].name, 'the worker both flushes and frees');
  assert.match(t.threads[free.thread].name, /^kworker/);
});

test('upstream: the page-selective flush of (PAGE_OFFSET, ULONG_MAX) with ih=0 covers the table (mask 35 spans the kernel half)', () => {
  const t = timed('upstream', 'vfree-huge-vmap').timeline;
  assert.equal(t.flows.length, 1);
  const inv = t.invalidations[t.flows[0].invalidation!];
  assert.deepEqual([inv.kind, inv.address, inv.mask, inv.ih], ['piotlb-page', '0xffff800000000000', 35, 0]);
  assert.equal(t.flows[0].status, 'covered');
});

test('v3 frees the table at once and only its work invalidates: the covering invalidation comes late', () => {
  const t = timed('v3', 'vfree-huge-vmap').timeline;
  assert.deepEqual(t.flows.map((f) => f.status), ['late']);
  const f = t.flows[0];
  assert.ok(t.frees[f.free].timeNs < t.invalidations[f.invalidation!].timeNs);
});

test('immediate (v6.18) never invalidates: the freed table is uncovered', () => {
  const t = timed('immediate', 'vfree-huge-vmap').timeline;
  assert.equal(t.invalidations.length, 0);
  assert.deepEqual(t.flows.map((f) => [f.status, f.invalidation]), [['uncovered', null]]);
});

test('pud_free_pmd_page frees a PMD table (the 1 GiB its PUD entry mapped) and its PTE table, each with its own flow', () => {
  const t = timed('seed', 'pud-huge-vmap').timeline;
  const byLevel = t.flows.map((f) => [f.level, f.va, f.vaEnd, f.status]).sort();
  assert.deepEqual(byLevel, [
    [2, '0xffffc90000000000', '0xffffc90000200000', 'covered'],
    [3, '0xffffc90000000000', '0xffffc90040000000', 'covered'],
  ]);
});

test('slices merge consecutive steps of a thread with the same label, never overlap, and add up to the thread’s steps', () => {
  const t = seed.timeline;
  const byThread = new Map<number, Timeline['slices'][number][]>();
  for (const s of t.slices) byThread.set(s.thread, [...(byThread.get(s.thread) ?? []), s]);
  let steps = 0;
  for (const [thread, slices] of byThread) {
    for (let i = 0; i < slices.length; i++) {
      steps += slices[i].steps;
      assert.ok(slices[i].endNs >= slices[i].startNs);
      if (i === 0) continue;
      assert.notEqual(slices[i].label, slices[i - 1].label, `thread ${thread}: two consecutive slices labelled ${slices[i].label}`);
      assert.ok(slices[i].startNs >= slices[i - 1].endNs, `thread ${thread}: slices overlap`);
    }
  }
  assert.equal(steps, seed.steps, 'every step is in exactly one slice');
  assert.ok(t.slices.some((s) => s.steps > 1), 'some runs of steps were merged');
  assert.ok(t.slices.some((s) => s.label === 'qi_piotlb_inv' && s.object === 'iommu'));
});

test('the timeline’s events and frees are those of the run, at the run’s times', () => {
  const t = seed.timeline;
  assert.deepEqual(t.events, seed.trace);
  assert.deepEqual(t.pending, seed.pageTables.pendingSeries);
  assert.equal(t.endNs, seed.simulatedNs);
  assert.deepEqual(t.threads.map((th) => th.id), t.threads.map((_, i) => i), 'in spawn order');
  const dev = t.threads.find((th) => th.name.startsWith('dev0'));
  assert.deepEqual([dev?.cpu, dev?.kind], [-1, 'device']);
  assert.ok(t.threads.some((th) => th.cpu === 0 && th.kind === 'task'));
  for (let i = 1; i < t.frees.length; i++) assert.ok(t.frees[i].timeNs >= t.frees[i - 1].timeNs);
  assert.ok(t.frees.some((f) => f.pfn === t.flows[0].pfn && f.order === 0));
});

test('a violation is placed at the time of the step that saw it', () => {
  const r = timed('immediate', 'vfree-huge-vmap');
  const v = r.timeline.violations.find((x) => x.kind === 'iommu-use-after-free');
  assert.ok(v !== undefined);
  const event = r.trace!.find((e) => e.cat === 'violation' && e.step === v.step);
  assert.equal(v.timeNs, event?.timeNs);
});

test('recording a timeline changes nothing in the run', () => {
  const plain = timedRun(builtinDesign('seed')!, builtinScenario('vfree-huge-vmap')!, { trace: true });
  const { timeline: _, ...recorded } = seed;
  assert.deepEqual(recorded, plain);
});

test('a page-selective invalidation covers an unlinked table only with ih=0 and a range overlapping its VA (VT-d PSI keeps paging-structure caches with IH=1)', () => {
  const sched = new TimedScheduler(DEFAULT_COSTS);
  const k = bootTestKernel({ scheduler: sched });
  sched.attach(k.exec, k.iommu);
  const recorder = new TimelineRecorder(k, sched, attachOracles(k).hazard);
  const starts = new StepStarts(sched);
  // The PMD table under the direct map's PUD entry; its 6th entry maps PAGE_OFFSET + 10 MiB.
  const direct = 0xffff888000000000n;
  const mib = 1n << 20n;
  const pmd = entry_table(entryAt(k, direct, 3)!.value);
  const slot = pmd + 8 * 5;
  const va = direct + 10n * mib;
  const write = (old: bigint, value: bigint) => {
    for (const o of k.observers) o.pgtableWrite?.(2, slot, old, value);
  };
  const psi = (addr: bigint, am: number, ih: 0 | 1): InvDesc => ({ type: 'piotlb', granularity: 'page', did: 1, pasid: 1, addr, am, ih });
  runKernel(k, [
    function* (): Sim {
      const page = (yield* alloc_pages(k, GFP_KERNEL, 0))!;
      const link = BigInt(page * 4096) | 0x63n;
      write(0n, link); // pmd_populate_kernel
      write(link, 0n); // pmd_clear: the window opens
      yield* k.iommu.qi_submit_sync([psi(va, 0, 1)]); // leaves only
      yield* k.iommu.qi_submit_sync([psi(va + 2n * mib, 9, 0)]); // the next 2 MiB
      yield* k.iommu.qi_submit_sync([psi(va + 4096n, 0, 0)]); // one page inside
      yield* k.iommu.qi_submit_sync([{ type: 'piotlb', granularity: 'pasid', did: 1, pasid: 1 }]);
      yield* __free_pages(k, page, 0);
    },
  ]);
  sched.finish();
  const t = recorder.result(sched.makespan, { timesNs: [], pages: [] }, starts);
  assert.deepEqual(
    t.invalidations.map((i) => [i.kind, i.address, i.mask, i.ih]),
    [
      ['piotlb-page', '0xffff888000a00000', 0, 1],
      ['piotlb-page', '0xffff888000c00000', 9, 0],
      ['piotlb-page', '0xffff888000a01000', 0, 0],
      ['piotlb-pasid', null, null, null],
    ],
  );
  assert.equal(t.flows.length, 1);
  assert.deepEqual([t.flows[0].va, t.flows[0].vaEnd, t.flows[0].invalidation, t.flows[0].status], ['0xffff888000a00000', '0xffff888000c00000', 2, 'covered']);
  for (let i = 1; i < t.invalidations.length; i++) assert.ok(t.invalidations[i].timeNs > t.invalidations[i - 1].timeNs, 'each at the time of its own step');
});
