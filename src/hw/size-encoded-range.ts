/**
 * The address-with-size encoding of PCIe ATS invalidation requests, which VT-d's device-TLB
 * descriptor (S bit 11) and AMD-Vi's INVALIDATE_IOMMU_PAGES / INVALIDATE_IOTLB_PAGES (S bit 0)
 * both carry: with S set, the address bits below the lowest clear bit at or above bit 12 are all
 * ones, and that clear bit at position b says the range is 2^(b+1) bytes, naturally aligned.
 * All ones up to bit 62 (AMD's CMD_INV_IOMMU_ALL_PAGES_ADDRESS) is the whole 2^64.
 */
import type { Va } from './address.ts';

/** The naturally aligned byte range [addr, addr + size) an S=1 address encodes (size may be 2^64). */
export function sizeEncodedRange(encoded: bigint): { readonly addr: Va; readonly size: bigint } {
  let bit = 12n;
  while (bit < 64n && ((encoded >> bit) & 1n) === 1n) bit++;
  const size = 1n << (bit + 1n);
  return { addr: BigInt.asUintN(64, encoded & ~0xfffn & ~(size - 1n)), size };
}
