/**
 * A design built on the deferred-free machinery, kept as its parts and its producers so that a
 * variant replaces a part and keeps the rest: `variant(upstreamSpec, { name, summary, ih: 1 })` is
 * v6.19 with IH = 1 and nothing else changed. What `deferredDesign` returns is a plain `Design`, the
 * shape `--design` loads.
 */
import type { KernelHooks } from '../../kernel/model/hooks.ts';
import type { Kernel } from '../../kernel/model/kernel.ts';
import type { Design } from '../design.ts';
import { deferredFree, type DeferredFree, type DeferredFreeParts } from './deferred-free.ts';

export interface DeferredDesignSpec extends Omit<Design, 'install'> {
  readonly parts: DeferredFreeParts;
  /** The producers: the hooks, over the machinery install() built from `parts`. */
  hooks(k: Kernel, deferred: DeferredFree): Partial<KernelHooks>;
}

export function deferredDesign(spec: DeferredDesignSpec): Design {
  const { name, summary, source, overrides, kernel } = spec;
  return { name, summary, source, overrides, ...(kernel === undefined ? {} : { kernel }), install: (k) => spec.hooks(k, deferredFree(k, spec.parts)) };
}

/** What a variant says of itself, and the parts it replaces. */
export type VariantChanges = { readonly name: string; readonly summary: string; readonly source?: string } & Partial<DeferredFreeParts>;

/** `base` with the given parts replaced; its producers and its kernel release are base's. */
export function variant(base: DeferredDesignSpec, changes: VariantChanges): Design {
  const { name, summary, source = `a variant of ${base.name} (${base.source})`, ...parts } = changes;
  return deferredDesign({ name, summary, source, overrides: base.overrides, kernel: base.kernel, parts: { ...base.parts, ...parts }, hooks: base.hooks });
}
