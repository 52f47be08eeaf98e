/**
 * Replay tokens: a printable, versioned, checksummed encoding of one execution's choice list,
 * bound to the program (design + scenario) it was recorded on (docs/architecture.md, Replay and Reports).
 *
 *   kpt1.<base64url payload>
 *
 *   payload = varint n, n bytes     label: UTF-8 text naming what to rebuild (the CLI stores the
 *                                   design and scenario it was given), readable without identity
 *             varint total          every choice of the execution, forced ones included
 *             varint multi          the choices that had more than one option
 *             varint d              departures: those of them that did not take the default pick
 *             d x (varint gap,      multi-option choices taking the default since the last departure
 *                  varint pick)     (options n, chosen c) as one number: n(n-1)/2 - 1 + c
 *                                   (pairs with fewer options first), one byte while n <= 15
 *             u32 identity hash     FNV-1a of program.identity
 *             u32 schedule hash     FNV-1a over every choice's kind, reason, options, chosen
 *             u32 CRC-32            of the format name and everything above
 *
 * The default pick is schedule.ts's: keep running the thread that ran last, else the first
 * runnable; option 0 of a data choice. A shrunk schedule departs from it a handful of times, so
 * its token is a few dozen characters whatever the length of the execution.
 *
 * The label says what to rebuild; the identity hash checks that what was rebuilt is the same
 * program (a label alone could name a scenario file that has since changed). Forced and default
 * choices are re-derived by the replay (TokenReplayScheduler in replay.ts), which checks the option
 * count at every departure as it goes, and the counts and the schedule hash at the end, so a
 * replay on a changed model fails loudly rather than running something else. Decoding refuses
 * another format by name, another identity, and any corruption: non-canonical base64url, a
 * checksum mismatch (CRC-32 catches every truncation and every burst of up to 32 flipped bits),
 * trailing or missing bytes.
 */
import type { Choice } from '../sim/index.ts';
import { defaultPick } from './schedule.ts';

export const TOKEN_FORMAT = 'kpt1';

export class TokenError extends Error {
  override readonly name = 'TokenError';
}

/** A multi-option choice that did not take the default pick. */
export interface TokenDeparture {
  /** Its rank among the choices that had more than one option (0-based). */
  readonly at: number;
  readonly options: number;
  readonly chosen: number;
}

export interface DecodedToken {
  /** Every choice of the recorded execution, forced ones included. */
  readonly total: number;
  /** How many of them had more than one option. */
  readonly multi: number;
  /** The ones that did not take the default pick, in order. */
  readonly departures: readonly TokenDeparture[];
  /** FNV-1a of every choice (see scheduleHash): a replay must end with the same value. */
  readonly scheduleHash: number;
}

export function encodeToken(identity: string, choices: readonly Choice[], label = ''): string {
  const departures: TokenDeparture[] = [];
  let multi = 0;
  let last: string | null = null;
  for (const c of choices) {
    if (c.options.length > 1) {
      const usual: number = c.kind === 'thread' ? defaultPick(c.options, last) : 0;
      if (c.chosen !== usual) departures.push({ at: multi, options: c.options.length, chosen: c.chosen });
      multi++;
    }
    if (c.kind === 'thread') last = c.options[c.chosen];
  }
  const bytes: number[] = [];
  const text = Buffer.from(label, 'utf8');
  writeVarint(bytes, text.length);
  bytes.push(...text);
  writeVarint(bytes, choices.length);
  writeVarint(bytes, multi);
  writeVarint(bytes, departures.length);
  let previous = -1;
  for (const d of departures) {
    writeVarint(bytes, d.at - previous - 1);
    writeVarint(bytes, pairIndex(d.options, d.chosen));
    previous = d.at;
  }
  writeU32(bytes, fnv1a(identity));
  writeU32(bytes, scheduleHash(choices));
  writeU32(bytes, crc32(formatBytes(), bytes));
  return `${TOKEN_FORMAT}.${Buffer.from(bytes).toString('base64url')}`;
}

/** Decodes a token recorded on the program with `identity`; throws TokenError on any mismatch. */
export function decodeToken(token: string, identity: string): DecodedToken {
  const parsed = parse(token);
  if (parsed.identityHash !== fnv1a(identity)) throw new TokenError('token was recorded for a different design/scenario');
  return { total: parsed.total, multi: parsed.multi, departures: parsed.departures, scheduleHash: parsed.scheduleHash };
}

/** The label a token was encoded with (format and checksum checked, identity not). */
export function tokenLabel(token: string): string {
  return parse(token).label;
}

interface ParsedToken extends DecodedToken {
  readonly label: string;
  readonly identityHash: number;
}

