/**
 * Property: on random x86-64 page tables (4 KiB / 2 MiB / 1 GiB leaves, random USER/RW/NX bits at
 * every level, both halves, 4- and 5-level), the walker, the CPU with its TLB and paging-structure
 * caches, and the IOMMU with its IOTLB and paging-structure caches all agree with a reference
 * translation computed from the builder's own record of what it mapped (no memory walk).
 * fast-check prints the seed and the shrunk counterexample on failure.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  Cpu,
  Iommu,
  PhysMem,
  _PAGE_ACCESSED,
  _PAGE_DIRTY,
  _PAGE_NX,
  _PAGE_PAT_LARGE,
  _PAGE_PRESENT,
  _PAGE_PSE,
  _PAGE_RW,
  _PAGE_USER,
  canonical,
  entry_pa,
  permits,
  rootStart,
  walk,
  walkLabels,
  type Level,
  type PagingLevels,
  type Va,
  type WalkAccess,
} from '../../src/hw/index.ts';
import { RoundRobinScheduler } from '../../src/explore/index.ts';
import { Execution } from '../../src/sim/index.ts';
import { drive, key, TableBuilder } from '../unit/hw/machine.ts';

type Ref =
  | { ok: true; pa: number; leafLevel: Level; user: boolean; writable: boolean; nx: boolean }
  | { ok: false; reason: 'not-present'; level: Level };

/** The reference: follow the builder's record of entries by va prefix, decoding bits with bigint. */
function reference(b: TableBuilder, va: Va): Ref {
  let user = true;
  let writable = true;
  let nx = false;
  for (let l = b.levels as Level; l >= 1; l = (l - 1) as Level) {
    const e = b.entries.get(key(va, l));
    if (e === undefined) return { ok: false, reason: 'not-present', level: l };
    user &&= (e & _PAGE_USER) !== 0n;
    writable &&= (e & _PAGE_RW) !== 0n;
    nx ||= (e & _PAGE_NX) !== 0n;
    if (l === 1 || (e & _PAGE_PSE) !== 0n) {
      const size = 1n << BigInt(12 + 9 * (l - 1));
      return { ok: true, pa: entry_pa(e, l) + Number(BigInt.asUintN(64, va) & (size - 1n)), leafLevel: l, user, writable, nx };
    }
  }
  throw new Error('unreachable');
}

/** Table indices come from a small set so that mappings share tables; both halves appear. */
const topIndex = fc.constantFrom(0, 1, 255, 256, 511);
const lowIndex = fc.constantFrom(0, 1, 2, 511);
const bits = fc.record({ user: fc.boolean(), rw: fc.boolean(), nx: fc.boolean() });
const protOf = (p: { user: boolean; rw: boolean; nx: boolean }) =>
  _PAGE_PRESENT | _PAGE_ACCESSED | _PAGE_DIRTY | (p.user ? _PAGE_USER : 0n) | (p.rw ? _PAGE_RW : 0n) | (p.nx ? _PAGE_NX : 0n);

const mappingArb = fc.record({
  indices: fc.tuple(topIndex, lowIndex, lowIndex, lowIndex, lowIndex),
  leafLevel: fc.constantFrom<1 | 2 | 3>(1, 1, 2, 3),
  pfn: fc.integer({ min: 0, max: (1 << 26) - 1 }),
  leaf: bits,
  /** Set PAT (bit 12) in a large leaf: not an address bit there. */
  patLarge: fc.boolean(),
  tables: fc.array(bits, { minLength: 4, maxLength: 4 }),
});

const worldArb = fc.record({
  levels: fc.constantFrom<PagingLevels>(4, 5),
  mappings: fc.array(mappingArb, { minLength: 1, maxLength: 10 }),
  queries: fc.array(
    fc.record({
      pick: fc.nat(),
      mapped: fc.boolean(),
      offset: fc.bigInt({ min: 0n, max: (1n << 30n) - 1n }),
      indices: fc.tuple(topIndex, lowIndex, lowIndex, lowIndex, lowIndex),
      write: fc.boolean(),
      user: fc.boolean(),
    }),
    { minLength: 1, maxLength: 30 },
  ),
});

type World = typeof worldArb extends fc.Arbitrary<infer T> ? T : never;

function vaOf(levels: PagingLevels, indices: readonly number[], leafLevel: Level, offset: bigint): Va {
  let va = 0n;
  for (let l = levels; l >= 1; l--) {
    const i = l === levels ? indices[0] : indices[levels - l];
    if (l < leafLevel) break;
    va |= BigInt(i) << BigInt(12 + 9 * (l - 1));
  }
  const size = 1n << BigInt(12 + 9 * (leafLevel - 1));
  return canonical(va | (offset & (size - 1n)), levels);
}

