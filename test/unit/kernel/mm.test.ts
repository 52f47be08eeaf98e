import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PAGE_SIZE, PTRS_PER_TABLE } from '../../../src/hw/address.ts';
import { handle_mm_fault, pgd_alloc, type MmStruct } from '../../../src/kernel/kernel/fork.ts';
import { vmalloc } from '../../../src/kernel/mm/vmalloc.ts';
import { bootTestKernel, runKernel } from '../../helpers/kernel.ts';

test('pgd_alloc copies the kernel half of init_mm into a new PGD (pgd_ctor clone_pgd_range)', () => {
  const k = bootTestKernel();
  let mm: MmStruct | null = null;
  runKernel(k, [
    function* () {
      mm = yield* pgd_alloc(k, 'task');
    },
  ]);
  assert.ok(mm);
  const pgd = (mm as MmStruct).pgd;
  for (let i = 0; i < PTRS_PER_TABLE; i++) {
    const expected = i >= k.layout.KERNEL_PGD_BOUNDARY ? k.mem.read64(k.init_mm.pgd + 8 * i) : 0n;
    assert.equal(k.mem.read64(pgd + 8 * i), expected, `PGD entry ${i}`);
  }
});

test('a process PGD shares the lower kernel tables: a later vmalloc is visible through it to the CPU', () => {
  const k = bootTestKernel();
  let ok = false;
  runKernel(k, [
    function* () {
      const mm = (yield* pgd_alloc(k, 'task'))!;
      const va = (yield* vmalloc(k, PAGE_SIZE))!;
      k.cpus[0].load_cr3(mm.pgd);
      const t = yield* k.cpus[0].translate(va, { write: false, user: false });
      ok = t.ok;
    },
  ]);
  assert.ok(ok);
});

test('handle_mm_fault maps a zeroed user page the device and CPU can reach with user rights', () => {
  const k = bootTestKernel();
  let page: number | null = null;
  let user = false;
  runKernel(k, [
    function* () {
      const mm = (yield* pgd_alloc(k, 'task'))!;
      page = yield* handle_mm_fault(k, mm, 0x7f0000001000n);
      k.cpus[0].load_cr3(mm.pgd);
      const t = yield* k.cpus[0].translate(0x7f0000001000n, { write: true, user: true });
      user = t.ok;
    },
  ]);
  assert.notEqual(page, null);
  assert.ok(user);
  assert.ok(k.mem.frameFilledWith(page!, 0));
});
