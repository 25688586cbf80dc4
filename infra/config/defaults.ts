import { LIVE_EPOCH } from '../../shared/ordering/delivery-mode';
import type { DestinationSettings, PipelineConfig } from './pipeline-config';

/** Freezes a JSON-shaped (acyclic) value and everything in it, frozen parts included; returns the value. */
export function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}

/** The settings every destination shares, before its own resource settings are added (a plug-in's are just these). */
export function destinationDefaults(): DestinationSettings {
  return {
    enabled: true,
    batchSize: 100,
    // Lambda's own default: a batch goes as soon as records are there. A window trades latency for bigger batches
    // (fewer ledger writes on hot accounts); see the README's latency notes.
    maxBatchingWindowSeconds: 0,
    parallelizationFactor: 1,
    retryAttempts: 10,
    maxRecordAgeSeconds: -1,
    memorySize: 512,
    timeoutSeconds: 120,
    delivery: { maxAttempts: 6, baseDelayMs: 100, maxDelayMs: 5_000 },
    maxGapAgeSeconds: 900,
    startingPosition: 'TRIM_HORIZON',
    epoch: LIVE_EPOCH.id,
    alarms: {
      iteratorAgeMs: 60_000,
      errors: 1,
      throttles: 1,
      deadLetters: 1,
      oldestParkedAgeSeconds: 900,
      parkedTooLong: 1,
      evaluationPeriods: 3,
    },
  };
}

/** Every default named in the doc comments of `pipeline-config.ts`; deeply frozen. */
export const DEFAULT_PIPELINE_CONFIG: PipelineConfig = deepFreeze<PipelineConfig>({
  alarmEmails: [],
  accountsTable: { billingMode: 'PAY_PER_REQUEST', readCapacity: 5, writeCapacity: 5 },
  stream: { mode: 'ON_DEMAND', shardCount: 2, retentionHours: 8_760 },
  destinations: {
    audit: { ...destinationDefaults(), objectLockDays: 2_555, transitionDays: 90 },
    search: { ...destinationDefaults(), index: 'accounts', dataNodes: 2, instanceType: 't3.small.search', masterNodes: 0, masterInstanceType: 'm6g.large.search' },
    fraud: { ...destinationDefaults(), archiveRetentionDays: 365 },
  },
});
