/**
 * GFP flags (include/linux/gfp_types.h, include/linux/gfp.h, include/asm-generic/pgalloc.h; v6.19),
 * at the kernel's bit positions, so `formatGfp` prints the same hex the kernel does
 * (`0xcc0(GFP_KERNEL)`).
 */
export type gfp_t = number;

export const __GFP_DMA = 0x1;
export const __GFP_HIGHMEM = 0x2;
export const __GFP_DMA32 = 0x4;
export const __GFP_MOVABLE = 0x8;
export const __GFP_RECLAIMABLE = 0x10;
export const __GFP_HIGH = 0x20;
export const __GFP_IO = 0x40;
export const __GFP_FS = 0x80;
export const __GFP_ZERO = 0x100;
export const __GFP_DIRECT_RECLAIM = 0x400;
export const __GFP_KSWAPD_RECLAIM = 0x800;
export const __GFP_WRITE = 0x1000;
export const __GFP_NOWARN = 0x2000;
export const __GFP_RETRY_MAYFAIL = 0x4000;
export const __GFP_NOFAIL = 0x8000;
export const __GFP_NORETRY = 0x10000;
export const __GFP_MEMALLOC = 0x20000;
export const __GFP_COMP = 0x40000;
export const __GFP_NOMEMALLOC = 0x80000;
export const __GFP_HARDWALL = 0x100000;
export const __GFP_THISNODE = 0x200000;
export const __GFP_ACCOUNT = 0x400000;

export const __GFP_RECLAIM = __GFP_DIRECT_RECLAIM | __GFP_KSWAPD_RECLAIM;

export const GFP_ATOMIC = __GFP_HIGH | __GFP_KSWAPD_RECLAIM;
export const GFP_KERNEL = __GFP_RECLAIM | __GFP_IO | __GFP_FS;
export const GFP_KERNEL_ACCOUNT = GFP_KERNEL | __GFP_ACCOUNT;
/** Since v6.17 GFP_NOWAIT includes __GFP_NOWARN. */
export const GFP_NOWAIT = __GFP_KSWAPD_RECLAIM | __GFP_NOWARN;
export const GFP_NOIO = __GFP_RECLAIM;
export const GFP_NOFS = __GFP_RECLAIM | __GFP_IO;
export const GFP_USER = __GFP_RECLAIM | __GFP_IO | __GFP_FS | __GFP_HARDWALL;
export const GFP_DMA32 = __GFP_DMA32;
export const GFP_HIGHUSER = GFP_USER | __GFP_HIGHMEM;
export const GFP_HIGHUSER_MOVABLE = GFP_HIGHUSER | __GFP_MOVABLE;

/** asm-generic/pgalloc.h: page tables are zeroed; user ones are charged to the memcg. */
export const GFP_PGTABLE_KERNEL = GFP_KERNEL | __GFP_ZERO;
export const GFP_PGTABLE_USER = GFP_PGTABLE_KERNEL | __GFP_ACCOUNT;

/** gfpflags_allow_blocking(): may the allocation sleep (direct reclaim)? */
export function gfpflags_allow_blocking(gfp: gfp_t): boolean {
  return (gfp & __GFP_DIRECT_RECLAIM) !== 0;
}

/** Composite names first, as %pGg prints them (include/trace/events/mmflags.h __def_gfpflag_names). */
const GFP_NAMES: ReadonlyArray<readonly [gfp_t, string]> = [
  [GFP_HIGHUSER_MOVABLE, 'GFP_HIGHUSER_MOVABLE'],
  [GFP_HIGHUSER, 'GFP_HIGHUSER'],
  [GFP_USER, 'GFP_USER'],
  [GFP_KERNEL_ACCOUNT, 'GFP_KERNEL_ACCOUNT'],
  [GFP_KERNEL, 'GFP_KERNEL'],
  [GFP_NOFS, 'GFP_NOFS'],
  [GFP_ATOMIC, 'GFP_ATOMIC'],
  [GFP_NOIO, 'GFP_NOIO'],
  [GFP_NOWAIT, 'GFP_NOWAIT'],
  [__GFP_DMA, 'GFP_DMA'],
  [__GFP_HIGHMEM, '__GFP_HIGHMEM'],
  [GFP_DMA32, 'GFP_DMA32'],
  [__GFP_HIGH, '__GFP_HIGH'],
  [__GFP_IO, '__GFP_IO'],
  [__GFP_FS, '__GFP_FS'],
  [__GFP_NOWARN, '__GFP_NOWARN'],
  [__GFP_RETRY_MAYFAIL, '__GFP_RETRY_MAYFAIL'],
  [__GFP_NOFAIL, '__GFP_NOFAIL'],
  [__GFP_NORETRY, '__GFP_NORETRY'],
  [__GFP_COMP, '__GFP_COMP'],
  [__GFP_ZERO, '__GFP_ZERO'],
  [__GFP_NOMEMALLOC, '__GFP_NOMEMALLOC'],
  [__GFP_MEMALLOC, '__GFP_MEMALLOC'],
  [__GFP_HARDWALL, '__GFP_HARDWALL'],
  [__GFP_THISNODE, '__GFP_THISNODE'],
  [__GFP_RECLAIMABLE, '__GFP_RECLAIMABLE'],
  [__GFP_MOVABLE, '__GFP_MOVABLE'],
  [__GFP_ACCOUNT, '__GFP_ACCOUNT'],
  [__GFP_WRITE, '__GFP_WRITE'],
  [__GFP_RECLAIM, '__GFP_RECLAIM'],
  [__GFP_DIRECT_RECLAIM, '__GFP_DIRECT_RECLAIM'],
  [__GFP_KSWAPD_RECLAIM, '__GFP_KSWAPD_RECLAIM'],
];

/** `0xdc0(GFP_KERNEL|__GFP_ZERO)`, as the kernel's %pGg prints a gfp mask. */
export function formatGfp(gfp: gfp_t): string {
  const names: string[] = [];
  let rest = gfp;
  for (const [mask, name] of GFP_NAMES) {
    if (rest !== 0 && (rest & mask) === mask) {
      names.push(name);
      rest &= ~mask;
    }
  }
  if (rest !== 0) names.push('0x' + rest.toString(16));
  return `0x${gfp.toString(16)}(${names.length > 0 ? names.join('|') : 'none'})`;
}
