/**
 * The kernel addresses the attacker knows about. Kernel threads publish an address when they map
 * something there (an attacker learns them through infoleaks, or just probes the vmalloc area), and
 * the device probes the published addresses after each publication — whenever the scheduler lets
 * it. Publishing and reading are steps on one object, so an explorer sees that a probe depends on
 * the mapping that published its target.
 */
import type { Va } from '../hw/address.ts';
import { step, type Blocker, type Execution, type ObjectId, type Sim } from '../sim/index.ts';

export class TargetBoard {
  private readonly targets: Va[] = [];
  /** Publications so far. */
  private generation = 0;
  readonly obj: ObjectId;

  constructor(exec: Execution) {
    this.obj = exec.objects.register('attacker target list');
  }

  *publish(va: Va): Sim {
    yield step('publish target', 'write', this.obj);
    if (!this.targets.includes(va)) this.targets.push(va);
    this.generation++;
  }

  /** Waits for a publication after `seen`; returns the targets and the generation reached. */
  *next(seen: number): Sim<{ targets: readonly Va[]; generation: number }> {
    const board = this;
    const newer: Blocker = { blocks: () => board.generation <= seen, describe: () => 'a new kernel address to probe' };
    yield step('wait for a target', 'read', this.obj, newer);
    return { targets: [...this.targets], generation: this.generation };
  }
}
