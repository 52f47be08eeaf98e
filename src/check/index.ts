/**
 * The oracles: observers of the kernel's and the IOMMU's event streams that report violations of
 * the fixed vocabulary (DESIGN.md "Violation kinds"). They never change the model.
 */
import { ModelInvariantError } from '../sim/index.ts';
import type { Kernel } from '../kernel/kernel.ts';
import { IommuUseAfterFree } from './iommu-uaf.ts';
import { IommuWalkTracker } from './iommu-walk.ts';
import { IommuWriteAfterFree } from './iommu-waf.ts';
import { PgtableShadow } from './pgtable-shadow.ts';

export * from './pgtable-shadow.ts';
export * from './iommu-walk.ts';
export * from './iommu-report.ts';
export * from './iommu-uaf.ts';
export * from './iommu-waf.ts';

export interface Oracles {
  readonly shadow: PgtableShadow;
  readonly walks: IommuWalkTracker;
  readonly iommuUseAfterFree: IommuUseAfterFree;
  readonly iommuWriteAfterFree: IommuWriteAfterFree;
}

/**
 * Subscribes the oracles to a freshly booted kernel. Call it right after boot(), before any thread
 * has run: the shadow scans the boot page tables then and learns every later table from the
 * kernel's events. The walk tracker is subscribed before the oracles that read it.
 */
export function attachOracles(k: Kernel): Oracles {
  if (k.exec.stepCount !== 0) {
    throw new ModelInvariantError(`attachOracles at step ${k.exec.stepCount}: the oracles must be attached before any thread runs`);
  }
  const shadow = new PgtableShadow(k);
  const walks = new IommuWalkTracker(k, shadow);
  const iommuUseAfterFree = new IommuUseAfterFree(k, shadow, walks);
  const iommuWriteAfterFree = new IommuWriteAfterFree(k, shadow, walks);
  k.observers.push(shadow);
  k.iommu.observers.push(walks, iommuUseAfterFree, iommuWriteAfterFree);
  return { shadow, walks, iommuUseAfterFree, iommuWriteAfterFree };
}
