/**
 * The machine's physical memory: one ArrayBuffer of `frames` 4 KiB frames holding real bytes, so
 * page-table entries are real 64-bit little-endian values and a freed frame keeps whatever its next
 * owner writes into it (docs/architecture.md, Fidelity rules). The walkers read entries as two u32 halves
 * through one Uint32Array view (no bigint on the hot path); everything else may use read64/write64.
 *
 * Invariant: every access lies inside memory, and 64-bit/32-bit accesses are naturally aligned, as
 * x86 paging-structure accesses are. Anything else is a model bug (ModelInvariantError).
 *
 * Uniform frames are kept lazily: filling a frame with one byte (PAGE_POISON at every free, zero at
 * __GFP_ZERO and at reset) only records that byte for the frame; reads of such a frame answer from
 * the record, and the first partial write fills the frame's bytes for real. What any access sees is
 * exactly what eager filling would give; a huge vfree poisons 512 frames without 2 MiB of stores.
 */
import { ModelInvariantError } from '../sim/index.ts';
import { PAGE_SIZE, hex, type Pa, type Pfn } from './address.ts';

/** The Uint32Array halves below assume a little-endian host (x86 and arm64 hosts are). */
const HOST_LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/** `uniform[pfn]` when the frame's bytes are in the buffer (not one recorded byte). */
const MATERIAL = -1;

/** Words per frame, and the shift from a word index to its frame. */
const WORDS_PER_FRAME = PAGE_SIZE / 4;
const WORD_TO_FRAME = 10;

/** PhysMem.snapshot(): the written frames in ascending order, each its fill byte or its bytes. */
export interface PhysMemImage {
  readonly frames: number;
  readonly pfns: Int32Array;
  /** Per entry of `pfns`: the frame's fill byte, or -1 when its bytes are the next PAGE_SIZE of `bytes`. */
  readonly fills: Int16Array;
  readonly bytes: Uint8Array;
}

export class PhysMem {
  /** Size in bytes: frames * PAGE_SIZE. */
  readonly size: number;
  private readonly bytes: Uint8Array;
  private readonly words: Uint32Array;
  /** Frames written since construction or the last reset (a word index >>> 10 is its frame). */
  private readonly touched: Uint8Array;
  /**
   * Per frame: MATERIAL when its bytes are in `bytes`; otherwise every byte of the frame has this
   * value and the frame's part of `bytes` is stale (see the header).
   */
  private readonly uniform: Int16Array;

  constructor(readonly frames: number) {
    if (!HOST_LITTLE_ENDIAN) throw new ModelInvariantError('PhysMem needs a little-endian host');
    if (!Number.isInteger(frames) || frames <= 0) throw new ModelInvariantError(`PhysMem: bad frame count ${frames}`);
    this.size = frames * PAGE_SIZE;
    const buffer = new ArrayBuffer(this.size);
    this.bytes = new Uint8Array(buffer);
    this.words = new Uint32Array(buffer);
    this.touched = new Uint8Array(frames);
    this.uniform = new Int16Array(frames).fill(MATERIAL);
  }

  /** Whether `pa` is backed by memory (the walker treats anything above as a reserved address). */
  contains(pa: Pa): boolean {
    return pa >= 0 && pa < this.size;
  }

  read64(pa: Pa): bigint {
    const i = this.index64(pa);
    return (BigInt(this.word(i + 1)) << 32n) | BigInt(this.word(i));
  }

  write64(pa: Pa, v: bigint): void {
    const i = this.index64(pa);
    this.materialize(i >>> WORD_TO_FRAME);
    const u = BigInt.asUintN(64, v);
    this.words[i] = Number(u & 0xffffffffn);
    this.words[i + 1] = Number(u >> 32n);
  }

  /** Bits 31:0 of the 64-bit entry at `pa`. */
  readLo(pa: Pa): number {
    return this.word(this.index64(pa));
  }

  /** Bits 63:32 of the 64-bit entry at `pa`. */
  readHi(pa: Pa): number {
    return this.word(this.index64(pa) + 1);
  }

  writeLo(pa: Pa, v: number): void {
    const i = this.index64(pa);
    this.materialize(i >>> WORD_TO_FRAME);
    this.words[i] = v;
  }

  writeHi(pa: Pa, v: number): void {
    const i = this.index64(pa);
    this.materialize(i >>> WORD_TO_FRAME);
    this.words[i + 1] = v;
  }

  /** Sets bits in the low half (the walkers' Accessed/Dirty update). */
  orLo(pa: Pa, bits: number): void {
    const i = this.index64(pa);
    this.materialize(i >>> WORD_TO_FRAME);
    this.words[i] = this.words[i] | bits;
  }

