/** Plain aligned text tables: text columns left-aligned, numeric columns right-aligned. */
export function table(headers: readonly string[], rows: readonly (readonly (string | number | null)[])[]): string {
  const cells = rows.map((row) => row.map((cell) => (cell === null ? 'n/a' : typeof cell === 'number' ? fmt(cell) : cell)));
  const numeric = headers.map((_, column) => rows.every((row) => typeof row[column] === 'number' || row[column] === null));
  const widths = headers.map((header, column) => Math.max(header.length, ...cells.map((row) => (row[column] ?? '').length)));
  const line = (values: readonly string[]) =>
    values
      .map((value, column) => (numeric[column] ? value.padStart(widths[column] ?? 0) : value.padEnd(widths[column] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(headers), widths.map((width) => '-'.repeat(width)).join('  '), ...cells.map(line)].join('\n');
}

function fmt(value: number): string {
  const digits = Number.isInteger(value) ? 0 : Math.abs(value) >= 100 ? 1 : 3;
  return value.toLocaleString('en-US', { maximumFractionDigits: digits });
}
