/**
 * Building HTML text with every interpolated string escaped. Reports carry kernel text
 * (`Call Trace: a <- b`, `<c69950ee-…@linux.intel.com>`, `&init_mm`), so escaping is the default and
 * only markup built by `html` itself passes through unescaped: a fragment is a `Markup`, anything
 * else is text.
 */

/** Markup already built (escaped where it had to be); interpolating it does not escape it again. */
export class Markup {
  constructor(readonly text: string) {}
  toString(): string {
    return this.text;
  }
}

/** What may appear inside `html`: text (escaped), numbers, markup, lists of these; null, undefined and false print nothing. */
export type Part = string | number | Markup | null | undefined | false | readonly Part[];

const ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Text as HTML text or attribute value. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ENTITIES[c]);
}

function render(part: Part): string {
  if (part === null || part === undefined || part === false) return '';
  if (part instanceof Markup) return part.text;
  if (typeof part === 'number') return formatNumber(part);
  if (typeof part === 'string') return escapeHtml(part);
  return part.map(render).join('');
}

/** A template tag: the literal parts are markup, every interpolation is escaped unless it is Markup. */
export function html(strings: TemplateStringsArray, ...parts: readonly Part[]): Markup {
  let out = strings[0];
  for (let i = 0; i < parts.length; i++) out += render(parts[i]) + strings[i + 1];
  return new Markup(out);
}

/** Parts joined into one fragment (escaping the text among them). */
export function join(parts: readonly Part[]): Markup {
  return new Markup(render(parts));
}

/** Numbers print the same on every machine: integers as they are, others to 4 significant digits at most. */
export function formatNumber(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  if (Number.isInteger(n)) return String(n);
  return String(Number(n.toPrecision(4)));
}
