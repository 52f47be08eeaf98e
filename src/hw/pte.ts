/**
 * x86-64 paging-structure entries, in the real bit layout (Intel SDM vol. 3 §4.5, tables 4-14..4-20)
 * and named as Linux names them (arch/x86/include/asm/pgtable_types.h, v6.19).
 *
 *   63  62   59 58  57 56    52 51                                  12 11  9  8   7   6   5   4   3   2   1   0
 *  +--+-------+---+---+-------+--------------------------------------+-----+---+---+---+---+---+---+---+---+---+
 *  |NX| PKEY  |SW5|SW4| ign.  |  PFN: physical address bits 51:12    | SW  | G |PSE| D | A |PCD|PWT| U |RW | P |
 *  +--+-------+---+---+-------+--------------------------------------+-----+---+---+---+---+---+---+---+---+---+
 *
 * PSE (bit 7) makes a PDPTE a 1 GiB leaf and a PDE a 2 MiB leaf; in a 4 KiB PTE the same bit is PAT,
 * and in a PML4E/PML5E it is reserved. In a large leaf bit 12 is PAT and the address starts at bit
 * 30 (1 GiB) or 21 (2 MiB); the bits between are reserved. G only matters in a leaf.
 *
 * The one table of fields, PTE_FIELDS, drives decoding and formatting. The walkers do not use
 * bigint: they read an entry as two u32 halves and test the LO_/HI_ masks below.
 */
import { hex, type Level, type Pa } from './address.ts';

export const _PAGE_PRESENT = 1n << 0n;
export const _PAGE_RW = 1n << 1n;
export const _PAGE_USER = 1n << 2n;
export const _PAGE_PWT = 1n << 3n;
export const _PAGE_PCD = 1n << 4n;
export const _PAGE_ACCESSED = 1n << 5n;
export const _PAGE_DIRTY = 1n << 6n;
export const _PAGE_PSE = 1n << 7n;
export const _PAGE_PAT = 1n << 7n;
export const _PAGE_GLOBAL = 1n << 8n;
export const _PAGE_PAT_LARGE = 1n << 12n;
export const _PAGE_NX = 1n << 63n;

/** Physical address bits 51:12 (Linux PTE_PFN_MASK with __PHYSICAL_MASK_SHIFT 52). */
export const PTE_PFN_MASK = ((1n << 52n) - 1n) & ~0xfffn;

/** Intermediate tables of the kernel half: present, writable, supervisor (pgtable_types.h). */
export const _KERNPG_TABLE = _PAGE_PRESENT | _PAGE_RW | _PAGE_ACCESSED | _PAGE_DIRTY;
/** Intermediate tables of the user half: as above plus USER. */
export const _PAGE_TABLE = _KERNPG_TABLE | _PAGE_USER;
export const PAGE_KERNEL = _PAGE_PRESENT | _PAGE_RW | _PAGE_ACCESSED | _PAGE_NX | _PAGE_DIRTY | _PAGE_GLOBAL;
export const PAGE_KERNEL_EXEC = _PAGE_PRESENT | _PAGE_RW | _PAGE_ACCESSED | _PAGE_DIRTY | _PAGE_GLOBAL;
export const PAGE_KERNEL_RO = _PAGE_PRESENT | _PAGE_ACCESSED | _PAGE_NX | _PAGE_GLOBAL;
export const PAGE_KERNEL_LARGE = PAGE_KERNEL | _PAGE_PSE;
/** User mappings (the protection_map entries an SVA process's buffers get). */
export const PAGE_SHARED = _PAGE_PRESENT | _PAGE_RW | _PAGE_USER | _PAGE_ACCESSED | _PAGE_NX;
export const PAGE_SHARED_EXEC = _PAGE_PRESENT | _PAGE_RW | _PAGE_USER | _PAGE_ACCESSED;
export const PAGE_READONLY = _PAGE_PRESENT | _PAGE_USER | _PAGE_ACCESSED | _PAGE_NX;

/** The SDM's names of the entries at each level (Linux's pgd/p4d/pud/pmd/pte in address.ts). */
export const ENTRY_NAMES: Record<Level, string> = { 5: 'PML5E', 4: 'PML4E', 3: 'PDPTE', 2: 'PDE', 1: 'PTE' };

