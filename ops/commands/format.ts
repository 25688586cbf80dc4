import type { PipelineTarget } from '../target';

/** How `fanout` commands print: aligned tables, ages, errors, and the target they worked on. */

/** Rows as one aligned table; columns listed in `right` are right-aligned. The last column is never padded. */
export function formatTable(rows: readonly (readonly string[])[], right: ReadonlySet<number> = new Set()): string[] {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  return rows.map((row) =>
    row
      .map((cell, i) => (i === row.length - 1 && !right.has(i) ? cell : right.has(i) ? cell.padStart(widths[i] ?? 0) : cell.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd(),
  );
}

/** `45 s`, `12 min`, `3.5 h`, `2.0 d`. */
export function formatAge(ms: number): string {
  const seconds = Math.max(0, Math.round(ms / 1000));
  if (seconds < 120) return `${seconds} s`;
  if (seconds < 7_200) return `${Math.round(seconds / 60)} min`;
  if (seconds < 172_800) return `${(seconds / 3_600).toFixed(1)} h`;
  return `${(seconds / 86_400).toFixed(1)} d`;
}

export function describeError(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

export interface TargetSummary {
  readonly kind: 'aws' | 'local';
  readonly description: string;
  readonly accountsTable: string;
  readonly ledgerTable: string;
  readonly streamArn: string;
}

export function targetSummary(target: PipelineTarget): TargetSummary {
  return {
    kind: target.kind,
    description: target.description,
    accountsTable: target.accountsTable,
    ledgerTable: target.ledgerTable,
    streamArn: target.streamArn,
  };
}
