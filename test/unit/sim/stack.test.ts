import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { PAGE_SIZE } from '../../../src/hw/address.ts';
import { pte_free_kernel } from '../../../src/kernel/include/asm-generic/pgalloc.ts';
import { alloc_page } from '../../../src/kernel/mm/page_alloc.ts';
import { GFP_KERNEL } from '../../../src/kernel/include/linux/gfp.ts';
import { vmalloc } from '../../../src/kernel/mm/vmalloc.ts';
import { INIT_WORK, flush_work, schedule_work } from '../../../src/kernel/kernel/workqueue.ts';
import { pmd_clear } from '../../../src/kernel/arch/x86/include/asm/pgtable.ts';
import type { Kernel } from '../../../src/kernel/model/kernel.ts';
import { StackDepot, kernelFrames, parseStack, step, type Execution, type Sim, type Thread } from '../../../src/sim/index.ts';
import { bootTestKernel, runKernel } from '../../helpers/kernel.ts';
import { newExecution, runThreads } from '../../helpers/sim.ts';
import { tablesOf } from '../check/workload.ts';

const SRC = fileURLToPath(new URL('../../../src/', import.meta.url));

/** A V8 stack line for function `name` in `file` (under src/ unless absolute), as tsx prints it. */
function at(name: string | null, file: string): string {
  const path = file.startsWith('/') || file.startsWith('node:') || file === '<anonymous>' ? file : `${SRC}${file}`;
  const where = path === '<anonymous>' ? path : `${path}:12:34`;
  return name === null ? `    at ${where}` : `    at ${name} (${where})`;
}

test('a JavaScript stack becomes the kernel call stack: modelled functions by name, innermost first; simulator, oracles, workloads and generator plumbing left out', () => {
  const stack = [
    'Error',
    at('captureStack', 'sim/stack.ts'),
    at('Object.pagesFreed', 'check/pgtable-shadow.ts'),
    at('free_the_page', 'kernel/mm/page_alloc.ts'),
    at('free_the_page.next', '<anonymous>'),
    at('__free_pages', 'kernel/mm/page_alloc.ts'),
    at('Iommu.qi_submit_sync', 'hw/iommu.ts'),
    at('generic_pte_free_kernel', 'kernel/include/asm-generic/pgalloc.ts'),
    at('Object.framed.<computed>', 'kernel/model/hooks.ts'),
    at('Object.pmd_free_pte_page', '/home/me/designs/mine.ts'),
    at('Object.framed.<computed>', 'kernel/model/hooks.ts'),
    at('vmalloc', 'kernel/mm/vmalloc.ts'),
    at('Thread.body', 'scenario/workloads/vfree-huge-vmap.ts'),
    at('Generator.next', '<anonymous>'),
    at('Thread.resume', 'sim/thread.ts'),
    at('Execution.run', 'sim/execution.ts'),
    at('outer', '/home/me/test.ts'),
    at('Module._compile', 'node:internal/modules/cjs/loader'),
  ].join('\n');
  assert.deepEqual(kernelFrames(parseStack(stack), ['pmd_free_pte_page', 'pte_free_kernel']), [
    'free_the_page',
    '__free_pages',
    'Iommu.qi_submit_sync',
    'pte_free_kernel',
    'pmd_free_pte_page',
    'vmalloc',
  ]);
});

test("a hook's wrapper takes the hook's name from Thread.frames; an anonymous work function takes the work's (the outermost entry); a design's own helper keeps its name", () => {
  const stack = [
    at('__free_pages', 'kernel/mm/page_alloc.ts'),
    at(null, 'designs/v9.ts'),
    at('Object.framed.<computed>', 'kernel/model/hooks.ts'),
    at('my_deferred_free', 'designs/v9.ts'),
    at('Object.framed.<computed>', 'kernel/model/hooks.ts'),
    at(null, 'designs/v9.ts'),
    at('process_one_work', 'kernel/kernel/workqueue.ts'),
    at('worker_thread', 'kernel/kernel/workqueue.ts'),
    at('Thread.resume', 'sim/thread.ts'),
  ].join('\n');
  assert.deepEqual(kernelFrames(parseStack(stack), ['v9_work', 'pagetable_free', 'pagetable_free']), [
    '__free_pages',
    'pagetable_free',
    'my_deferred_free',
    'pagetable_free',
    'v9_work',
    'process_one_work',
    'worker_thread',
  ]);
  // After an exception unwound the hooks, their wrappers are left out and the implementations shown.
  assert.deepEqual(kernelFrames(parseStack(stack), []), ['__free_pages', 'my_deferred_free', 'process_one_work', 'worker_thread']);
});

