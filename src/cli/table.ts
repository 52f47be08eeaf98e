/** Aligned text tables for terminals: text columns padded on the right, numbers on the left. */

/** The header and rows as lines; the columns in `left` are left-aligned, the rest right-aligned. */
export function alignedTable(header: readonly string[], rows: readonly (readonly string[])[], left: readonly number[]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)));
  const line = (cells: readonly string[]) => cells.map((c, i) => (left.includes(i) ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ').trimEnd();
  return [line(header), ...rows.map(line)];
}
