/** Flag value parsers: each names the flag and what it expected (exit 2 through commander). */
import { InvalidArgumentError } from 'commander';

export function nonNegativeInt(flag: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!/^\d+$/.test(value) || !Number.isSafeInteger(n)) {
      throw new InvalidArgumentError(`${flag} expects a non-negative integer, got '${value}'`);
    }
    return n;
  };
}

/** A count that must be at least 1 (a PCT depth, a step bound, a save interval). */
export function positiveInt(flag: string) {
  return (value: string): number => {
    const n = nonNegativeInt(flag)(value);
    if (n < 1) throw new InvalidArgumentError(`${flag} expects a positive integer, got '${value}'`);
    return n;
  };
}

/** `30s`, `2m`, `500ms` or plain seconds, for `flag`. */
export function durationOf(flag: string) {
  return (value: string): number => {
    const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(value);
    if (m === null) throw new InvalidArgumentError(`${flag} expects a duration such as 30s, 2m or 500ms, got '${value}'`);
    const n = Number(m[1]);
    return m[2] === 'ms' ? n : m[2] === 'm' ? n * 60_000 : n * 1000;
  };
}

/** A duration above zero: a bound of zero would run nothing. */
export function positiveDurationOf(flag: string) {
  return (value: string): number => {
    const ms = durationOf(flag)(value);
    if (ms <= 0) throw new InvalidArgumentError(`${flag} expects a duration above zero (nothing would run), got '${value}'`);
    return ms;
  };
}

/** Worker threads: 1 to 64. */
export function workerCount(flag: string) {
  return (value: string): number => {
    const n = nonNegativeInt(flag)(value);
    if (n < 1 || n > 64) throw new InvalidArgumentError(`${flag} expects 1 to 64, got '${value}'`);
    return n;
  };
}

/** `a, b,c` as ['a', 'b', 'c']: names or paths given as one comma-separated flag value. */
export function commaList(value: string): string[] {
  return value.split(',').map((s) => s.trim()).filter((s) => s !== '');
}