  /** Every byte of the frame becomes `byte` (recorded, not stored: see the header). */
  fillFrame(pfn: Pfn, byte: number): void {
    this.frameStart(pfn);
    if (!Number.isInteger(byte) || byte < 0 || byte > 0xff) throw new ModelInvariantError(`PhysMem: fill byte ${byte} is not a byte`);
    this.touched[pfn] = 1;
    this.uniform[pfn] = byte;
  }

  zeroFrame(pfn: Pfn): void {
    this.fillFrame(pfn, 0);
  }

  copyFrame(dstPfn: Pfn, srcPfn: Pfn): void {
    const src = this.frameStart(srcPfn);
    const dst = this.frameStart(dstPfn);
    if (this.uniform[srcPfn] !== MATERIAL) {
      this.fillFrame(dstPfn, this.uniform[srcPfn]);
      return;
    }
    this.touched[dstPfn] = 1;
    this.uniform[dstPfn] = MATERIAL;
    this.bytes.copyWithin(dst, src, src + PAGE_SIZE);
  }

  /** Whether every byte of the frame equals `byte` (e.g. a poison pattern survived). */
  frameFilledWith(pfn: Pfn, byte: number): boolean {
    const start = this.frameStart(pfn);
    if (this.uniform[pfn] !== MATERIAL) return this.uniform[pfn] === byte;
    const b = this.bytes;
    for (let i = start; i < start + PAGE_SIZE; i++) if (b[i] !== byte) return false;
    return true;
  }

  /** A copy of `len` bytes at `pa`. */
  readBytes(pa: Pa, len: number): Uint8Array {
    this.checkRange(pa, len);
    for (let f = Math.floor(pa / PAGE_SIZE); f * PAGE_SIZE < pa + len; f++) this.materialize(f);
    return this.bytes.slice(pa, pa + len);
  }

  writeBytes(pa: Pa, data: Uint8Array): void {
    this.checkRange(pa, data.length);
    for (let f = Math.floor(pa / PAGE_SIZE); f * PAGE_SIZE < pa + data.length; f++) this.materialize(f);
    this.bytes.set(data, pa);
  }

  /**
   * All zeroes again, as a new PhysMem of the same size would be: the frames written since the last
   * reset are recorded as zero-filled (see the header). Lets a run of many executions reuse one
   * buffer instead of allocating (and collecting) a fresh one per execution.
   */
  reset(): void {
    const touched = this.touched;
    const uniform = this.uniform;
    for (let f = 0; f < this.frames; f++) {
      if (touched[f] === 0) continue;
      uniform[f] = 0;
      touched[f] = 0;
    }
  }

  /**
   * The frames written since construction or the last reset, as they are now: with restore(), the
   * boot image of src/kernel/model/boot-memory.ts (boot writes only its page tables; the rest is zero).
   */
  snapshot(): PhysMemImage {
    const pfns: number[] = [];
    for (let f = 0; f < this.frames; f++) if (this.touched[f] !== 0) pfns.push(f);
    const fills = new Int16Array(pfns.length);
    const material = pfns.filter((f) => this.uniform[f] === MATERIAL);
    const bytes = new Uint8Array(material.length * PAGE_SIZE);
    pfns.forEach((f, i) => (fills[i] = this.uniform[f]));
    material.forEach((f, i) => bytes.set(this.bytes.subarray(f * PAGE_SIZE, (f + 1) * PAGE_SIZE), i * PAGE_SIZE));
    return { frames: this.frames, pfns: Int32Array.from(pfns), fills, bytes };
  }

  /**
   * reset(), then the snapshot's frames as they were: afterwards every access reads what it read
   * when the snapshot was taken, and the same frames count as written.
   */
  restore(image: PhysMemImage): void {
    if (image.frames !== this.frames) throw new ModelInvariantError(`PhysMem.restore: an image of ${image.frames} frames into ${this.frames}`);
    this.reset();
    let m = 0;
    for (let i = 0; i < image.pfns.length; i++) {
      const f = image.pfns[i];
      this.touched[f] = 1;
      this.uniform[f] = image.fills[i];
      if (image.fills[i] !== MATERIAL) continue;
      this.bytes.set(image.bytes.subarray(m * PAGE_SIZE, (m + 1) * PAGE_SIZE), f * PAGE_SIZE);
      m++;
    }
  }

  /** The 32-bit word at word index `i`, from the frame's recorded byte when it has one. */
  private word(i: number): number {
    const fill = this.uniform[i >>> WORD_TO_FRAME];
    return fill === MATERIAL ? this.words[i] : (fill * 0x01010101) >>> 0;
  }

  /** Before a partial write: the frame's recorded byte, if any, stored for real; the frame is touched. */
  private materialize(pfn: number): void {
    this.touched[pfn] = 1;
    const fill = this.uniform[pfn];
    if (fill === MATERIAL) return;
    this.uniform[pfn] = MATERIAL;
    const start = pfn * WORDS_PER_FRAME;
    this.words.fill((fill * 0x01010101) >>> 0, start, start + WORDS_PER_FRAME);
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
