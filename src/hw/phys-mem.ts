/**
 * The machine's physical memory: one ArrayBuffer of `frames` 4 KiB frames holding real bytes, so
 * page-table entries are real 64-bit little-endian values and a freed frame keeps whatever its next
 * owner writes into it (DESIGN.md "Fidelity rules"). The walkers read entries as two u32 halves
 * through one Uint32Array view (no bigint on the hot path); everything else may use read64/write64.
 *
 * Invariant: every access lies inside memory, and 64-bit/32-bit accesses are naturally aligned, as
 * x86 paging-structure accesses are. Anything else is a model bug (ModelInvariantError).
 */
import { ModelInvariantError } from '../sim/index.ts';
import { PAGE_SIZE, hex, type Pa, type Pfn } from './address.ts';

/** The Uint32Array halves below assume a little-endian host (x86 and arm64 hosts are). */
const HOST_LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

export class PhysMem {
  /** Size in bytes: frames * PAGE_SIZE. */
  readonly size: number;
  private readonly bytes: Uint8Array;
  private readonly words: Uint32Array;
  /** Frames written since construction or the last reset (a word index >>> 10 is its frame). */
  private readonly touched: Uint8Array;

  constructor(readonly frames: number) {
    if (!HOST_LITTLE_ENDIAN) throw new ModelInvariantError('PhysMem needs a little-endian host');
    if (!Number.isInteger(frames) || frames <= 0) throw new ModelInvariantError(`PhysMem: bad frame count ${frames}`);
    this.size = frames * PAGE_SIZE;
    const buffer = new ArrayBuffer(this.size);
    this.bytes = new Uint8Array(buffer);
    this.words = new Uint32Array(buffer);
    this.touched = new Uint8Array(frames);
  }

  /** Whether `pa` is backed by memory (the walker treats anything above as a reserved address). */
  contains(pa: Pa): boolean {
    return pa >= 0 && pa < this.size;
  }

  read64(pa: Pa): bigint {
    const i = this.index64(pa);
    return (BigInt(this.words[i + 1]) << 32n) | BigInt(this.words[i]);
  }

  write64(pa: Pa, v: bigint): void {
    const i = this.index64(pa);
    this.touched[i >>> 10] = 1;
    const u = BigInt.asUintN(64, v);
    this.words[i] = Number(u & 0xffffffffn);
    this.words[i + 1] = Number(u >> 32n);
  }

  /** Bits 31:0 of the 64-bit entry at `pa`. */
  readLo(pa: Pa): number {
    return this.words[this.index64(pa)];
  }

  /** Bits 63:32 of the 64-bit entry at `pa`. */
  readHi(pa: Pa): number {
    return this.words[this.index64(pa) + 1];
  }

  writeLo(pa: Pa, v: number): void {
    const i = this.index64(pa);
    this.touched[i >>> 10] = 1;
    this.words[i] = v;
  }

  writeHi(pa: Pa, v: number): void {
    const i = this.index64(pa);
    this.touched[i >>> 10] = 1;
    this.words[i + 1] = v;
  }

  /** Sets bits in the low half (the walkers' Accessed/Dirty update). */
  orLo(pa: Pa, bits: number): void {
    const i = this.index64(pa);
    this.touched[i >>> 10] = 1;
    this.words[i] = this.words[i] | bits;
  }

  fillFrame(pfn: Pfn, byte: number): void {
    const start = this.frameStart(pfn);
    this.touched[pfn] = 1;
    this.bytes.fill(byte, start, start + PAGE_SIZE);
  }

  zeroFrame(pfn: Pfn): void {
    this.fillFrame(pfn, 0);
  }

  copyFrame(dstPfn: Pfn, srcPfn: Pfn): void {
    const src = this.frameStart(srcPfn);
    const dst = this.frameStart(dstPfn);
    this.touched[dstPfn] = 1;
    this.bytes.copyWithin(dst, src, src + PAGE_SIZE);
  }

  /** Whether every byte of the frame equals `byte` (e.g. a poison pattern survived). */
  frameFilledWith(pfn: Pfn, byte: number): boolean {
    const start = this.frameStart(pfn);
    const b = this.bytes;
    for (let i = start; i < start + PAGE_SIZE; i++) if (b[i] !== byte) return false;
    return true;
  }

  /** A copy of `len` bytes at `pa`. */
  readBytes(pa: Pa, len: number): Uint8Array {
    this.checkRange(pa, len);
    return this.bytes.slice(pa, pa + len);
  }

  writeBytes(pa: Pa, data: Uint8Array): void {
    this.checkRange(pa, data.length);
    for (let f = Math.floor(pa / PAGE_SIZE); f * PAGE_SIZE < pa + data.length; f++) this.touched[f] = 1;
    this.bytes.set(data, pa);
  }

  /**
   * All zeroes again, as a new PhysMem of the same size would be — zeroing only the frames written
   * since the last reset. Lets a run of many executions reuse one buffer instead of allocating (and
   * collecting) a fresh one per execution.
   */
  reset(): void {
    const touched = this.touched;
    for (let f = 0; f < this.frames; f++) {
      if (touched[f] === 0) continue;
      this.bytes.fill(0, f * PAGE_SIZE, (f + 1) * PAGE_SIZE);
      touched[f] = 0;
    }
  }

  private index64(pa: Pa): number {
    if (!(pa >= 0 && pa + 8 <= this.size) || pa % 8 !== 0) {
      throw new ModelInvariantError(`PhysMem: 64-bit access at ${hex(pa)} outside ${hex(this.size)} bytes or unaligned`);
    }
    return pa / 4;
  }

  private frameStart(pfn: Pfn): number {
    if (!Number.isInteger(pfn) || pfn < 0 || pfn >= this.frames) {
      throw new ModelInvariantError(`PhysMem: pfn ${hex(pfn)} outside ${this.frames} frames`);
    }
    return pfn * PAGE_SIZE;
  }

  private checkRange(pa: Pa, len: number): void {
    if (!Number.isInteger(pa) || !Number.isInteger(len) || pa < 0 || len < 0 || pa + len > this.size) {
      throw new ModelInvariantError(`PhysMem: access [${hex(pa)}, +${len}) outside ${hex(this.size)} bytes`);
    }
  }
}
