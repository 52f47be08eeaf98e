/**
 * The contract of a deferred-free design (docs/architecture.md, Designs and hooks): who it is, where it
 * comes from, and which kernel hooks it overrides. `install` runs once per execution on the freshly
 * booted kernel: it builds the design's own state (its list, lock and work item — never module-level
 * state) and returns the overriding hooks, which boot() merges over the generic (v6.18) ones.
 */
import type { HookName, KernelHooks } from '../kernel/model/hooks.ts';
import type { Kernel } from '../kernel/model/kernel.ts';
import type { KernelRelease } from '../kernel/model/release.ts';

export interface Design {
  /** A short identifier: `seed`, `upstream`, or a user design's own. */
  readonly name: string;
  /** One line: what the design does. */
  readonly summary: string;
  /** Where it comes from: an email, a patch version, a commit. */
  readonly source: string;
  /** The kernel release it describes (src/kernel/model/release.ts); default DEFAULT_RELEASE. */
  readonly kernel?: KernelRelease;
  /** The hooks `install` returns, so `kptsim designs` can list them without booting. */
  readonly overrides: readonly HookName[];
  install(k: Kernel): Partial<KernelHooks>;
}

/** Thrown when a design's install() does not return exactly the hooks it declares. */
export class DesignContractError extends Error {
  override readonly name = 'DesignContractError';
}

/** boot()'s `install` for a design, checking that it returns exactly the hooks it declares. */
export function installer(design: Design): (k: Kernel) => Partial<KernelHooks> {
  return (k) => {
    const hooks = design.install(k);
    const returned = Object.keys(hooks).sort();
    const declared = [...design.overrides].sort();
    if (returned.join(',') !== declared.join(',')) {
      throw new DesignContractError(
        `design '${design.name}': install() returned hooks [${returned.join(', ')}] but overrides declares [${declared.join(', ')}]`,
      );
    }
    return hooks;
  };
}
