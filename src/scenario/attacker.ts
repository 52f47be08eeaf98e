/**
 * The SVA side every scenario has: a user process binds the device to its mm (so the device's
 * PASID walks a PGD whose kernel half is init_mm's), and the device — the attacker — probes the
 * kernel addresses it knows. Each probe faults at the supervisor-only leaf, but leaves the IOMMU's
 * paging-structure caches filled on the way down (reference §4.1); after a free, a probe walks
 * whatever the stale entries point to.
 */
import type { Va } from '../hw/address.ts';
import { iommu_sva_bind_device, iommu_sva_unbind_device } from '../kernel/iommu-sva.ts';
import type { Kernel } from '../kernel/kernel.ts';
import { handle_mm_fault, pgd_alloc } from '../kernel/mm.ts';
import type { Sim } from '../sim/index.ts';
import { Doorbell } from './doorbell.ts';
import { TargetBoard } from './targets.ts';

export interface AttackerOptions {
  /**
   * Spare probes: besides probing every known address after each publication, the device probes
   * this many more times, round robin, whenever the scheduler lets it.
   */
  readonly probes: number;
  /** Bind/unbind cycles of the process (1: bind once and stay bound). */
  readonly bindCycles?: number;
}

export interface Attacker {
  readonly targets: TargetBoard;
  /** Rung once the device is bound for the first time. */
  readonly bound: Doorbell;
}

const USER_BUFFER: Va = 0x7f0000000000n;

export function spawnAttacker(k: Kernel, options: AttackerOptions): Attacker {
  const targets = new TargetBoard(k.exec);
  const bound = new Doorbell(k.exec, 'bound');
  const dev = k.devices[0];
  const cycles = options.bindCycles ?? 1;
  const userCpu = k.cpus.length - 1;

  k.exec.spawn({ name: `cpu${userCpu}:attacker`, cpu: userCpu }, function* (): Sim {
    const mm = yield* pgd_alloc(k, 'attacker');
    if (mm === null) return;
    yield* handle_mm_fault(k, mm, USER_BUFFER);
    for (let c = 0; c < cycles; c++) {
      const handle = yield* iommu_sva_bind_device(k, dev, mm);
      if (c === 0) yield* bound.ring();
      if (c < cycles - 1) yield* iommu_sva_unbind_device(k, handle);
    }
  });

  // A daemon: waiting for a publication that never comes is quiescence, not a deadlock.
  k.exec.spawn({ name: `${dev.name}:probe`, cpu: -1, daemon: true }, function* (): Sim {
    yield* bound.wait();
    let seen = 0;
    let spare = options.probes;
    for (let i = 0; ; i++) {
      const next = yield* targets.next(seen, spare);
      if (next.fresh) {
        seen = next.generation;
        for (const va of next.targets) yield* dev.dma({ va, write: false });
      } else {
        spare--;
        yield* dev.dma({ va: next.targets[i % next.targets.length], write: false });
      }
    }
  });

  return { targets, bound };
}
