/**
 * The Trace Event Format's "JSON Object Format" as ui.perfetto.dev and chrome://tracing read it
 * (the Trace Event Format document, Google, and Perfetto's JSON importer): which fields each phase
 * we emit must carry. Strict per phase, so a misspelt field fails.
 */
import { z } from 'zod';

const common = {
  name: z.string().min(1),
  ts: z.number().finite().nonnegative(),
  pid: z.number().int().nonnegative(),
  tid: z.number().int().nonnegative(),
  cat: z.string().min(1).optional(),
};

export const completeEvent = z.strictObject({ ...common, ph: z.literal('X'), dur: z.number().finite().nonnegative(), args: z.record(z.string(), z.unknown()).optional() });
export const instantEvent = z.strictObject({ ...common, ph: z.literal('i'), s: z.enum(['t', 'p', 'g']), args: z.record(z.string(), z.unknown()).optional() });
/** Counter values are numbers: each arg is one series of the counter. */
export const counterEvent = z.strictObject({ ...common, ph: z.literal('C'), args: z.record(z.string(), z.number().finite()) });
export const metadataEvent = z.strictObject({
  ...common,
  ph: z.literal('M'),
  name: z.enum(['process_name', 'process_sort_index', 'thread_name', 'thread_sort_index']),
  args: z.union([z.strictObject({ name: z.string().min(1) }), z.strictObject({ sort_index: z.number().int() })]),
});
export const flowEvent = z.strictObject({ ...common, ph: z.enum(['s', 'f']), id: z.number().int().positive(), bp: z.literal('e') });

export const traceEvent = z.discriminatedUnion('ph', [completeEvent, instantEvent, counterEvent, metadataEvent, flowEvent]);

export const chromeTrace = z.strictObject({
  traceEvents: z.array(traceEvent).min(1),
  displayTimeUnit: z.enum(['ms', 'ns']),
  metadata: z.record(z.string(), z.unknown()).optional(),
});

export type ParsedTraceEvent = z.infer<typeof traceEvent>;
