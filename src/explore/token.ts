/**
 * Replay tokens: a printable, versioned, checksummed encoding of one execution's choice list,
 * bound to the program (design + scenario) it was recorded on (STYLE.md §4, §6).
 *
 *   kpt1.<base64url payload>
 *
 *   payload = varint n, n bytes     label: UTF-8 text naming what to rebuild (the CLI stores the
 *                                   design and scenario it was given), readable without identity
 *             varint total          every choice of the execution, forced ones included
 *             varint count          choices that had more than one option
 *             count x varint pick   (options n, chosen c) as one number: n(n-1)/2 - 1 + c
 *                                   (pairs with fewer options first), one byte while n <= 15
 *             u32 identity hash     FNV-1a of program.identity
 *             u32 schedule hash     FNV-1a over every choice's kind, reason, options, chosen
 *             u32 CRC-32            of the format name and everything above
 *
 * The label says what to rebuild; the identity hash checks that what was rebuilt is the same
 * program (a label alone could name a scenario file that has since changed).
 * Forced choices are not stored: a replay re-derives them (only option 0 exists), checks the
 * option count of every stored choice as it goes and the schedule hash at the end, so a replay on
 * a changed model fails loudly rather than running something else. Decoding refuses another
 * format by name, another identity, and any corruption: non-canonical base64url, a checksum
 * mismatch (CRC-32 catches every truncation and every burst of up to 32 flipped bits), trailing
 * or missing bytes.
 */
import type { Choice } from '../sim/index.ts';

export const TOKEN_FORMAT = 'kpt1';

export class TokenError extends Error {
  override readonly name = 'TokenError';
}

/** A choice that had more than one option. */
export interface TokenPick {
  readonly options: number;
  readonly chosen: number;
}

export interface DecodedToken {
  /** Every choice of the recorded execution, forced ones included. */
  readonly total: number;
  /** The choices that had more than one option, in order. */
  readonly picks: readonly TokenPick[];
  /** FNV-1a of every choice (see scheduleHash): a replay must end with the same value. */
  readonly scheduleHash: number;
}

export function encodeToken(identity: string, choices: readonly Choice[], label = ''): string {
  const bytes: number[] = [];
  const text = Buffer.from(label, 'utf8');
  writeVarint(bytes, text.length);
  bytes.push(...text);
  const picks = choices.filter((c) => c.options.length > 1);
  writeVarint(bytes, choices.length);
  writeVarint(bytes, picks.length);
  for (const c of picks) writeVarint(bytes, pairIndex(c.options.length, c.chosen));
  writeU32(bytes, fnv1a(identity));
  writeU32(bytes, scheduleHash(choices));
  writeU32(bytes, crc32(formatBytes(), bytes));
  return `${TOKEN_FORMAT}.${Buffer.from(bytes).toString('base64url')}`;
}

/** Decodes a token recorded on the program with `identity`; throws TokenError on any mismatch. */
export function decodeToken(token: string, identity: string): DecodedToken {
  const parsed = parse(token);
  if (parsed.identityHash !== fnv1a(identity)) throw new TokenError('token was recorded for a different design/scenario');
  return { total: parsed.total, picks: parsed.picks, scheduleHash: parsed.scheduleHash };
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
  const count = readVarint(reader);
  if (total === undefined || count === undefined || count > total) throw corrupt('bad header');
  const picks: TokenPick[] = [];
  for (let i = 0; i < count; i++) {
    const v = readVarint(reader);
    if (v === undefined) throw corrupt('choices cut short');
    picks.push(unpair(v));
  }
  if (reader.at + 8 !== body.length) throw corrupt('bad length');
  return { label, total, picks, identityHash: readU32(body, reader.at), scheduleHash: readU32(body, reader.at + 4) };
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

function unpair(v: number): TokenPick {
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
