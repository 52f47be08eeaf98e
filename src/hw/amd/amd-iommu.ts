/**
 * The AMD-Vi front end over the IOMMU core (iommu.ts: walker, caches, invalidation processing and
 * the wait's drain are shared with VT-d): the device table and per-device GCR3 tables that say
 * where a (DeviceID, PASID) request walks from, and the command buffer (commands.ts).
 *
 * A device attached to a PASID-capable domain has a DTE with GV = 1 (guest translation valid),
 * GLX (GCR3 table levels), GIOV and its GCR3 table's DomainID (drivers/iommu/amd/iommu.c
 * set_dte_gcr3_table(); amd_iommu_types.h DTE_FLAG_GV bit 55, DTE_GLX 57:56, DTE_FLAG_GIOV bit 54).
 * The GCR3 entry of a PASID is `(pgd & PAGE_MASK) | GCR3_VALID` (update_gcr3()): the process's
 * x86-64 page table, kernel half included, walked like a CPU would (AMD spec 48882, "I/O Page
 * Tables for Guest Translations"). [modelling choice] Both are records, not frames in simulated
 * memory (as the VT-d PASID table): the oracles watch page-table frames, not these.
 *
 * Commands take effect when submitted, in order, one step each (as VT-d descriptors in the core);
 * COMPLETION_WAIT is the core's invalidation wait, so it completes only after requests in flight
 * drain.
 */
import { ModelInvariantError, type Sim } from '../../sim/index.ts';
import { hex } from '../address.ts';
import type { Iommu, IommuRootTable, PasidEntry } from '../iommu.ts';
import { formatAmdCommand, type AmdCommand } from './commands.ts';

export const GCR3_VALID = 1n;

/** The SVA-relevant fields of a device table entry. */
export interface DeviceTableEntry {
  readonly domid: number;
  /** GV: guest translation through the GCR3 table is valid. */
  readonly gv: boolean;
  /** GLX: GCR3 table levels minus one, 9 PASID bits each. */
  readonly glx: 0 | 1 | 2;
  readonly giov: boolean;
  /** Guest page-table levels (DTE GPT_LEVEL). */
  readonly gptLevels: 4 | 5;
}

export class AmdIommu implements IommuRootTable {
  private readonly devTable = new Map<number, DeviceTableEntry>();
  private readonly gcr3Tables = new Map<number, Map<number, bigint>>();

  constructor(readonly core: Iommu) {
    core.rootTable = this;
  }

  /** The front end a kernel's IOMMU has (the AMD driver's get_amd_iommu_from_dev()). */
  static of(core: Iommu): AmdIommu {
    if (!(core.rootTable instanceof AmdIommu)) throw new ModelInvariantError(`AMD IOMMU driver on a ${core.kind} IOMMU`);
    return core.rootTable;
  }

  setDte(devid: number, dte: DeviceTableEntry | null): void {
    if (dte === null) {
      this.devTable.delete(devid);
      this.gcr3Tables.delete(devid);
      return;
    }
    if (dte.gptLevels !== this.core.config.levels) throw new ModelInvariantError(`DTE of ${hex(devid)}: ${dte.gptLevels}-level guest tables on a ${this.core.config.levels}-level walker`);
    this.devTable.set(devid, dte);
    if (!this.gcr3Tables.has(devid)) this.gcr3Tables.set(devid, new Map());
  }

  dte(devid: number): DeviceTableEntry | null {
    return this.devTable.get(devid) ?? null;
  }

  /** Writes a GCR3 entry (0: cleared). Cached translations stay until invalidated. */
  setGcr3(devid: number, pasid: number, entry: bigint): void {
    const dte = this.devTable.get(devid);
    const table = this.gcr3Tables.get(devid);
    if (dte === undefined || table === undefined) throw new ModelInvariantError(`GCR3 entry for device ${hex(devid)} with no device table entry`);
    if (pasid >= 512 ** (dte.glx + 1)) throw new ModelInvariantError(`PASID ${hex(pasid)} beyond device ${hex(devid)}'s ${dte.glx + 1}-level GCR3 table`);
    if (entry === 0n) table.delete(pasid);
    else table.set(pasid, entry);
    this.core.rootEntrySet(pasid, this.lookup(devid, pasid));
  }

  lookup(sid: number | undefined, pasid: number): PasidEntry | null {
    if (sid === undefined) return null;
    const dte = this.devTable.get(sid);
    if (dte === undefined || !dte.gv) return null;
    const entry = this.gcr3Tables.get(sid)?.get(pasid) ?? 0n;
    if ((entry & GCR3_VALID) === 0n) return null;
    return { pgd: Number(entry & ~0xfffn), domainId: dte.domid };
  }

  /** The IOMMU consumes commands from its buffer, in order. */
  *process(cmds: readonly AmdCommand[]): Sim {
    const exec = this.core.exec;
    for (const c of cmds) {
      if (c.type === 'amd-completion-wait') {
        if (exec.tracing) exec.log('iotlb', formatAmdCommand(c));
        yield* this.core.qi_submit([{ type: 'wait', statusAddr: c.storeAddr }]);
      } else {
        yield* this.core.qi_submit([c]);
      }
    }
  }
}
