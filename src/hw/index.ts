/** The machine: physical memory, x86-64 paging and walker, CPU caches, the VT-d IOMMU and SVA devices. */
export * from './address.ts';
export * from './phys-mem.ts';
export * from './pte.ts';
export * from './tagged-lru.ts';
export * from './walker.ts';
export * from './cpu.ts';
export * from './invalidation.ts';
export * from './amd/commands.ts';
export * from './amd/amd-iommu.ts';
export * from './iommu-caches.ts';
export * from './iommu.ts';
export * from './sva-device.ts';
