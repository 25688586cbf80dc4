/* Markdown for the README's bench tables (readme-tables.ts). */

// Results as results.json holds them: read loosely, since an older recording may lack a key a newer bench writes.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Results = Record<string, any>;

/** A table whose section the recording does not hold (an older or partial one). */
export const NOT_RECORDED = '(not in this recording: run `npm run bench`)';

/** Number text as the README writes it: thousands separated, `digits` decimals at most. */
export function num(value: unknown, digits = 0): string {
  if (typeof value !== 'number' || !Number.isFinite(value)) return 'n/a';
  return value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

export function markdownTable(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  return [`| ${headers.join(' | ')} |`, `|${headers.map(() => '---').join('|')}|`, ...rows.map((row) => `| ${row.join(' | ')} |`)].join('\n');
}
