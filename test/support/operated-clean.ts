import { expect } from 'vitest';
import { formatPipelineReport } from '../../local/pipeline/print-report';
import type { PipelineRun } from '../../local/pipeline/run-pipeline';

type Details = PipelineRun['report']['details'];

/**
 * What every fault run's report must show, whatever its destinations: versions were dropped before the stream, and the
 * operator drained everything, explained every difference, and the read-back verified clean. Returns the report as
 * text (for messages) and its fault and operator parts, for the run's own checks.
 */
export function expectOperatedClean(report: PipelineRun['report']): {
  text: string;
  faults: NonNullable<Details['faults']>;
  operator: NonNullable<Details['operator']>;
} {
  const text = formatPipelineReport(report);
  const { faults, operator } = report.details;
  expect(faults, text).toBeDefined();
  expect(operator, text).toBeDefined();
  if (!faults || !operator) throw new Error(`the run reported no faults or no operator:\n${text}`);
  expect(faults.dropped.versions, text).toBeGreaterThan(0);
  expect(operator.unexplained, text).toEqual([]);
  expect(operator.drained, text).toBe(true);
  expect(report.ok, text).toBe(true);
  return { text, faults, operator };
}
