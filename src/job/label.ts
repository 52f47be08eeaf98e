/**
 * The one codec of a replay token's label: what `kptsim replay` needs to rebuild the execution —
 * the design and scenario (a built-in's name, or a file's absolute path, so that the token replays
 * from any directory: check resolves it, src/cli/check.ts; tokens recorded before that may hold a
 * path relative to where they were recorded), the step bound when one was given (an
 * execution it cut replays only under the same bound), and where the watchdog cut the execution
 * when a design hook never returned. Encoded as a JSON array, as tokens have always carried it.
 */
import { z } from 'zod';

/** In a token's label: the execution was cut at this choice, where a hook never returned within `limit`. */
export interface HangLabel {
  readonly limit: string;
  readonly choice: number;
  /** The hook ended the process there instead (process.exit(exitCode)). */
  readonly exitCode?: number;
}

export interface ReplayLabel {
  readonly design: string;
  readonly scenario: string;
  readonly maxSteps?: number;
  readonly hang?: HangLabel;
}

/** A label that is not one kptsim check records (another tool's token, or a damaged one). */
export class LabelError extends Error {
  override readonly name = 'LabelError';
}

/**
 * The design and scenario as the replay token names them, so `kptsim replay` can rebuild both: a
 * built-in's name, or a file's absolute path (the caller resolves it; this layer knows no cwd).
 */
export function replayLabel(designSpec: string, scenarioSpec: string, maxSteps?: number, hang?: HangLabel): string {
  if (hang !== undefined) return JSON.stringify([designSpec, scenarioSpec, maxSteps ?? null, hang]);
  return JSON.stringify(maxSteps === undefined ? [designSpec, scenarioSpec] : [designSpec, scenarioSpec, maxSteps]);
}

const labelSchema = z.union([
  z.tuple([z.string(), z.string()]),
  z.tuple([z.string(), z.string(), z.number().int().nonnegative()]),
  z.tuple([z.string(), z.string(), z.number().int().nonnegative().nullable(), z.strictObject({ limit: z.string(), choice: z.number().int().nonnegative(), exitCode: z.number().int().optional() })]),
]);

export function decodeLabel(text: string): ReplayLabel {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    doc = undefined;
  }
  const parsed = labelSchema.safeParse(doc);
  if (!parsed.success) throw new LabelError('token label: expected the [design, scenario] kptsim check records; was the token made by another tool?');
  const [design, scenario, maxSteps, hang] = parsed.data;
  return { design, scenario, ...(maxSteps === undefined || maxSteps === null ? {} : { maxSteps }), ...(hang === undefined ? {} : { hang }) };
}

/** `label` (as recorded) with the watchdog's cut added. */
export function withHang(label: string, hang: HangLabel): string {
  const { design, scenario, maxSteps } = decodeLabel(label);
  return replayLabel(design, scenario, maxSteps, hang);
}
