/** The built-in designs, by name, in the order of their history. */
import type { Design } from './design.ts';
import { immediate } from './immediate.ts';
import { seed } from './seed.ts';
import { upstream } from './upstream.ts';
import { v1 } from './v1.ts';
import { v2 } from './v2.ts';
import { v3 } from './v3.ts';

export { installer, DesignContractError, type Design } from './design.ts';

export const BUILTIN_DESIGNS: readonly Design[] = [immediate, v1, v2, v3, seed, upstream];

export function builtinDesign(name: string): Design | undefined {
  return BUILTIN_DESIGNS.find((d) => d.name === name);
}
