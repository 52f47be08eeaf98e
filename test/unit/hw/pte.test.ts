import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  PAGE_KERNEL,
  PAGE_KERNEL_LARGE,
  PTE_FIELDS,
  _KERNPG_TABLE,
  _PAGE_ACCESSED,
  _PAGE_DIRTY,
  _PAGE_NX,
  _PAGE_PAT_LARGE,
  _PAGE_PRESENT,
  _PAGE_PSE,
  _PAGE_RW,
  _PAGE_TABLE,
  entry_huge,
  entry_pa,
  entry_present,
  entry_user,
  entry_writable,
  formatEntry,
  mk_entry,
  paFromHalves,
} from '../../../src/hw/index.ts';

test('the composite protections have the values of arch/x86/include/asm/pgtable_types.h', () => {
  assert.equal(_KERNPG_TABLE, 0x63n);
  assert.equal(_PAGE_TABLE, 0x67n);
  assert.equal(PAGE_KERNEL, 0x8000000000000163n);
  assert.equal(PAGE_KERNEL_LARGE, 0x80000000000001e3n);
});

test('formatEntry decodes a kernel PTE by field name: 0x80000000001a3063 [P RW A D NX] -> 0x1a3000', () => {
  const e = mk_entry(0x1a3000, _PAGE_PRESENT | _PAGE_RW | _PAGE_ACCESSED | _PAGE_DIRTY | _PAGE_NX);
  assert.equal(e, 0x80000000001a3063n);
  assert.equal(formatEntry(e), '0x80000000001a3063 [P RW A D NX] -> 0x1a3000');
  assert.equal(formatEntry(mk_entry(0x5000, _PAGE_PSE | _PAGE_PRESENT), 1), '0x0000000000005081 [P PAT] -> 0x5000');
  assert.equal(formatEntry(0n), '0x0000000000000000 [] -> 0x0');
});

test('a 2 MiB leaf keeps PAT in bit 12, which is not part of the address it maps (pmd_pfn_mask)', () => {
  const e = mk_entry(0x40200000, PAGE_KERNEL_LARGE) | _PAGE_PAT_LARGE;
  assert.equal(entry_huge(e), true);
  assert.equal(entry_pa(e, 2), 0x40200000);
  assert.equal(entry_pa(e), 0x40201000);
  assert.equal(entry_present(e) && entry_writable(e) && !entry_user(e), true);
});

test('the field table covers all 64 bits exactly once', () => {
  let covered = 0n;
  for (const f of PTE_FIELDS) {
    assert.equal(covered & f.mask, 0n, `${f.name} overlaps`);
    covered |= f.mask;
  }
  // bits 52..56 are ignored by hardware and not a named field
  assert.equal(covered | (0x1fn << 52n), (1n << 64n) - 1n);
});

test('paFromHalves reads the same address as entry_pa from the u32 halves', () => {
  for (const pa of [0, 0x1000, 0xfffff000, 0x100000000, 0xffffffffff000]) {
    const e = mk_entry(pa, PAGE_KERNEL);
    assert.equal(paFromHalves(Number(e & 0xffffffffn), Number(e >> 32n)), entry_pa(e));
    assert.equal(entry_pa(e), pa);
  }
});
