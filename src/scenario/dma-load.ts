/**
 * Steady DMA: what an SVA device does while the kernel goes about its business. A user process
 * faults in a buffer and binds the device to its mm (iommu_sva_bind_device); the device then reads
 * and writes that buffer through the IOMMU, page after page, round robin, for as long as the
 * workload's kernel threads run. Its IOTLB entries for the buffer are what an over-broad
 * invalidation throws away (a PASID-selective flush drops them all, a page-selective flush of the
 * kernel range keeps them), so IOTLB hit rates and invalidation costs show in a timed run.
 *
 * Probing: the buffer DMA alone never walks the kernel half, so it could never reach a freed
 * kernel page-table page. With `probe` options the device is also the attacker of the small
 * scenarios (attacker.ts): the workload publishes the kernel addresses it maps (publish), and the
 * device probes each publication before its next buffer DMA, plus `probes` spare probes of the
 * known addresses, which take the place of every other buffer DMA while they last (so they spread
 * over the run's first ticks instead of all landing at one point). Each probe faults at the
 * supervisor-only leaf and fills the IOMMU's paging-structure caches on the way down (docs/kernel/iommu.md,
 * Why kernel tables are cached). Without `probe` nothing is published or probed, and the run is the buffer DMA alone.
 *
 * Pace [modelling choice]: the model has no clock of its own, so the device runs on credit. Each
 * step of progress a workload thread reports (tick) lets the device issue `dmasPerTick` more
 * DMAs; the device waits while it has none, and stops once every workload thread is done (credit
 * left over is dropped). Under any scheduler the device therefore issues at most
 * dmasPerTick × ticks DMAs (spare probes included) and ends with the workload — no thread spinning
 * forever, which an exploring scheduler could pick without end. Probes of publications need no
 * credit (there are as many as publications); the device still makes them after the workload's
 * last thread returns, so the last publication is probed too. Under the timed scheduler, with
 * credit to spare, the device is held back only by its own DMA time: a steady rate in simulated
 * time.
 */
import { PAGE_SIZE, type Va } from '../hw/address.ts';
import { iommu_sva_bind_device } from '../kernel/drivers/iommu/iommu-sva.ts';
import type { Kernel } from '../kernel/model/kernel.ts';
import { handle_mm_fault, pgd_alloc } from '../kernel/kernel/fork.ts';
import { step, type Blocker, type ObjectId, type Sim } from '../sim/index.ts';
import { KernelProbe, type ProbeOptions } from './attacker.ts';
import { TargetBoard } from './targets.ts';

export interface SteadyDmaOptions {
  /** Pages of the process's buffer the device cycles through. */
  readonly bufferPages: number;
  /** DMAs the device may issue per tick of progress the workload reports. */
  readonly dmasPerTick: number;
  /** Probe the kernel addresses the workload publishes (publish), plus `probes` spare probes; omitted: no probing. */
  readonly probe?: Pick<ProbeOptions, 'probes'>;
}

/** Where the bound process's buffer lives (a user address, below the kernel half). */
export const DMA_BUFFER: Va = 0x7f0000000000n;

export class SteadyDma {
  /** The device's work queue: credit, the bound flag and the running-thread count. */
  readonly obj: ObjectId;
  /** DMAs issued, and how many of them faulted (none should once bound: the buffer stays mapped). */
  readonly stats = { dmas: 0, faults: 0 };
  /** The device's probing of published kernel addresses; null without the `probe` option. */
  readonly probe: KernelProbe | null;
  /** The process has bound the device (or given up trying). */
  private bound = false;
  private credit = 0;
  /** Workload threads spawned and not finished. */
  private running = 0;

  private constructor(
    private readonly k: Kernel,
    private readonly options: SteadyDmaOptions,
  ) {
    this.obj = k.exec.objects.register('sva device work queue');
    this.probe = options.probe === undefined ? null : new KernelProbe(k.devices[0], new TargetBoard(k.exec), { probes: options.probe.probes, onPublish: 'published' });
  }

  /**
   * Spawns the user process (on the last CPU) that fills and binds the buffer, and the device's DMA
   * engine. Spawn the workload's threads with `spawnWorker` so the device knows when they are done.
   */
  static spawn(k: Kernel, options: SteadyDmaOptions): SteadyDma {
    const load = new SteadyDma(k, options);
    const dev = k.devices[0];
    const userCpu = k.cpus.length - 1;
    /** The process: its buffer faulted in, then bound; false if it ran out of memory first. */
    const setUp = function* (): Sim<boolean> {
      const mm = yield* pgd_alloc(k, 'sva-user');
      if (mm === null) return false;
      for (let i = 0; i < options.bufferPages; i++) {
        if ((yield* handle_mm_fault(k, mm, DMA_BUFFER + BigInt(i * PAGE_SIZE))) === null) return false;
      }
      yield* iommu_sva_bind_device(k, dev, mm);
      return true;
    };
    k.exec.spawn({ name: `cpu${userCpu}:sva-user`, cpu: userCpu }, function* (): Sim {
      // Out of memory, the process gives up without binding: the workload still runs and the
      // device's DMAs fault (no PASID), rather than every thread waiting for a bind that never comes.
      yield* setUp();
      yield step('start sva device', 'write', load.obj);
      load.bound = true;
    });

    const probe = load.probe;
    const ready: Blocker = {
      blocks: () => !load.bound || (load.credit === 0 && load.running > 0 && !(probe?.fresh ?? false)),
      describe: () => (load.bound ? 'DMA credit from the workload or a kernel address to probe' : 'the process to bind the device'),
    };
    // A daemon only so that a workload thread killed by an oops leaves it blocked, not deadlocked.
    k.exec.spawn({ name: `${dev.name}:dma`, cpu: -1, daemon: true }, function* (): Sim {
      for (let credited = 0; ; ) {
        yield step('sva device next descriptor', 'write', load.obj, ready);
        if (probe?.fresh === true) {
          yield* probe.probe();
          continue;
        }
        if (load.credit === 0) return;
        load.credit--;
        if (probe !== null && probe.spareDue && credited++ % 2 === 0) {
          yield* probe.probe();
          continue;
        }
        const i = load.stats.dmas++;
        const va = DMA_BUFFER + BigInt((i % options.bufferPages) * PAGE_SIZE);
        const r = yield* dev.dma({ va, write: i % 2 === 1 });
        if (!r.ok) load.stats.faults++;
      }
    });
    return load;
  }

  /** A workload thread: starts once the device is bound (so the DMA covers all of it), counted until it returns. */
  spawnWorker(name: string, cpu: number, body: () => Sim): void {
    const load = this;
    this.running++;
    const bound: Blocker = { blocks: () => !load.bound, describe: () => 'the process to bind the device' };
    this.k.exec.spawn({ name, cpu }, function* (): Sim {
      yield step('wait for sva device', 'read', load.obj, bound);
      yield* body();
      yield step('workload thread done', 'write', load.obj);
      load.running--;
    });
  }

  /**
   * The workload mapped something at kernel address `va`: the device will probe it (TargetBoard).
   * Without probing, nothing happens — not even a step.
   */
  *publish(va: Va): Sim {
    if (this.probe !== null) yield* this.probe.targets.publish(va);
  }

  /** The workload made progress (an operation started or ended): the device may issue dmasPerTick more DMAs. */
  *tick(): Sim {
    yield step('sva device credit', 'write', this.obj);
    this.credit += this.options.dmasPerTick;
  }
}
