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
