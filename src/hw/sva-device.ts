/**
 * A PCIe device doing SVA DMA through the IOMMU with a PASID (the kernel's iommu_sva_bind_device()
 * sets `pasid`). An attacker is nothing more than a DMA program: reads of kernel addresses fault at
 * the leaf but leave the kernel half's upper entries in the IOMMU's paging-structure caches.
 *
 * With a device TLB (ATS, devtlbEntries > 0) the device first looks there; on a miss it sends a
 * translation request (Iommu.translate with `ats`) and caches a successful answer. A device-TLB
 * invalidation arriving while such a request is in flight wins: the answer is not cached (as an
 * ATS invalidation completion covers requests in flight, PCIe ATS §10.3) [modelling choice].
 *
 * Every DMA is one IOMMU request from issue to the memory access, so an invalidation wait
 * processed meanwhile completes only after the access: the drain of VT-d §6.5.2.8.
 */
import { ModelInvariantError, step, type ObjectId, type Sim } from '../sim/index.ts';
import { PAGE_SIZE, hex, type Level, type Pa, type Va } from './address.ts';
import type { DevtlbTarget, Iommu, IommuFaultReason } from './iommu.ts';
import type { PhysMem } from './phys-mem.ts';
import { TaggedLru } from './tagged-lru.ts';
import { PAGES_PER_ENTRY, vpnOfVa } from './walker.ts';

export interface DmaOp {
  readonly va: Va;
  readonly write: boolean;
  /** Bytes to write, or how many to read (default 8); the access must stay within one 4 KiB page. */
  readonly bytes?: Uint8Array | number;
}

export type DmaResult =
  | { readonly ok: true; readonly pa: Pa; readonly data: Uint8Array; readonly fromDevtlb: boolean }
  /** `bad-address`: the translation points outside memory (an Unsupported Request on the bus). */
  | { readonly ok: false; readonly reason: IommuFaultReason | 'bad-address'; readonly level: number };

interface DevtlbEntry {
  readonly base: Pa;
  readonly level: Level;
  /** The translation granted write access (requests that only read get a read-only entry). */
  readonly writable: boolean;
}

export interface SvaDeviceStats {
  dmas: number;
  devtlbHits: number;
  devtlbMisses: number;
  faults: number;
  devtlbInvalidations: number;
}

const DEFAULT_DMA_BYTES = 8;

export class SvaDevice implements DevtlbTarget {
  /** The PASID the kernel bound this device to; null when unbound. */
  pasid: number | null = null;
  readonly devtlbObj: ObjectId;
  readonly stats: SvaDeviceStats = { dmas: 0, devtlbHits: 0, devtlbMisses: 0, faults: 0, devtlbInvalidations: 0 };
  /** Tag = pasid * 4 + (leaf level - 1); key = vpn / pages per leaf. */
  private readonly devtlb: TaggedLru<DevtlbEntry>;
  /** Bumped by every device-TLB invalidation. */
  private invalidationGen = 0;

  constructor(
    readonly name: string,
    readonly sid: number,
    readonly iommu: Iommu,
    readonly mem: PhysMem,
    devtlbEntries: number,
  ) {
    this.devtlbObj = iommu.exec.objects.register(`${name} devtlb`);
    this.devtlb = new TaggedLru(devtlbEntries);
    iommu.attachDevice(sid, this);
  }

  get hasDevtlb(): boolean {
    return this.devtlb.capacity > 0;
  }

