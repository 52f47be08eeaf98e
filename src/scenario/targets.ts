/**
 * The kernel addresses the attacker knows about. Kernel threads publish an address when they map
 * (or remap) something there — an attacker learns them through infoleaks, or just probes the
 * vmalloc area. Publishing and reading are steps on one object, so an explorer sees that a probe
 * depends on the mapping that published its target.
 */
import type { Va } from '../hw/address.ts';
import { step, type Blocker, type Execution, type ObjectId, type Sim } from '../sim/index.ts';

export interface NextTargets {
  /** Every address known, each once, in order of first publication. */
  readonly targets: readonly Va[];
  /** The publications after `seen`, in order (an address published twice is there twice). */
  readonly published: readonly Va[];
  readonly generation: number;
  readonly fresh: boolean;
}

export class TargetBoard {
  private readonly targets: Va[] = [];
  /** Every publication so far: its length is the generation. */
  private readonly log: Va[] = [];
  readonly obj: ObjectId;

  constructor(exec: Execution) {
    this.obj = exec.objects.register('attacker target list');
  }

  /** Publications so far. */
  get generation(): number {
    return this.log.length;
  }

  /** Distinct addresses known. */
  get known(): number {
    return this.targets.length;
  }

  *publish(va: Va): Sim {
    yield step('publish target', 'write', this.obj);
    if (!this.targets.includes(va)) this.targets.push(va);
    this.log.push(va);
  }

  /**
   * Waits until there is something to probe: a publication after `seen`, or — while `spare` probes
   * remain — any known target. Returns the targets, the generation reached and whether it was new.
   */
  *next(seen: number, spare: number): Sim<NextTargets> {
    const ready: Blocker = {
      blocks: () => !(this.generation > seen || (spare > 0 && this.targets.length > 0)),
      describe: () => 'a kernel address to probe',
    };
    yield step('wait for a target', 'read', this.obj, ready);
    return { targets: [...this.targets], published: this.log.slice(seen), generation: this.generation, fresh: this.generation > seen };
  }
}
