/** Shared CLI output: aligned tables for people, JSON for programs. */

/** Left-aligned columns; numbers right-aligned. */
export function table(rows: (string | number | null)[][], header?: string[]): string {
  const all = header ? [header, ...rows] : rows;
  const cells = all.map((row) => row.map((c) => (c === null ? '-' : String(c))));
  const widths: number[] = [];
  for (const row of cells) row.forEach((c, i) => (widths[i] = Math.max(widths[i] ?? 0, c.length)));
  const numeric = (i: number) => rows.length > 0 && rows.every((r) => typeof r[i] === 'number' || r[i] === null);
  return cells
    .map((row) => row.map((c, i) => (numeric(i) ? c.padStart(widths[i]) : i === row.length - 1 ? c : c.padEnd(widths[i]))).join('  '))
    .join('\n');
}

/** JSON with bigints as decimal strings: a session's start time does not fit a double. */
export const toJson = (value: unknown, indent = 2): string => JSON.stringify(value, bigintAsText, indent);

const bigintAsText = (_key: string, v: unknown) => (typeof v === 'bigint' ? v.toString() : v);
