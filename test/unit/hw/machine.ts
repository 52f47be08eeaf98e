/**
 * Fixtures for the hw tests: drive a Sim to completion outside any thread, and build x86-64 page
 * tables in PhysMem the way the kernel lays them out, keeping an independent record of what was
 * mapped (the property test's reference).
 */
import { _PAGE_PSE, _PAGE_TABLE, mk_entry, tableIndex, type Level, type Pa, type PagingLevels, type PhysMem, type Va } from '../../../src/hw/index.ts';
import type { Sim, Step } from '../../../src/sim/index.ts';

/** Runs a Sim to its end, returning its value and every step it yielded. */
export function drive<T>(sim: Sim<T>): { value: T; steps: Step[] } {
  const steps: Step[] = [];
  for (;;) {
    const r = sim.next();
    if (r.done) return { value: r.value, steps };
    steps.push(r.value);
  }
}

/** Builds page tables from a bump allocator of frames, recording each entry it writes. */
export class TableBuilder {
  readonly root: Pa;
  /** Every entry written: key `${level}:${va >> levelShift(level)}` -> entry value. */
  readonly entries = new Map<string, bigint>();
  private nextPfn: number;

  constructor(
    readonly mem: PhysMem,
    readonly levels: PagingLevels,
    firstPfn = 1,
  ) {
    this.nextPfn = firstPfn;
    this.root = this.allocTable();
  }

  allocTable(): Pa {
    if (this.nextPfn >= this.mem.frames) throw new Error('TableBuilder: out of frames');
    this.mem.zeroFrame(this.nextPfn);
    return this.nextPfn++ * 4096;
  }

  /** The pa of va's entry at `level`, if the tables above exist (a leaf above returns null). */
  entryPa(va: Va, level: Level): Pa | null {
    let table = this.root;
    for (let l = this.levels as Level; l > level; l = (l - 1) as Level) {
      const e = this.mem.read64(table + tableIndex(va, l) * 8);
      if ((e & 1n) === 0n || (l <= 3 && (e & _PAGE_PSE) !== 0n)) return null;
      table = Number(e & 0x000ffffffffff000n);
    }
    return table + tableIndex(va, level) * 8;
  }

  /**
   * Maps va to pa with a leaf at `level` (1 = 4 KiB, 2 = 2 MiB, 3 = 1 GiB), creating missing tables
   * with `tableProt`. Returns false (and changes nothing) when it would overlap an existing mapping.
   */
  map(va: Va, pa: Pa, level: 1 | 2 | 3, prot: bigint, tableProt: (level: Level) => bigint = () => _PAGE_TABLE): boolean {
    let table = this.root;
    for (let l = this.levels as Level; l > level; l = (l - 1) as Level) {
      const at = table + tableIndex(va, l) * 8;
      const e = this.mem.read64(at);
      if ((e & 1n) === 0n) {
        const next = this.allocTable();
        const entry = mk_entry(next, tableProt(l));
        this.mem.write64(at, entry);
        this.entries.set(key(va, l), entry);
        table = next;
      } else {
        if (l <= 3 && (e & _PAGE_PSE) !== 0n) return false;
        table = Number(e & 0x000ffffffffff000n);
      }
    }
    const at = table + tableIndex(va, level) * 8;
    if (this.mem.read64(at) !== 0n) return false;
    const entry = mk_entry(pa, prot | (level > 1 ? _PAGE_PSE : 0n));
    this.mem.write64(at, entry);
    this.entries.set(key(va, level), entry);
    return true;
  }
}

export function key(va: Va, level: Level): string {
  return `${level}:${BigInt.asUintN(64, va) >> BigInt(12 + 9 * (level - 1))}`;
}
