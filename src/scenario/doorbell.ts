/**
 * A doorbell: one party rings, the other waits until it has been rung. Scenarios use it to order
 * the steps of a workload (a user process ringing its device's MMIO doorbell, a device signalling
 * completion), never to order kernel internals: what happens between rings is up to the scheduler.
 */
import { step, type Blocker, type Execution, type ObjectId, type Sim } from '../sim/index.ts';

export class Doorbell implements Blocker {
  private rung = false;
  readonly obj: ObjectId;

  constructor(
    exec: Execution,
    readonly name: string,
  ) {
    this.obj = exec.objects.register(`doorbell ${name}`);
  }

  blocks(): boolean {
    return !this.rung;
  }

  describe(): string {
    return `doorbell ${this.name} to ring`;
  }

  *ring(): Sim {
    yield step(`ring ${this.name}`, 'write', this.obj);
    this.rung = true;
  }

  *wait(): Sim {
    yield step(`wait ${this.name}`, 'read', this.obj, this);
  }
}
