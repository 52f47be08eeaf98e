/** The built-in designs, by name, in the order of their history. */
import type { Design } from './design.ts';
import { immediate, upstream_6_18_4 } from './immediate.ts';
import { seed } from './seed.ts';
import { upstream, upstream_6_19_0, upstream_6_19_y } from './upstream.ts';
import { UPSTREAM_LATER } from './upstream-later.ts';
import { v1 } from './v1.ts';
import { v2 } from './v2.ts';
import { v3 } from './v3.ts';

export { installer, DesignContractError, type Design } from './design.ts';

export const BUILTIN_DESIGNS: readonly Design[] = [immediate, v1, v2, v3, seed, upstream_6_18_4, upstream_6_19_0, upstream_6_19_y, ...UPSTREAM_LATER];

/**
 * Built-in designs under another name, which builtinDesign() also accepts: `upstream`, the name
 * results and replay tokens carry from before the version axis, is upstream@6.19.y (not listed
 * twice, so a study runs it once).
 */
export const BUILTIN_ALIASES: readonly { readonly design: Design; readonly of: string }[] = [{ design: upstream, of: upstream_6_19_y.name }];

export function builtinDesign(name: string): Design | undefined {
  return BUILTIN_DESIGNS.find((d) => d.name === name) ?? BUILTIN_ALIASES.find((a) => a.design.name === name)?.design;
}
