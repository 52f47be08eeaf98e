import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  PAGE_KERNEL,
  PAGE_SHARED,
  PhysMem,
  _PAGE_ACCESSED,
  _PAGE_DIRTY,
  _PAGE_NX,
  _PAGE_PRESENT,
  _PAGE_PSE,
  _PAGE_RW,
  _PAGE_TABLE,
  _PAGE_USER,
  mk_entry,
  permits,
  rootStart,
  walk,
  walkLabels,
  type WalkResult,
} from '../../../src/hw/index.ts';
import { drive, TableBuilder } from './machine.ts';

const labels = walkLabels('cpu_walk');
const READ_USER = { write: false, user: true };
const WRITE_USER = { write: true, user: true };
const USER_VA = 0x7f0012345678n;
const KERNEL_VA = 0xffffc90000201000n;

function setup(levels: 4 | 5 = 4) {
  const mem = new PhysMem(64);
  return { mem, b: new TableBuilder(mem, levels) };
}

function okResult(r: WalkResult) {
  assert.equal(r.ok, true, `walk faulted: ${JSON.stringify(r.ok ? null : { reason: r.reason, level: r.level })}`);
  return r as Extract<WalkResult, { ok: true }>;
}

test('the walker reads real entries from memory, one read step per level on that table frame', () => {
  const { mem, b } = setup();
  b.map(USER_VA, 0x30000, 1, PAGE_SHARED);
  const { value, steps } = drive(walk(mem, USER_VA, rootStart(4, b.root), READ_USER, labels));
  const r = okResult(value);
  assert.equal(r.pa, 0x30000 + 0x678);
  assert.equal(r.leafLevel, 1);
  assert.deepEqual(
    r.path.map((e) => e.level),
    [4, 3, 2, 1],
  );
  for (const e of r.path) assert.equal(e.entry, mem.read64(e.entryPa));
  assert.equal(r.path[0].tablePa, b.root);
  for (let i = 1; i < 4; i++) assert.equal(r.path[i].tablePa, r.path[i - 1].targetPa);
  const reads = steps.filter((s) => s.label === 'cpu_walk_level');
  assert.deepEqual(
    reads.map((s) => [s.access, s.obj]),
    r.path.map((e) => ['read', e.tablePa / 4096]),
  );
});

test('the walker honours PS at the PMD (2 MiB) and PUD (1 GiB) levels', () => {
  const { mem, b } = setup();
  b.map(0x40000000n, 0x200000, 2, PAGE_SHARED);
  b.map(0x80000000n, 0x40000000, 3, PAGE_SHARED);
  const r2 = okResult(drive(walk(mem, 0x40123456n, rootStart(4, b.root), READ_USER, labels)).value);
  assert.equal(r2.leafLevel, 2);
  assert.equal(r2.pa, 0x200000 + 0x123456);
  assert.equal(r2.path.length, 3);
  const r3 = okResult(drive(walk(mem, 0x80000000n + 0x3456789n, rootStart(4, b.root), READ_USER, labels)).value);
  assert.equal(r3.leafLevel, 3);
  assert.equal(r3.pa, 0x40000000 + 0x3456789);
  assert.equal(r3.path.length, 2);
});

test('a 5-level walk goes through the PML5 table first', () => {
  const { mem, b } = setup(5);
  const va = 0xff11000000401000n;
  b.map(va, 0x9000, 1, PAGE_KERNEL);
  const r = okResult(drive(walk(mem, va, rootStart(5, b.root), { write: false, user: false }, labels)).value);
  assert.deepEqual(
    r.path.map((e) => e.level),
    [5, 4, 3, 2, 1],
  );
  assert.equal(r.pa, 0x9000);
});

test('a not-present entry ends the walk at its level; PS in a PML4E and reserved bits of a large leaf are reserved faults', () => {
  const { mem, b } = setup();
  b.map(USER_VA, 0x30000, 1, PAGE_SHARED);
  const pmdPa = b.entryPa(USER_VA, 2) as number;
  mem.write64(pmdPa, 0n);
  const np = drive(walk(mem, USER_VA, rootStart(4, b.root), READ_USER, labels)).value;
  assert.deepEqual([np.ok, !np.ok && np.reason, !np.ok && np.level, np.path.length], [false, 'not-present', 2, 3]);

  mem.write64(pmdPa, mk_entry(0x200000, PAGE_SHARED | _PAGE_PSE) | (1n << 13n));
  const rsvd = drive(walk(mem, USER_VA, rootStart(4, b.root), READ_USER, labels)).value;
  assert.deepEqual([rsvd.ok, !rsvd.ok && rsvd.reason, !rsvd.ok && rsvd.level], [false, 'reserved', 2]);

  const pml4Pa = b.entryPa(USER_VA, 4) as number;
  mem.write64(pml4Pa, mem.read64(pml4Pa) | _PAGE_PSE);
  const ps4 = drive(walk(mem, USER_VA, rootStart(4, b.root), READ_USER, labels)).value;
  assert.deepEqual([ps4.ok, !ps4.ok && ps4.reason, !ps4.ok && ps4.level], [false, 'reserved', 4]);
});

test('a table pointer outside physical memory is a reserved fault at the entry holding it (reads as all-ones)', () => {
  const { mem, b } = setup();
  b.map(USER_VA, 0x30000, 1, PAGE_SHARED);
  const pudPa = b.entryPa(USER_VA, 3) as number;
  mem.write64(pudPa, mk_entry(0x100000000, _PAGE_TABLE));
  const r = drive(walk(mem, USER_VA, rootStart(4, b.root), READ_USER, labels)).value;
  assert.deepEqual([r.ok, !r.ok && r.reason, !r.ok && r.level], [false, 'reserved', 3]);
});

