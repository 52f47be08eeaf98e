/**
 * A kernel path that follows an entry to memory that is not there (a freed or corrupted page table
 * read as one) faults and oopses, as Linux's page_fault_oops() does: an `assertion` "BUG: unable to
 * handle page fault" in that thread, which dies there — a finding, never a kptsim crash (exit 70).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pmdp_get } from '../../../src/kernel/arch/x86/include/asm/pgtable.ts';
import type { Sim } from '../../../src/sim/index.ts';
import { bootTestKernel, kinds, runKernel } from '../../helpers/kernel.ts';

test('reading an entry outside memory is the kernel page-fault oops in that thread; the other threads go on', () => {
  const k = bootTestKernel();
  let after = false;
  let other = false;
  const result = runKernel(k, [
    function* (): Sim {
      yield* pmdp_get(k, k.mem.frames * 4096 + 8);
      after = true;
    },
    function* (): Sim {
      yield* pmdp_get(k, k.init_mm.pgd);
      other = true;
    },
  ]);
  assert.deepEqual(kinds(result), ['assertion']);
  const [v] = result.violations;
  assert.match(v.title, /^BUG: unable to handle page fault for address: [0-9a-f]+$/);
  assert.equal(v.details[0], '#PF: supervisor read access in kernel mode');
  assert.match(v.details[2], /^in pmdp_get: the entry it followed points outside memory/);
  assert.equal(after, false, 'the faulting thread dies at the fault');
  assert.equal(other, true);
});
