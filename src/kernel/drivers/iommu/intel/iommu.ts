/**
 * From drivers/iommu/intel/iommu.h: the capability-register accessors the invalidation path reads,
 * and qi_desc_iotlb(), which builds the legacy IOTLB invalidation descriptor.
 */
import type { IotlbDesc } from '../../../../hw/index.ts';
import type { Va } from '../../../../hw/address.ts';

export const cap_read_drain = (cap: bigint): boolean => ((cap >> 55n) & 1n) === 1n;
export const cap_write_drain = (cap: bigint): boolean => ((cap >> 54n) & 1n) === 1n;
export const cap_max_amask_val = (cap: bigint): number => Number((cap >> 48n) & 0x3fn);
export const cap_pgsel_inv = (cap: bigint): boolean => ((cap >> 39n) & 1n) === 1n;

/** DMA_TLB_DSI_FLUSH / DMA_TLB_PSI_FLUSH, as the descriptor's granularity. */
export type DmaTlbFlushType = 'domain' | 'page';

/**
 * qi_desc_iotlb(): the drain bits from the capabilities; IH travels in bit 0 of `addr` (the caller
 * passes `addr | ih`, as cache_tag_flush_iotlb() does).
 */
export function qi_desc_iotlb(cap: bigint, did: number, addr: Va, size_order: number, type: DmaTlbFlushType): IotlbDesc {
  return {
    type: 'iotlb',
    granularity: type,
    did,
    addr: addr & ~0xfffn,
    am: size_order,
    ih: (addr & 1n) === 1n ? 1 : 0,
    dr: cap_read_drain(cap),
    dw: cap_write_drain(cap),
  };
}
