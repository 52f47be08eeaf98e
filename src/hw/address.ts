/**
 * x86-64 addresses. Virtual addresses are 64-bit and canonical, so they are bigints (a kernel
 * address such as 0xffff888000000000 does not fit a double). Physical addresses of the simulated
 * machine are small and are plain numbers. Caches key on virtual page numbers (va >> 12), which
 * fit a double exactly (52 bits).
 *
 *   63        57 56     48 47     39 38     30 29     21 20     12 11        0
 *   | sign ext. | PML5 (5-level) | PML4 | PDPT  |  PD   |  PT   |  offset   |
 */

export type Va = bigint;
export type Pa = number;
export type Pfn = number;

export const PAGE_SHIFT = 12;
export const PAGE_SIZE = 4096;
export const PTRS_PER_TABLE = 512;
export const ULONG_MAX: Va = (1n << 64n) - 1n;
/** Linux's TLB_FLUSH_ALL is -1UL. */
export const TLB_FLUSH_ALL: Va = ULONG_MAX;

export type PagingLevels = 4 | 5;

/** Paging-structure levels, named as in Linux: 5 = PGD on 5-level (P4D folded otherwise). */
export type Level = 1 | 2 | 3 | 4 | 5;
export const LEVEL_NAMES: Record<Level, string> = { 5: 'pgd', 4: 'p4d', 3: 'pud', 2: 'pmd', 1: 'pte' };

/** Bit position of the lowest address bit a level's index selects: PTE 12, PMD 21, PUD 30, P4D 39, PGD(5) 48. */
export function levelShift(level: Level): number {
  return PAGE_SHIFT + 9 * (level - 1);
}

/** Bytes one entry at `level` maps: 4 KiB, 2 MiB, 1 GiB, 512 GiB, 256 TiB. */
export function levelSize(level: Level): Va {
  return 1n << BigInt(levelShift(level));
}

export const PMD_SIZE = Number(levelSize(2));
export const PUD_SIZE = Number(levelSize(3));

/** The virtual page number: va >> 12 as a number (exact, at most 52 bits). */
export function vpnOf(va: Va): number {
  return Number(BigInt.asUintN(64, va) >> 12n);
}

/** The 9-bit table index of `va` at `level`. */
export function tableIndex(va: Va, level: Level): number {
  return Number((BigInt.asUintN(64, va) >> BigInt(levelShift(level))) & 511n);
}

/** Sign-extends from bit 47 (4-level) or 56 (5-level): the canonical form. */
export function canonical(va: Va, levels: PagingLevels): Va {
  const bits = levels === 5 ? 57 : 48;
  return BigInt.asUintN(64, BigInt.asIntN(bits, va));
}

export function isCanonical(va: Va, levels: PagingLevels): boolean {
  return canonical(va, levels) === BigInt.asUintN(64, va);
}

export function hex(v: bigint | number): string {
  return '0x' + v.toString(16);
}