function* outer_function(exec: Execution, t: Thread, out: string[][]): Sim {
  yield step('outer', 'local', -1);
  yield* inner_function(exec, t, out);
}

function* inner_function(exec: Execution, t: Thread, out: string[][]): Sim {
  yield step('inner', 'local', -1);
  out.push(exec.callTrace(t));
}

test('with stacks recorded, a report names the functions the running thread is inside (as "Call Trace:", one a line, innermost first); without, its last steps', () => {
  for (const stacks of [true, false]) {
    const exec = newExecution();
    if (stacks) exec.recordStacks();
    const out: string[][] = [];
    runThreads(exec, [(t) => outer_function(exec, t, out)]);
    assert.deepEqual(out, [stacks ? ['Call Trace:', ' inner_function', ' outer_function'] : ['Last steps: thread_start, outer, inner']]);
  }
});

test('the stack depot prints KASAN\'s "Allocated by task" and "Freed by task" sections of a page-table page, with the hooks it was freed through, and nothing that differs between machines', () => {
  const k: Kernel = bootTestKernel();
  k.exec.recordStacks();
  let pte = -1;
  runKernel(k, [
    [
      { name: 'cpu0:vmalloc', cpu: 0 },
      function* () {
        const va = (yield* vmalloc(k, PAGE_SIZE))!;
        const t = yield* tablesOf(k, va);
        pte = t.pteTable;
        yield* pmd_clear(k, t.pmdp);
        const work = INIT_WORK<Kernel>(k, 'test_free_work', function* (kk) {
          yield* pte_free_kernel(kk, kk.init_mm, pte);
        });
        yield* schedule_work(k, work);
        yield* flush_work(k, work);
      },
    ],
  ]);
  const lines = k.exec.stacks?.describe(pte) ?? [];
  const freed = lines.findIndex((l) => l.startsWith('Freed by'));
  assert.match(lines[0], /^Allocated by task \d+ \(cpu0:vmalloc\) on cpu0 at step \d+:$/);
  assert.ok(lines.slice(1, freed).includes(' vmalloc'), lines.join('\n'));
  assert.match(lines[freed], /^Freed by task \d+ \(kworker\/u:\d\) on cpu\d at step \d+:$/);
  assert.deepEqual(lines.slice(freed + 1, freed + 7), [' kasan_save_free_info', ' free_the_page', ' __free_pages', ' pagetable_free', ' pagetable_dtor_free', ' pte_free_kernel']);
  assert.ok(lines.slice(freed).includes(' test_free_work'), 'the anonymous work function is named after its work');
  assert.ok(lines.every((l) => !l.includes('/') || /\(kworker\/u:\d\)/.test(l)), 'no paths');
  assert.ok(lines.every((l) => !/:\d+:\d+/.test(l)), 'no line numbers');
});

test('an object allocated before any task ran has no allocation stack; the depot says so, and keeps the allocation a free undid', () => {
  const depot = new StackDepot();
  assert.deepEqual(depot.describe(7), ['Allocated before any task ran (boot): no allocation stack']);
  depot.allocated(7, { pid: 1, comm: 'a', cpu: 0, step: 3, stack: ['alloc_pages'] });
  depot.freed(7, { pid: 2, comm: 'b', cpu: 1, step: 9, stack: ['__free_pages'] });
  depot.allocated(7, { pid: 3, comm: 'c', cpu: 0, step: 12, stack: ['alloc_pages'] });
  assert.deepEqual(depot.describe(7), ['Allocated by task 1 (a) on cpu0 at step 3:', ' alloc_pages', 'Freed by task 2 (b) on cpu1 at step 9:', ' __free_pages']);
});

test('allocations made without stacks recorded leave no tracks (exploration pays nothing)', () => {
  const k = bootTestKernel();
  runKernel(k, [
    function* () {
      yield* alloc_page(k, GFP_KERNEL);
    },
  ]);
  assert.equal(k.exec.stacks, null);
  assert.equal(k.exec.track(), null);
});
