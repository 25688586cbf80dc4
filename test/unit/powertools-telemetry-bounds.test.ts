import { afterEach, beforeEach, describe, expect, it, vi, type MockInstance } from 'vitest';
import type { ConsumedBatch } from '../../shared/consumer/consumed-batch';
import { MAX_LOGGED_DETAIL_CHARS, PowertoolsTelemetry } from '../../shared/observability/powertools-telemetry';
import { METRIC_NAMES } from '../../shared/observability/telemetry';
import { zeroCounts } from '../../shared/ordering/outcome';
import type { DeadLetter } from '../../shared/ordering/ports';

/*
 * CloudWatch Logs takes at most 256 KB per event, and an EMF blob with a metric value that is not a number is not
 * turned into metrics. A letter's detail is the destination's (a plug-in's may carry a whole answer); a waiting report
 * read from a damaged ledger item could make NaN.
 */

type WriteSpy = MockInstance<(chunk: unknown) => boolean>;
let stdout: WriteSpy;
let stderr: WriteSpy;
beforeEach(() => {
  vi.stubEnv('POWERTOOLS_DEV', undefined);
  vi.stubEnv('POWERTOOLS_METRICS_DISABLED', undefined);
  stdout = vi.spyOn(process.stdout, 'write').mockImplementation(() => true) as unknown as WriteSpy;
  stderr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true) as unknown as WriteSpy;
});
afterEach(() => {
  vi.restoreAllMocks();
  vi.unstubAllEnvs();
});
const lines = (spy: WriteSpy): string[] =>
  spy.mock.calls.flatMap(([chunk]) => String(chunk).split('\n')).filter((line) => line.trim() !== '');

function batch(overrides: Partial<ConsumedBatch> = {}): ConsumedBatch {
  return {
    destination: 'audit', records: 1, counts: zeroCounts(), quarantined: 0, retries: 0, failures: [], dispositions: [],
    badRecords: [], deadLetters: [], durationMs: 10, oldestChangeAgeMs: undefined, ...overrides,
  };
}

describe('PowertoolsTelemetry on outsized or broken values', () => {
  it('keeps a dead letter line far below 256 KB whatever its detail, with the account id whole', () => {
    const accountId = `账户-${'x'.repeat(2_000)}`;
    const letter = {
      format: 'ordered-fanout.dead-letter/1', destination: 'audit', epoch: 'live', reason: 'REJECTED', detail: 'y'.repeat(600_000),
      attempts: 1, accountId, version: 7, sequenceNumber: '4960', shardId: 'shardId-000000000001', at: 0, atIso: '',
    } as unknown as DeadLetter;

    new PowertoolsTelemetry({ destination: 'audit' }).batch(batch({ deadLetters: [letter] }));

    const line = lines(stderr).find((text) => text.includes('sent to the dead-letter queue')) as string;
    expect(Buffer.byteLength(line, 'utf8')).toBeLessThan(32_000);
    const parsed = JSON.parse(line) as { accountId: string; version: number; sequenceNumber: string; detail: string };
    expect(parsed).toMatchObject({ accountId, version: 7, sequenceNumber: '4960' });
    expect(parsed.detail).toHaveLength(MAX_LOGGED_DETAIL_CHARS + '… (600000 characters; the whole detail is in the letter)'.length);
  });

  it('leaves a metric that is not a finite number out of the EMF blob, and says so, keeping the others', () => {
    new PowertoolsTelemetry({ destination: 'audit' }).batch(batch({ waiting: { accounts: 2, oldestAgeSeconds: Number.NaN, tooLong: 0 } }));

    const emf = lines(stdout).map((text) => JSON.parse(text) as Record<string, unknown>).filter((line) => '_aws' in line);
    expect(emf).toHaveLength(1);
    expect(emf[0]).not.toHaveProperty(METRIC_NAMES.oldestParkedAge);
    expect(emf[0]).toMatchObject({ [METRIC_NAMES.waitingAccounts]: 2, [METRIC_NAMES.records]: 1 });
    expect(Object.values(emf[0] as object)).not.toContain(null);
    const warning = lines(stderr).map((text) => JSON.parse(text) as Record<string, unknown>).find((line) => line.message === 'metric left out: not a finite number');
    expect(warning).toMatchObject({ metric: METRIC_NAMES.oldestParkedAge, value: 'NaN' });
  });
});
