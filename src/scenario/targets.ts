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
  readonly obj: ObjectId;

  constructor(exec: Execution) {
    this.obj = exec.objects.register('attacker target list');
  }

  *publish(va: Va): Sim {
    yield step('publish target', 'write', this.obj);
    if (!this.targets.includes(va)) this.targets.push(va);
  }

  /** Target `i` (round robin over the known ones), waiting for the first publication. */
  *pick(i: number): Sim<Va> {
    yield step('pick target', 'read', this.obj, this.anyTarget);
    return this.targets[i % this.targets.length];
  }

  private readonly anyTarget: Blocker = { blocks: () => this.targets.length === 0, describe: () => 'a kernel address to probe' };
}
