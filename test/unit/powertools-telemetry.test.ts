import { afterEach, beforeEach, describe, expect, it, vi, type MockInstance } from 'vitest';
import { consumerEnvironment } from '../../infra/config/consumer-environment';
import { DEFAULT_PIPELINE_CONFIG } from '../../infra/config/defaults';
import { localLambdaContext } from '../../local/lambda-event';
import type { ConsumedBatch } from '../../shared/consumer/consumed-batch';
import { PowertoolsTelemetry } from '../../shared/observability/powertools-telemetry';
import { METRIC_NAMES } from '../../shared/observability/telemetry';
import { zeroCounts } from '../../shared/ordering/outcome';

/**
 * Outside POWERTOOLS_DEV, Powertools Metrics and Logger print through their own `Console` on process.stdout and
 * process.stderr (EMF and INFO logs on stdout, WARN and ERROR logs on stderr), so the tests read those streams.
 */
type Json = Record<string, unknown>;
type WriteSpy = MockInstance<(chunk: unknown) => boolean>;

let stdout: WriteSpy;
let stderr: WriteSpy;

beforeEach(() => {
  vi.stubEnv('POWERTOOLS_DEV', undefined);
  vi.stubEnv('POWERTOOLS_SERVICE_NAME', undefined);
  vi.stubEnv('POWERTOOLS_METRICS_NAMESPACE', undefined);
  vi.stubEnv('POWERTOOLS_METRICS_DISABLED', undefined);
  vi.stubEnv('POWERTOOLS_LOG_LEVEL', undefined);
  stdout = vi.spyOn(process.stdout, 'write').mockImplementation(() => true) as unknown as WriteSpy;
  stderr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true) as unknown as WriteSpy;
});

afterEach(() => {
  vi.restoreAllMocks();
  vi.unstubAllEnvs();
});

function linesOf(spy: WriteSpy): Json[] {
  return spy.mock.calls
    .flatMap(([chunk]) => String(chunk).split('\n'))
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as Json);
}

interface Emf extends Json {
  _aws: { Timestamp: number; CloudWatchMetrics: { Namespace: string; Dimensions: string[][]; Metrics: { Name: string; Unit: string }[] }[] };
}

const emfBlobs = (): Emf[] => linesOf(stdout).filter((line): line is Emf => '_aws' in line);
const logs = (): Json[] => [...linesOf(stdout), ...linesOf(stderr)].filter((line) => !('_aws' in line));

function batch(overrides: Partial<ConsumedBatch> = {}): ConsumedBatch {
  return {
    destination: 'search',
    records: 12,
    counts: { ...zeroCounts(), delivered: 7, duplicates: 2, stale: 1, parked: 3, healed: 1, deadLettered: 1, ledgerConflicts: 2 },
    quarantined: 1,
    retries: 4,
    failures: [],
    dispositions: [],
    badRecords: [],
    deadLetters: [],
    durationMs: 250,
    oldestChangeAgeMs: 1_234,
    ...overrides,
  };
}

