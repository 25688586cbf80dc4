import type { ConsumedBatch } from '../consumer/consumed-batch';
import { describeError } from '../retry/classify-error';

/*
 * The last resort when the telemetry itself fails (a logger or a metrics flush that throws): one JSON line on stderr,
 * which Lambda sends to the function's log group like any other. The invocation's answer does not depend on it.
 */

/** At most this many records (failures, letters) are named in one such line: it stays far below CloudWatch's 256 KB. */
export const MAX_NAMED = 100;

/** A line stays below this many bytes, well inside CloudWatch Logs' 256 KB per event (a longer one is cut). */
export const MAX_LINE_BYTES = 200_000;

/** What a batch came to, as far as an operator needs it when its regular log lines and metrics did not go out. */
export function batchSummary(batch: ConsumedBatch): Record<string, unknown> {
  return {
    records: batch.records,
    counts: batch.counts,
    quarantined: batch.quarantined,
    failed: batch.failures.length,
    failures: batch.failures.slice(0, MAX_NAMED).map(({ accountId, version, sequenceNumber, shardId }) => ({ accountId, version, sequenceNumber, shardId })),
    deadLetters: batch.deadLetters,
  };
}

/**
 * Writes one ERROR line: which telemetry step failed, why, and `summary` (letters reduced to their account, version,
 * sequence number and reason; lists cut to `MAX_NAMED`, with their full length). Never throws.
 */
export function reportTelemetryFailure(stage: string, destination: string, error: unknown, summary: Record<string, unknown> = {}): void {
  try {
    const line: Record<string, unknown> = {
      level: 'ERROR',
      message: `telemetry step ${stage} failed: the invocation's answer stands, and this line stands for the logs and metrics it did not write`,
      destination,
      error: describeError(error),
      timestamp: new Date().toISOString(),
    };
    for (const [key, value] of Object.entries(summary)) line[key] = key === 'deadLetters' ? letterPositions(value) : value;
    let text = JSON.stringify(line, bounded);
    if (Buffer.byteLength(text, 'utf8') > MAX_LINE_BYTES) {
      // Named records with ids near DynamoDB's 2 KB: keep the counts, which fit whatever the ids.
      for (const key of Object.keys(summary)) line[key] = listLength(summary[key]);
      line.cut = `lists replaced by their lengths: the line would have passed ${MAX_LINE_BYTES} bytes`;
      text = JSON.stringify(line, bounded);
    }
    process.stderr.write(`${text}\n`);
  } catch {
    // Nothing else can be done: stderr itself refused, or the summary could not be written at all.
  }
}

function listLength(value: unknown): unknown {
  return Array.isArray(value) ? { total: value.length } : value;
}

function letterPositions(value: unknown): unknown {
  if (!Array.isArray(value)) return value;
  return {
    total: value.length,
    named: value.slice(0, MAX_NAMED).map((letter: { reason?: unknown; accountId?: unknown; version?: unknown; sequenceNumber?: unknown }) => ({
      reason: letter.reason,
      accountId: letter.accountId,
      version: letter.version,
      sequenceNumber: letter.sequenceNumber,
    })),
  };
}

/** JSON replacer: long strings (an account id of 2 KB, a detail) cut to 2,000 characters, BigInts as text. */
function bounded(_key: string, value: unknown): unknown {
  if (typeof value === 'bigint') return value.toString();
  if (typeof value === 'string' && value.length > 2_000) return `${value.slice(0, 2_000)}… (${value.length} characters)`;
  return value;
}