function build(w: World) {
  const mem = new PhysMem(128);
  const b = new TableBuilder(mem, w.levels);
  const placed: { va: Va; leafLevel: Level }[] = [];
  for (const m of w.mappings) {
    const va = vaOf(w.levels, m.indices, m.leafLevel, 0n);
    const pages = 512 ** (m.leafLevel - 1);
    const pa = (m.pfn - (m.pfn % pages)) * 4096;
    let t = 0;
    if (!b.map(va, pa, m.leafLevel, protOf(m.leaf), () => protOf(m.tables[t++ % 4]))) continue;
    placed.push({ va, leafLevel: m.leafLevel });
    if (m.patLarge && m.leafLevel > 1) {
      const at = b.entryPa(va, m.leafLevel) as number;
      mem.write64(at, mem.read64(at) | _PAGE_PAT_LARGE);
      b.entries.set(key(va, m.leafLevel), mem.read64(at));
    }
  }
  const queries = w.queries.map((q) => {
    const access: WalkAccess = { write: q.write, user: q.user };
    if (q.mapped && placed.length > 0) {
      const p = placed[q.pick % placed.length];
      const size = 1n << BigInt(12 + 9 * (p.leafLevel - 1));
      return { va: canonical(p.va | (q.offset & (size - 1n)), w.levels), access };
    }
    return { va: vaOf(w.levels, q.indices, 1, q.offset), access };
  });
  return { mem, b, queries };
}

test('property: the walker translates random page tables as the reference does (4K/2M/1G, rights, both halves, 4/5-level)', () => {
  const labels = walkLabels('cpu_walk');
  fc.assert(
    fc.property(worldArb, (w) => {
      const { mem, b, queries } = build(w);
      for (const { va, access } of queries) {
        const ref = reference(b, va);
        const r = drive(walk(mem, va, rootStart(w.levels, b.root), access, labels)).value;
        if (!ref.ok) {
          assert.deepEqual(r.ok ? r : { reason: r.reason, level: r.level }, { reason: ref.reason, level: ref.level });
          continue;
        }
        assert.equal(r.ok, true);
        if (!r.ok) continue;
        assert.deepEqual([r.pa, r.leafLevel, r.user, r.writable, r.nx], [ref.pa, ref.leafLevel, ref.user, ref.writable, ref.nx], `va 0x${va.toString(16)}`);
        assert.equal(r.path.length, w.levels - ref.leafLevel + 1);
      }
    }),
    { numRuns: 150 },
  );
});

/** What a translating agent must answer for the reference: the pa, or the fault. */
function expected(ref: Ref, access: WalkAccess) {
  if (!ref.ok) return { ok: false, reason: ref.reason, level: ref.level };
  if (!permits(ref, access)) return { ok: false, reason: 'protection', level: ref.leafLevel };
  return { ok: true, pa: ref.pa, level: ref.leafLevel };
}

test('property: a CPU with small TLB and paging-structure caches answers every translation as a fresh walk does', () => {
  fc.assert(
    fc.property(worldArb, fc.array(fc.nat(), { minLength: 1, maxLength: 60 }), (w, order) => {
      const { mem, b, queries } = build(w);
      const cpu = new Cpu(0, mem, { tlbEntries: 3, pscEntries: 2, levels: w.levels });
      cpu.load_cr3(b.root);
      for (const i of order) {
        const { va, access } = queries[i % queries.length];
        const r = drive(cpu.translate(va, access)).value;
        const got = r.ok ? { ok: true, pa: r.pa, level: r.pageLevel } : { ok: false, reason: r.reason, level: r.level };
        assert.deepEqual(got, expected(reference(b, va), access), `va 0x${va.toString(16)}`);
      }
    }),
    { numRuns: 150 },
  );
});

test('property: the IOMMU with IOTLB and paging-structure caches answers every user request as a fresh walk does', () => {
  fc.assert(
    fc.property(worldArb, fc.array(fc.nat(), { minLength: 1, maxLength: 60 }), (w, order) => {
      const { mem, b, queries } = build(w);
      const iommu = new Iommu(new Execution(new RoundRobinScheduler()), mem, { levels: w.levels, pml5: 2, pml4: 2, pdpt: 2, pde: 2, iotlb: 3 });
      iommu.setPasidEntry(1, { pgd: b.root, domainId: 1 });
      for (const i of order) {
        const { va, access } = queries[i % queries.length];
        const r = drive(iommu.translate(1, va, { write: access.write })).value;
        const got = r.ok ? { ok: true, pa: r.pa, level: r.pageLevel } : { ok: false, reason: r.reason, level: r.level };
        assert.deepEqual(got, expected(reference(b, va), { write: access.write, user: true }), `va 0x${va.toString(16)}`);
      }
    }),
    { numRuns: 150 },
  );
});