describe('PowertoolsTelemetry', () => {
  it('publishes one EMF blob per batch in namespace OrderedFanout, dimension destination, with the batch counters', () => {
    const telemetry = new PowertoolsTelemetry({ destination: 'search' });

    telemetry.batch(batch());

    const blobs = emfBlobs();
    expect(blobs).toHaveLength(1);
    const [blob] = blobs as [Emf];
    const [directive] = blob._aws.CloudWatchMetrics;
    expect(directive?.Namespace).toBe('OrderedFanout');
    expect(directive?.Dimensions.some((set) => set.includes('destination'))).toBe(true);
    expect(blob.destination).toBe('search');
    const units = Object.fromEntries((directive?.Metrics ?? []).map((metric) => [metric.Name, metric.Unit]));
    expect(units).toMatchObject({
      [METRIC_NAMES.delivered]: 'Count',
      [METRIC_NAMES.duplicates]: 'Count',
      [METRIC_NAMES.stale]: 'Count',
      [METRIC_NAMES.parked]: 'Count',
      [METRIC_NAMES.healed]: 'Count',
      [METRIC_NAMES.deadLettered]: 'Count',
      [METRIC_NAMES.quarantined]: 'Count',
      [METRIC_NAMES.retries]: 'Count',
      [METRIC_NAMES.ledgerConflicts]: 'Count',
      [METRIC_NAMES.batchLatency]: 'Milliseconds',
      [METRIC_NAMES.changeAge]: 'Milliseconds',
    });
    expect(blob).toMatchObject({
      Delivered: 7,
      DuplicatesSkipped: 2,
      StaleSkipped: 1,
      Parked: 3,
      Healed: 1,
      DeadLettered: 1,
      Quarantined: 1,
      DeliveryRetries: 4,
      LedgerConflicts: 2,
      BatchLatency: 250,
      RecordsReceived: 12,
      FailedRecords: 0,
      OldestChangeAge: 1_234,
    });
  });

  it('keeps the destination dimension on every later batch and leaves out an unknown change age', () => {
    const telemetry = new PowertoolsTelemetry({ destination: 'fraud' });

    telemetry.batch(batch({ destination: 'fraud' }));
    telemetry.batch(batch({ destination: 'fraud', durationMs: 9, oldestChangeAgeMs: undefined }));

    const blobs = emfBlobs();
    expect(blobs).toHaveLength(2);
    expect(blobs.map((blob) => blob.destination)).toEqual(['fraud', 'fraud']);
    expect(blobs[1]?.BatchLatency).toBe(9);
    expect(blobs[1]).not.toHaveProperty('OldestChangeAge');
    expect(blobs[1]?._aws.CloudWatchMetrics[0]?.Metrics.map((metric) => metric.Name)).not.toContain('OldestChangeAge');
  });

  it('logs a WARN line for each dead letter, with account, version, reason and destination', () => {
    const telemetry = new PowertoolsTelemetry({ destination: 'search' });

    telemetry.batch(
      batch({
        deadLetters: [
          { destination: 'search', epoch: 'live', reason: 'REJECTED', detail: 'mapper_parsing_exception', attempts: 1, accountId: 'ACC-7', version: 4, sequenceNumber: '4965001', at: 1 },
          { destination: 'search', epoch: 'live', reason: 'GAP_TIMEOUT', detail: 'never came', attempts: 1, accountId: 'ACC-8', version: 9, missing: [[7, 8]], waiting: 2, at: 1 },
        ],
      }),
    );

    const warnings = linesOf(stderr).filter((line) => line.level === 'WARN');
    expect(warnings).toHaveLength(2);
    expect(warnings[0]).toMatchObject({
      message: 'sent to the dead-letter queue',
      destination: 'search',
      accountId: 'ACC-7',
      version: 4,
      reason: 'REJECTED',
      detail: 'mapper_parsing_exception',
      sequenceNumber: '4965001',
    });
    expect(warnings[1]).toMatchObject({ accountId: 'ACC-8', version: 9, reason: 'GAP_TIMEOUT', missing: '7-8', waiting: 2 });
    expect(logs().find((line) => line.message === 'batch done')).toMatchObject({ level: 'INFO', destination: 'search', records: 12 });
  });

  it('logs a quarantined record once, as quarantined, and a failure as an ERROR', () => {
    const telemetry = new PowertoolsTelemetry({ destination: 'audit' });
    const bad = { reason: 'NOT_BASE64' as const, detail: 'The Kinesis data is not padded standard base64.', sequenceNumber: '4965002', shardId: 'shardId-000000000001', data: 'x' };

    telemetry.batch(
      batch({
        destination: 'audit',
        badRecords: [bad],
        deadLetters: [{ destination: 'audit', epoch: 'live', reason: 'BAD_RECORD', detail: 'NOT_BASE64: …', attempts: 1, sequenceNumber: '4965002', bad, at: 1 }],
        failures: [{ accountId: 'ACC-9', version: 3, sequenceNumber: '4965003', shardId: 'shardId-000000000001' }],
      }),
    );

    const warnings = linesOf(stderr).filter((line) => line.level === 'WARN');
    expect(warnings).toEqual([expect.objectContaining({ message: 'an undecodable record, quarantined unless logged below as retried', reason: 'NOT_BASE64', sequenceNumber: '4965002' })]);
    const errors = linesOf(stderr).filter((line) => line.level === 'ERROR');
    expect(errors).toEqual([expect.objectContaining({ accountId: 'ACC-9', version: 3, sequenceNumber: '4965003', destination: 'audit' })]);
    expect(emfBlobs()[0]).toMatchObject({ FailedRecords: 1, destination: 'audit' });
  });

  it('logs a sweep that could not read all waiting accounts as such, with why, and counts it failed', () => {
    const telemetry = new PowertoolsTelemetry({ destination: 'fraud' });

    telemetry.batch(batch({ destination: 'fraud', records: 0, failures: [{ sequenceNumber: '', shardId: '' }], waitingUnread: 'Query on the gaps index: throttled' }));

    const errors = linesOf(stderr).filter((line) => line.level === 'ERROR');
    expect(errors).toEqual([expect.objectContaining({ detail: 'Query on the gaps index: throttled', message: expect.stringContaining('could not read all the accounts waiting') })]);
    expect(emfBlobs()[0]).toMatchObject({ FailedRecords: 1 });
  });

  it("logs a swept account the sweep could not finish as such, with the version it waits for, not as a stream record", () => {
    const telemetry = new PowertoolsTelemetry({ destination: 'fraud' });

    telemetry.batch(batch({ destination: 'fraud', records: 0, failures: [{ accountId: 'ACC-7', version: 5, sequenceNumber: '', shardId: '' }] }));

    const errors = linesOf(stderr).filter((line) => line.level === 'ERROR');
    expect(errors).toEqual([expect.objectContaining({ accountId: 'ACC-7', waitsForVersion: 5, message: expect.stringContaining('the sweep could not finish this account') })]);
    expect(errors[0]).not.toHaveProperty('sequenceNumber');
    expect(emfBlobs()[0]).toMatchObject({ FailedRecords: 1 });
  });

  it('publishes BatchErrors and logs the error of a batch that threw', () => {
    const telemetry = new PowertoolsTelemetry({ destination: 'audit' });
    telemetry.invocation(localLambdaContext('audit-consumer', 10_000));

    telemetry.batchError(new TypeError('x is not a function'), 5, 42);

    expect(emfBlobs()).toEqual([expect.objectContaining({ BatchErrors: 1, BatchLatency: 42, destination: 'audit' })]);
    const [error] = linesOf(stderr).filter((line) => line.level === 'ERROR');
    expect(error).toMatchObject({ error: 'TypeError: x is not a function', records: 5, durationMs: 42, function_name: 'audit-consumer' });
  });

  it('logs and counts the letters a batch stored before it threw: they are in the queue whatever Lambda does next', () => {
    const telemetry = new PowertoolsTelemetry({ destination: 'fraud' });
    const letter = { destination: 'fraud', epoch: 'live', reason: 'REJECTED' as const, detail: 'no', attempts: 1, accountId: 'ACC-1', version: 2, sequenceNumber: '4965007', at: 1 };
    const bad = { ...letter, reason: 'BAD_RECORD' as const, accountId: undefined, version: undefined, sequenceNumber: '4965008' };

    telemetry.batchError(new TypeError('x is not a function'), 3, 9, [letter, bad]);

    expect(emfBlobs()).toEqual([expect.objectContaining({ BatchErrors: 1, DeadLettered: 1, Quarantined: 1, destination: 'fraud' })]);
    const warnings = linesOf(stderr).filter((line) => line.level === 'WARN');
    expect(warnings).toEqual([expect.objectContaining({ message: 'sent to the dead-letter queue', accountId: 'ACC-1', version: 2, sequenceNumber: '4965007', reason: 'REJECTED' })]);
  });

  it('publishes with the service the stack gives the function, the pipeline name its alarms read, and logs it', () => {
    const resources = { pipelineName: 'staging-accounts', accountsTable: 'A', ledgerTable: 'L', deadLetterQueueUrl: 'q' };
    const environment = consumerEnvironment(DEFAULT_PIPELINE_CONFIG.destinations.fraud, resources, {});
    expect(environment.POWERTOOLS_SERVICE_NAME).toBe('staging-accounts');
    vi.stubEnv('POWERTOOLS_SERVICE_NAME', environment.POWERTOOLS_SERVICE_NAME);
    const telemetry = new PowertoolsTelemetry({ destination: 'fraud' });

    telemetry.batch(batch({ destination: 'fraud', deadLetters: [{ destination: 'fraud', epoch: 'live', reason: 'REJECTED', detail: 'no', attempts: 1, accountId: 'ACC-1', version: 2, at: 1 }] }));
    telemetry.batchError(new Error('boom'), 1, 5);

    const blobs = emfBlobs();
    expect(blobs).toHaveLength(2);
    for (const blob of blobs) {
      // Exactly the dimensions `DestinationConsumer.metric()` reads: { service: <pipeline>, destination }.
      expect(blob._aws.CloudWatchMetrics[0]?.Dimensions).toEqual([['service', 'destination']]);
      expect(blob).toMatchObject({ service: 'staging-accounts', destination: 'fraud' });
    }
    expect(logs().length).toBeGreaterThan(0);
    for (const line of logs()) expect(line.service).toBe('staging-accounts');
  });

  it('publishes as `ordered-fanout` when run without the variable (a handler on its own)', () => {
    new PowertoolsTelemetry({ destination: 'audit' }).batch(batch({ destination: 'audit' }));
    expect(emfBlobs()[0]).toMatchObject({ service: 'ordered-fanout', destination: 'audit' });
  });
});