test('the walk sets Accessed on each non-leaf entry it uses and on the leaf; a write also sets Dirty on the leaf', () => {
  const { mem, b } = setup();
  const noAD = () => _PAGE_PRESENT | _PAGE_RW | _PAGE_USER;
  b.map(USER_VA, 0x30000, 1, _PAGE_PRESENT | _PAGE_RW | _PAGE_USER, noAD);
  const read = drive(walk(mem, USER_VA, rootStart(4, b.root), READ_USER, labels));
  const r = okResult(read.value);
  for (const e of r.path) assert.equal(mem.read64(e.entryPa) & _PAGE_ACCESSED, _PAGE_ACCESSED, `A set at level ${e.level}`);
  assert.equal(mem.read64(r.path[3].entryPa) & _PAGE_DIRTY, 0n, 'a read does not set D');
  assert.deepEqual(
    read.steps.filter((s) => s.label === 'cpu_walk_set_ad').map((s) => [s.access, s.obj]),
    r.path.map((e) => ['write', e.tablePa / 4096]),
  );
  const write = drive(walk(mem, USER_VA, rootStart(4, b.root), WRITE_USER, labels));
  const w = okResult(write.value);
  assert.equal(mem.read64(w.path[3].entryPa) & _PAGE_DIRTY, _PAGE_DIRTY);
  assert.equal(w.dirty, true);
  // Only the leaf needed an update this time: A was already set everywhere.
  assert.equal(write.steps.filter((s) => s.label === 'cpu_walk_set_ad').length, 1);
});

test('a user access to a supervisor leaf marks the non-leaf entries it used but leaves the faulting leaf unmarked', () => {
  const { mem, b } = setup();
  b.map(KERNEL_VA, 0x30000, 1, _PAGE_PRESENT | _PAGE_RW | _PAGE_NX, () => _PAGE_PRESENT | _PAGE_RW);
  const r = okResult(drive(walk(mem, KERNEL_VA, rootStart(4, b.root), READ_USER, labels)).value);
  assert.equal(r.user, false);
  assert.equal(permits(r, READ_USER), false);
  for (const e of r.path.slice(0, 3)) assert.equal(mem.read64(e.entryPa) & _PAGE_ACCESSED, _PAGE_ACCESSED);
  assert.equal(mem.read64(r.path[3].entryPa) & _PAGE_ACCESSED, 0n);
});

test('rights accumulate down the path: user and writable only if every level allows, NX if any level sets it', () => {
  const { mem, b } = setup();
  b.map(USER_VA, 0x30000, 1, _PAGE_PRESENT | _PAGE_RW | _PAGE_USER | _PAGE_ACCESSED, (l) => (l === 2 ? (_PAGE_TABLE & ~_PAGE_RW) | _PAGE_NX : _PAGE_TABLE));
  const r = okResult(drive(walk(mem, USER_VA, rootStart(4, b.root), READ_USER, labels)).value);
  assert.deepEqual([r.user, r.writable, r.nx], [true, false, true]);
  assert.equal(permits(r, WRITE_USER), false);
  assert.equal(permits(r, { write: false, user: false, exec: true }), false);
  assert.equal(permits(r, READ_USER), true);
});

test('an A/D update is a compare-exchange: if the entry changed since it was read, the walker re-reads it', () => {
  const { mem, b } = setup();
  b.map(USER_VA, 0x30000, 1, _PAGE_PRESENT | _PAGE_RW | _PAGE_USER);
  const leafPa = b.entryPa(USER_VA, 1) as number;
  const sim = walk(mem, USER_VA, rootStart(4, b.root), READ_USER, labels);
  let next = sim.next();
  while (!next.done && next.value.label !== 'cpu_walk_set_ad') next = sim.next();
  // The kernel repoints the PTE between the walker's read and its A update.
  mem.write64(leafPa, mk_entry(0x31000, _PAGE_PRESENT | _PAGE_USER));
  let rest = sim.next();
  const labelsSeen: string[] = [];
  while (!rest.done) {
    labelsSeen.push(rest.value.label);
    rest = sim.next();
  }
  assert.deepEqual(labelsSeen, ['cpu_walk_level', 'cpu_walk_set_ad']);
  const r = okResult(rest.value);
  assert.equal(r.pa, 0x31678);
  assert.equal(mem.read64(leafPa), mk_entry(0x31000, _PAGE_PRESENT | _PAGE_USER | _PAGE_ACCESSED));
});

test('a walk can start below the root from a cached entry, with the rights accumulated above it', () => {
  const { mem, b } = setup();
  b.map(USER_VA, 0x30000, 1, PAGE_SHARED);
  const full = okResult(drive(walk(mem, USER_VA, rootStart(4, b.root), READ_USER, labels)).value);
  const pde = full.path[2];
  const fromPde = drive(walk(mem, USER_VA, { level: 1, tablePa: pde.targetPa, user: false, writable: true, nx: false }, READ_USER, labels));
  const r = okResult(fromPde.value);
  assert.equal(r.pa, full.pa);
  assert.equal(r.user, false, 'rights from above are carried in');
  assert.equal(fromPde.steps.filter((s) => s.label === 'cpu_walk_level').length, 1);
});