  *dma(op: DmaOp): Sim<DmaResult> {
    this.stats.dmas++;
    const pasid = this.pasid;
    const len = op.bytes === undefined ? DEFAULT_DMA_BYTES : typeof op.bytes === 'number' ? op.bytes : op.bytes.length;
    const pageOffset = Number(BigInt.asUintN(64, op.va) & 0xfffn);
    if (len <= 0 || pageOffset + len > PAGE_SIZE) throw new ModelInvariantError(`${this.name}: DMA of ${len} bytes at ${hex(op.va)} crosses a page`);
    if (pasid === null) return this.failed(op, 'no-pasid', 0);

    const iommu = this.iommu;
    const request = iommu.beginRequest();
    let pa: Pa | null;
    let fromDevtlb = false;
    if (this.hasDevtlb) {
      yield step('ats_devtlb_lookup', 'write', this.devtlbObj);
      const gen = this.invalidationGen;
      pa = this.lookupDevtlb(pasid, op);
      if (pa === null) {
        this.stats.devtlbMisses++;
        const t = yield* iommu.translate(pasid, op.va, { write: op.write, ats: true, sid: this.sid }, request);
        if (!t.ok) {
          iommu.endRequest(request);
          return this.failed(op, t.reason, t.level);
        }
        yield step('ats_devtlb_fill', 'write', this.devtlbObj);
        if (this.invalidationGen === gen) {
          const pages = PAGES_PER_ENTRY[t.pageLevel];
          this.devtlb.set(pasid * 4 + t.pageLevel - 1, Math.floor(vpnOfVa(op.va) / pages), {
            base: t.pa - (t.pa % (pages * PAGE_SIZE)),
            level: t.pageLevel,
            writable: op.write && t.writable,
          });
        }
        pa = t.pa;
      } else {
        this.stats.devtlbHits++;
        fromDevtlb = true;
      }
    } else {
      const t = yield* iommu.translate(pasid, op.va, { write: op.write, sid: this.sid }, request);
      if (!t.ok) {
        iommu.endRequest(request);
        return this.failed(op, t.reason, t.level);
      }
      pa = t.pa;
    }
    if (!this.mem.contains(pa) || !this.mem.contains(pa + len - 1)) {
      iommu.endRequest(request);
      return this.failed(op, 'bad-address', 0);
    }
    yield step(op.write ? 'dma_write' : 'dma_read', op.write ? 'write' : 'read', Math.floor(pa / PAGE_SIZE));
    let data: Uint8Array;
    if (op.write) {
      data = op.bytes instanceof Uint8Array ? op.bytes : new Uint8Array(len);
      this.mem.writeBytes(pa, data);
    } else {
      data = this.mem.readBytes(pa, len);
    }
    iommu.endRequest(request);
    if (iommu.exec.tracing) iommu.exec.log('dma', `${this.name} pasid ${hex(pasid)} ${op.write ? 'write' : 'read'} ${len} bytes at ${hex(op.va)} (pa ${hex(pa)})`);
    return { ok: true, pa, data, fromDevtlb };
  }

  /** Drops this PASID's device-TLB entries overlapping [addr, addr + size). */
  invalidateDevtlb(pasid: number, addr: Va, size: Va): void {
    this.stats.devtlbInvalidations++;
    this.invalidationGen++;
    const first = BigInt.asUintN(64, addr) >> 12n;
    const end = first + (size >> 12n);
    this.devtlb.deleteWhere((tag, key, e) => {
      if (Math.floor(tag / 4) !== pasid) return false;
      const pages = BigInt(PAGES_PER_ENTRY[e.level]);
      const start = BigInt(key) * pages;
      return start < end && start + pages > first;
    });
  }

  private lookupDevtlb(pasid: number, op: DmaOp): Pa | null {
    const vpn = vpnOfVa(op.va);
    for (let level = 1; level <= 3; level++) {
      const pages = PAGES_PER_ENTRY[level];
      const e = this.devtlb.get(pasid * 4 + level - 1, Math.floor(vpn / pages));
      if (e === undefined || (op.write && !e.writable)) continue;
      return e.base + (vpn % pages) * PAGE_SIZE + Number(BigInt.asUintN(64, op.va) & 0xfffn);
    }
    return null;
  }

  private failed(op: DmaOp, reason: IommuFaultReason | 'bad-address', level: number): DmaResult {
    this.stats.faults++;
    if (this.iommu.exec.tracing) this.iommu.exec.log('dma', `${this.name} ${op.write ? 'write' : 'read'} at ${hex(op.va)} failed: ${reason}`);
    return { ok: false, reason, level };
  }
}

/** Runs a list of DMAs in order, returning each result: a device's (or an attacker's) program. */
export function* dmaProgram(dev: SvaDevice, ops: readonly DmaOp[]): Sim<DmaResult[]> {
  const results: DmaResult[] = [];
  for (const op of ops) results.push(yield* dev.dma(op));
  return results;
}

/**
 * Reads each kernel address. Every read faults at the supervisor leaf (or earlier), but the walk
 * leaves the kernel half's non-leaf entries in the IOMMU's paging-structure caches.
 */
export function* probeKernel(dev: SvaDevice, vas: readonly Va[]): Sim<DmaResult[]> {
  return yield* dmaProgram(
    dev,
    vas.map((va) => ({ va, write: false })),
  );
}
