import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parsePipelineConfig } from '../../infra/config/load-config';
import { PipelineConfigError, type DestinationSettings } from '../../infra/config/pipeline-config';
import { MAX_WAITING_COUNTED } from '../../shared/consumer/waiting-report';

/**
 * Settings that pass every AWS check at deploy but leave the pipeline quietly wrong: an alarm that can never fire, or
 * a retry budget Lambda never spends. Refused at synth, naming the setting.
 *
 * - Lambda's `IteratorAge` is the age of the last record of a batch it *sends* to the function; it discards records
 *   older than `MaximumRecordAgeInSeconds` before invoking, and Kinesis deletes records after the stream's retention.
 *   A threshold at or above either limit is never exceeded.
 * - `AccountsParkedTooLong` is counted by the waiting report, which stops at `MAX_WAITING_COUNTED` accounts.
 * - Lambda retries a failed batch only while its records are younger than `MaximumRecordAgeInSeconds`: a batch that ran
 *   out a timeout at least that long is already too old to retry, and goes to the on-failure bucket unretried.
 */

const NOW = Date.parse('2026-06-01T00:00:00Z');

function failure(raw: unknown): PipelineConfigError {
  try {
    parsePipelineConfig(raw, 'test', NOW);
  } catch (error) {
    expect(error).toBeInstanceOf(PipelineConfigError);
    return error as PipelineConfigError;
  }
  throw new Error(`accepted ${JSON.stringify(raw)}`);
}

const fraud = (settings: Record<string, unknown>, stream: Record<string, unknown> = {}) => ({ stream, destinations: { fraud: settings } });

describe('IteratorAge threshold the metric can reach', () => {
  it('refuses a threshold at or above maxRecordAgeSeconds (older records are discarded before they are sent)', () => {
    const error = failure(fraud({ maxRecordAgeSeconds: 3_600, alarms: { iteratorAgeMs: 3_600_000 } }));
    expect(error.path).toBe('destinations.fraud.alarms.iteratorAgeMs');
    expect(error.message).toContain('maxRecordAgeSeconds');
    expect(error.message).toContain('never');
    // The default threshold (60 s) next to Lambda's smallest limit (60 s): never fires either.
    expect(failure(fraud({ maxRecordAgeSeconds: 60, timeoutSeconds: 30 })).path).toBe('destinations.fraud.alarms.iteratorAgeMs');
    expect(parsePipelineConfig(fraud({ maxRecordAgeSeconds: 3_600, alarms: { iteratorAgeMs: 3_599_999 } }), 'test', NOW).destinations.fraud.alarms.iteratorAgeMs).toBe(3_599_999);
  });

  it("refuses a threshold at or above the stream's retention (Kinesis deletes older records)", () => {
    const error = failure(fraud({ alarms: { iteratorAgeMs: 2 * 86_400_000 } }, { retentionHours: 24 }));
    expect(error.path).toBe('destinations.fraud.alarms.iteratorAgeMs');
    expect(error.message).toContain('retention');
    expect(parsePipelineConfig(fraud({ alarms: { iteratorAgeMs: 2 * 86_400_000 } }, { retentionHours: 72 }), 'test', NOW).destinations.fraud.alarms.iteratorAgeMs).toBe(
      2 * 86_400_000,
    );
  });

  it('applies to plug-in settings too', () => {
    const raw = { stream: { retentionHours: 24 }, plugins: { 'ledger-queue': { settings: { alarms: { iteratorAgeMs: 86_400_000 } } } } };
    expect(failure(raw).path).toBe('plugins.ledger-queue.settings.alarms.iteratorAgeMs');
  });
});

describe('ParkedTooLong threshold the metric can reach', () => {
  it(`refuses more than the ${MAX_WAITING_COUNTED} accounts the waiting report counts`, () => {
    const error = failure(fraud({ alarms: { parkedTooLong: MAX_WAITING_COUNTED + 1 } }));
    expect(error.path).toBe('destinations.fraud.alarms.parkedTooLong');
    expect(error.message).toContain(String(MAX_WAITING_COUNTED));
    expect(parsePipelineConfig(fraud({ alarms: { parkedTooLong: MAX_WAITING_COUNTED } }), 'test', NOW).destinations.fraud.alarms.parkedTooLong).toBe(MAX_WAITING_COUNTED);
  });
});

describe('a record-age limit that leaves room for a retry', () => {
  it('refuses maxRecordAgeSeconds at or below timeoutSeconds (a timed-out batch is too old to retry)', () => {
    const error = failure(fraud({ maxRecordAgeSeconds: 120, alarms: { iteratorAgeMs: 60_000 } }));
    expect(error.path).toBe('destinations.fraud.maxRecordAgeSeconds');
    expect(error.message).toContain('timeoutSeconds');
    expect(parsePipelineConfig(fraud({ maxRecordAgeSeconds: 121 }), 'test', NOW).destinations.fraud.maxRecordAgeSeconds).toBe(121);
    // -1 (no limit) always leaves room.
    expect(parsePipelineConfig(fraud({ maxRecordAgeSeconds: -1, timeoutSeconds: 900 }), 'test', NOW).destinations.fraud.maxRecordAgeSeconds).toBe(-1);
  });
});

describe('property: whatever is accepted can alarm and retry', () => {
  const settings = fc.record(
    {
      maxRecordAgeSeconds: fc.oneof(fc.constant(-1), fc.integer({ min: 60, max: 604_800 })),
      timeoutSeconds: fc.integer({ min: 10, max: 900 }),
      iteratorAgeMs: fc.integer({ min: 1, max: 604_800_000 }),
      parkedTooLong: fc.integer({ min: 1, max: 1_000_000 }),
    },
    { requiredKeys: [] },
  );
  const retentionHours = fc.integer({ min: 24, max: 8_760 });

  it('accepts a destination only if its IteratorAge and ParkedTooLong alarms can fire and a timed-out batch can be retried', () => {
    fc.assert(
      fc.property(settings, retentionHours, ({ iteratorAgeMs, parkedTooLong, ...rest }, hours) => {
        const alarms = { ...(iteratorAgeMs === undefined ? {} : { iteratorAgeMs }), ...(parkedTooLong === undefined ? {} : { parkedTooLong }) };
        let accepted: DestinationSettings;
        try {
          accepted = parsePipelineConfig(fraud({ ...rest, alarms }, { retentionHours: hours }), 'test', NOW).destinations.fraud;
        } catch (error) {
          expect(error).toBeInstanceOf(PipelineConfigError);
          expect((error as PipelineConfigError).path).toMatch(/^destinations\.fraud\.(alarms\.iteratorAgeMs|alarms\.parkedTooLong|maxRecordAgeSeconds|timeoutSeconds)$/);
          return;
        }
        const reachable = Math.min(hours * 3_600_000, accepted.maxRecordAgeSeconds === -1 ? Infinity : accepted.maxRecordAgeSeconds * 1000);
        expect(accepted.alarms.iteratorAgeMs).toBeLessThan(reachable);
        expect(accepted.alarms.parkedTooLong).toBeLessThanOrEqual(MAX_WAITING_COUNTED);
        if (accepted.maxRecordAgeSeconds !== -1) expect(accepted.maxRecordAgeSeconds).toBeGreaterThan(accepted.timeoutSeconds);
      }),
      { numRuns: 500 },
    );
  });
});