function parse(token: string): ParsedToken {
  const dot = token.indexOf('.');
  const format = dot < 0 ? '' : token.slice(0, dot);
  if (!/^kpt\d+$/.test(format)) throw new TokenError(`not a kptsim replay token (expected ${TOKEN_FORMAT}.<payload>)`);
  if (format !== TOKEN_FORMAT) throw new TokenError(`token is format ${format}, this kptsim reads ${TOKEN_FORMAT}`);
  const text = token.slice(dot + 1);
  const corrupt = (why: string): TokenError => new TokenError(`token is corrupt (${why}): was it truncated or altered?`);
  if (!/^[A-Za-z0-9_-]*$/.test(text)) throw corrupt('a character outside base64url');
  const raw = Buffer.from(text, 'base64url');
  // Buffer decoding ignores the unused low bits of the last character: refuse any spelling
  // other than the canonical one, so no altered character is ever accepted.
  if (raw.toString('base64url') !== text) throw corrupt('not canonical base64url');
  const bytes = Array.from(raw);
  if (bytes.length < 15) throw corrupt('too short');
  const body = bytes.slice(0, -4);
  if (readU32(bytes, bytes.length - 4) !== crc32(formatBytes(), body)) throw corrupt('checksum mismatch');
  const reader = { bytes: body, at: 0 };
  const labelLength = readVarint(reader);
  if (labelLength === undefined || reader.at + labelLength > body.length) throw corrupt('bad label');
  const label = Buffer.from(body.slice(reader.at, reader.at + labelLength)).toString('utf8');
  reader.at += labelLength;
  const total = readVarint(reader);
  const multi = readVarint(reader);
  const count = readVarint(reader);
  if (total === undefined || multi === undefined || count === undefined || multi > total || count > multi) throw corrupt('bad header');
  const departures: TokenDeparture[] = [];
  let previous = -1;
  for (let i = 0; i < count; i++) {
    const gap = readVarint(reader);
    const v = readVarint(reader);
    if (gap === undefined || v === undefined) throw corrupt('choices cut short');
    const at = previous + gap + 1;
    if (at >= multi) throw corrupt('departure past the end');
    departures.push({ at, ...unpair(v) });
    previous = at;
  }
  if (reader.at + 8 !== body.length) throw corrupt('bad length');
  return { label, total, multi, departures, identityHash: readU32(body, reader.at), scheduleHash: readU32(body, reader.at + 4) };
}

/** FNV-1a over every choice: what a replay must reproduce exactly. */
export function scheduleHash(choices: readonly Choice[]): number {
  let h = FNV_OFFSET;
  for (const c of choices) {
    h = fnv1aString(h, c.kind);
    h = fnv1aString(h, c.reason);
    for (const o of c.options) h = fnv1aString(h, o);
    h = fnv1aByte(h, 0xfe);
    h = fnv1aString(h, String(c.chosen));
  }
  return h >>> 0;
}

const FNV_OFFSET = 0x811c9dc5;

function fnv1a(text: string): number {
  return fnv1aString(FNV_OFFSET, text) >>> 0;
}

function fnv1aByte(h: number, byte: number): number {
  return Math.imul(h ^ byte, 0x01000193);
}

/** Hashes the UTF-16 code units then a separator, so ["ab","c"] and ["a","bc"] differ. */
function fnv1aString(h: number, text: string): number {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    h = fnv1aByte(fnv1aByte(h, c & 0xff), c >>> 8);
  }
  return fnv1aByte(h, 0xff);
}

function formatBytes(): number[] {
  return Array.from(TOKEN_FORMAT, (ch) => ch.charCodeAt(0));
}

/** Where the pairs with `n` options start: 2 + 3 + ... + (n - 1) pairs come before them. */
function pairOffset(n: number): number {
  return ((n - 1) * n) / 2 - 1;
}

/** (n, c) with 0 <= c < n, n >= 2, as one number: pairs with smaller n come first. */
function pairIndex(n: number, c: number): number {
  return pairOffset(n) + c;
}

function unpair(v: number): { options: number; chosen: number } {
  let n = 2;
  while (pairOffset(n + 1) <= v) n++;
  return { options: n, chosen: v - pairOffset(n) };
}

function writeVarint(out: number[], value: number): void {
  let v = value;
  while (v >= 0x80) {
    out.push((v % 0x80) | 0x80);
    v = Math.floor(v / 0x80);
  }
  out.push(v);
}

function readVarint(r: { bytes: readonly number[]; at: number }): number | undefined {
  let value = 0;
  let scale = 1;
  for (let i = 0; i < 8; i++) {
    const b = r.bytes[r.at++];
    if (b === undefined) return undefined;
    value += (b & 0x7f) * scale;
    if ((b & 0x80) === 0) return value;
    scale *= 0x80;
  }
  return undefined;
}

function writeU32(out: number[], value: number): void {
  out.push((value >>> 24) & 0xff, (value >>> 16) & 0xff, (value >>> 8) & 0xff, value & 0xff);
}

function readU32(bytes: readonly number[], at: number): number {
  return ((bytes[at] << 24) | (bytes[at + 1] << 16) | (bytes[at + 2] << 8) | bytes[at + 3]) >>> 0;
}

/** CRC-32 (IEEE 802.3, reflected, polynomial 0xEDB88320) over `prefix` then `bytes`, bitwise. */
function crc32(prefix: readonly number[], bytes: readonly number[]): number {
  let crc = 0xffffffff;
  const feed = (b: number): void => {
    crc ^= b;
    for (let k = 0; k < 8; k++) crc = crc & 1 ? (crc >>> 1) ^ 0xedb88320 : crc >>> 1;
  };
  for (const b of prefix) feed(b);
  for (const b of bytes) feed(b);
  return (crc ^ 0xffffffff) >>> 0;
}