/** Hot-path masks on the low and high u32 halves of an entry. */
export const LO_PRESENT = 0x1;
export const LO_RW = 0x2;
export const LO_USER = 0x4;
export const LO_ACCESSED = 0x20;
export const LO_DIRTY = 0x40;
export const LO_PSE = 0x80;
export const LO_GLOBAL = 0x100;
export const HI_NX = 0x80000000;

const TWO_POW_32 = 4294967296;

/** The address an entry holds (bits 51:12), from its halves. */
export function paFromHalves(lo: number, hi: number): Pa {
  return (hi & 0xfffff) * TWO_POW_32 + ((lo & 0xfffff000) >>> 0);
}

export interface PteField {
  /** Name in formatted entries: Linux's _PAGE_<NAME> without the prefix where one exists. */
  readonly name: string;
  readonly bit: number;
  readonly width: number;
  readonly mask: bigint;
}

function field(name: string, bit: number, width = 1): PteField {
  return { name, bit, width, mask: ((1n << BigInt(width)) - 1n) << BigInt(bit) };
}

/** Every field of a paging-structure entry, low bit first (see the diagram above). */
export const PTE_FIELDS: readonly PteField[] = [
  field('P', 0),
  field('RW', 1),
  field('USER', 2),
  field('PWT', 3),
  field('PCD', 4),
  field('A', 5),
  field('D', 6),
  field('PSE', 7),
  field('G', 8),
  field('SOFTW1', 9),
  field('SOFTW2', 10),
  field('SOFTW3', 11),
  field('PFN', 12, 40),
  field('SOFTW4', 57),
  field('SOFTW5', 58),
  field('PKEY', 59, 4),
  field('NX', 63),
];

export function mk_entry(pa: Pa, prot: bigint): bigint {
  return (BigInt(pa) & PTE_PFN_MASK) | (prot & ~PTE_PFN_MASK);
}

export function entry_present(e: bigint): boolean {
  return (e & _PAGE_PRESENT) !== 0n;
}

/** PS: a leaf at PUD (1 GiB) or PMD (2 MiB) level. Meaningless (PAT) in a PTE. */
export function entry_huge(e: bigint): boolean {
  return (e & _PAGE_PSE) !== 0n;
}

/** Whether an entry at `level` links a lower table: present, above the PTE level, not a PS leaf. */
export function entry_links_table(e: bigint, level: Level): boolean {
  return level > 1 && (e & _PAGE_PRESENT) !== 0n && (e & _PAGE_PSE) === 0n;
}

export function entry_user(e: bigint): boolean {
  return (e & _PAGE_USER) !== 0n;
}

export function entry_writable(e: bigint): boolean {
  return (e & _PAGE_RW) !== 0n;
}

export function entry_nx(e: bigint): boolean {
  return (e & _PAGE_NX) !== 0n;
}

/**
 * The physical address an entry points to: the next table, or the page a leaf maps. At `level` 2
 * or 3 with PSE set the low address bits are PAT and reserved bits, not address.
 */
export function entry_pa(e: bigint, level: Level = 1): Pa {
  const pa = e & PTE_PFN_MASK;
  if ((level === 2 || level === 3) && entry_huge(e)) {
    const low = (1n << BigInt(level === 2 ? 21 : 30)) - 1n;
    return Number(pa & ~low);
  }
  return Number(pa);
}

/**
 * `0x80000000001a3063 [P RW A D NX] -> 0x1a3000`. With a level, PSE is named PAT in a PTE and the
 * address of a large leaf is masked to its page size.
 */
export function formatEntry(e: bigint, level?: Level): string {
  const names: string[] = [];
  for (const f of PTE_FIELDS) {
    const v = (e & f.mask) >> BigInt(f.bit);
    if (v === 0n || f.name === 'PFN') continue;
    if (f.name === 'PSE' && level === 1) names.push('PAT');
    else names.push(f.width === 1 ? f.name : `${f.name}=${v}`);
  }
  const value = '0x' + BigInt.asUintN(64, e).toString(16).padStart(16, '0');
  return `${value} [${names.join(' ')}] -> ${hex(entry_pa(e, level))}`;
}
