/**
 * The SVA side every small scenario has: a user process binds the device to its mm (so the
 * device's PASID walks a PGD whose kernel half is init_mm's), and the device — the attacker —
 * probes the kernel addresses it knows. Each probe faults at the supervisor-only leaf, but leaves
 * the IOMMU's paging-structure caches filled on the way down (docs/kernel/iommu.md, Why kernel tables are cached); after a
 * free, a
 * probe walks whatever the stale entries point to. The probing itself (KernelProbe) is shared
 * with the steady-DMA device of the realistic workloads (dma-load.ts).
 */
import type { Va } from '../hw/address.ts';
import type { SvaDevice } from '../hw/sva-device.ts';
import { IS_ERR, iommu_sva_bind_device, iommu_sva_unbind_device } from '../kernel/drivers/iommu/iommu-sva.ts';
import type { Kernel } from '../kernel/model/kernel.ts';
import { handle_mm_fault, pgd_alloc } from '../kernel/kernel/fork.ts';
import type { Sim } from '../sim/index.ts';
import { Doorbell } from './doorbell.ts';
import { TargetBoard } from './targets.ts';

export interface ProbeOptions {
  /**
   * Spare probes: besides probing after each publication, the device probes this many more times,
   * round robin over the known addresses.
   */
  readonly probes: number;
  /**
   * What a publication makes the device probe: every address known so far ('all-known', the small
   * scenarios: a handful of addresses), or only the addresses published since its last probe
   * ('published', the realistic workloads: hundreds of publications, and probing them all each
   * time would make the run quadratic).
   */
  readonly onPublish: 'all-known' | 'published';
}

/** A device's probing of the kernel addresses on a TargetBoard: one probe() per turn. */
export class KernelProbe {
  /** The generation last probed. */
  private seen = 0;
  private spare: number;
  private turn = 0;
  /** Probe DMAs issued (each one expected to fault). */
  probed = 0;

  constructor(
    private readonly dev: SvaDevice,
    readonly targets: TargetBoard,
    private readonly options: ProbeOptions,
  ) {
    this.spare = options.probes;
  }

  /** A publication not yet probed. */
  get fresh(): boolean {
    return this.targets.generation > this.seen;
  }

  /** A spare probe left and an address to spend it on. */
  get spareDue(): boolean {
    return this.spare > 0 && this.targets.known > 0;
  }

  /**
   * Waits for something to probe (TargetBoard.next), then probes it: the publications since the
   * last turn if there are any, otherwise one spare probe of the next known address.
   */
  *probe(): Sim {
    const next = yield* this.targets.next(this.seen, this.spare);
    const turn = this.turn++;
    if (next.fresh) {
      this.seen = next.generation;
      for (const va of this.options.onPublish === 'all-known' ? next.targets : next.published) yield* this.read(va);
    } else {
      this.spare--;
      yield* this.read(next.targets[turn % next.targets.length]);
    }
  }

  private *read(va: Va): Sim {
    this.probed++;
    yield* this.dev.dma({ va, write: false });
  }
}

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
  /** Rung once the device is bound for the first time (or the bind was refused: the workload goes on without SVA). */
  readonly bound: Doorbell;
}

const USER_BUFFER: Va = 0x7f0000000000n;

export function spawnAttacker(k: Kernel, options: AttackerOptions): Attacker {
  const targets = new TargetBoard(k.exec);
  const bound = new Doorbell(k.exec, 'bound');
  const dev = k.devices[0];
  const cycles = options.bindCycles ?? 1;
  const userCpu = k.cpus.length - 1;
  let refused = false;

  k.exec.spawn({ name: `cpu${userCpu}:attacker`, cpu: userCpu }, function* (): Sim {
    const mm = yield* pgd_alloc(k, 'attacker');
    if (mm === null) return;
    yield* handle_mm_fault(k, mm, USER_BUFFER);
    for (let c = 0; c < cycles; c++) {
      const handle = yield* iommu_sva_bind_device(k, dev, mm);
      // Bind refused (SVA disabled on x86): the device never gets a PASID, so it never probes; the
      // workload's kernel paths run all the same.
      if (IS_ERR(handle)) {
        refused = true;
        yield* bound.ring();
        return;
      }
      if (c === 0) yield* bound.ring();
      if (c < cycles - 1) yield* iommu_sva_unbind_device(k, handle);
    }
  });

  // A daemon: waiting for a publication that never comes is quiescence, not a deadlock.
  const probe = new KernelProbe(dev, targets, { probes: options.probes, onPublish: 'all-known' });
  k.exec.spawn({ name: `${dev.name}:probe`, cpu: -1, daemon: true }, function* (): Sim {
    yield* bound.wait();
    if (refused) return;
    for (;;) yield* probe.probe();
  });

  return { targets, bound };
}
