import type { EventSourceMappingSettings, LocalEventSourceMappingOptions } from './types';

/**
 * The ranges Lambda's CreateEventSourceMapping accepts for a Kinesis source. The local mapping refuses what AWS
 * refuses, so a setting that works locally cannot fail the deploy (or silently behave differently) on AWS.
 */
export const AWS_LIMITS = {
  batchSize: { min: 1, max: 10_000 },
  maxBatchingWindowSeconds: { min: 0, max: 300 },
  retryAttempts: { min: 0, max: 10_000 },
  maxRecordAgeSeconds: { min: 60, max: 604_800 },
  parallelizationFactor: { min: 1, max: 10 },
} as const;

export const DEFAULT_ON_FAILURE_ATTEMPTS = 3;

function integerIn(name: string, value: number, min: number, max: number, orMinusOne = false): void {
  if (Number.isInteger(value) && ((value >= min && value <= max) || (orMinusOne && value === -1))) return;
  const range = `${orMinusOne ? '-1 or ' : ''}an integer from ${min} to ${max}`;
  throw new RangeError(`${name} must be ${range}, not ${value}`);
}

/** Throws a RangeError naming the setting (and its Lambda name) when it is outside what AWS accepts. */
export function validateSettings(settings: EventSourceMappingSettings): void {
  const { batchSize, maxBatchingWindowMs, retryAttempts, maxRecordAgeSeconds, startingPosition, startingPositionTimestamp } = settings;
  const limits = AWS_LIMITS;
  integerIn('batchSize (BatchSize)', batchSize, limits.batchSize.min, limits.batchSize.max);
  const windowMax = limits.maxBatchingWindowSeconds.max * 1000;
  if (!(Number.isFinite(maxBatchingWindowMs) && maxBatchingWindowMs >= 0 && maxBatchingWindowMs <= windowMax)) {
    throw new RangeError(
      `maxBatchingWindowMs (MaximumBatchingWindowInSeconds 0-${limits.maxBatchingWindowSeconds.max}) must be from 0 to ${windowMax} ms, not ${maxBatchingWindowMs}`,
    );
  }
  integerIn('retryAttempts (MaximumRetryAttempts)', retryAttempts, limits.retryAttempts.min, limits.retryAttempts.max, true);
  integerIn(
    'maxRecordAgeSeconds (MaximumRecordAgeInSeconds)',
    maxRecordAgeSeconds,
    limits.maxRecordAgeSeconds.min,
    limits.maxRecordAgeSeconds.max,
    true,
  );
  const factor = settings.parallelizationFactor ?? 1;
  integerIn('parallelizationFactor (ParallelizationFactor)', factor, limits.parallelizationFactor.min, limits.parallelizationFactor.max);
  if (startingPosition === 'AT_TIMESTAMP' && startingPositionTimestamp === undefined) {
    throw new RangeError('startingPositionTimestamp is required with AT_TIMESTAMP');
  }
  if (startingPositionTimestamp !== undefined) {
    // Lambda: StartingPositionTimestamp is "only valid if StartingPosition is set to AT_TIMESTAMP" and "cannot be in the future".
    if (startingPosition !== 'AT_TIMESTAMP') {
      throw new RangeError(`startingPositionTimestamp (StartingPositionTimestamp) is only valid with AT_TIMESTAMP, not ${startingPosition}`);
    }
    const at = startingPositionTimestamp.getTime();
    if (!Number.isFinite(at)) throw new RangeError('startingPositionTimestamp (StartingPositionTimestamp) is not a valid date');
    if (at > Date.now()) {
      throw new RangeError(`startingPositionTimestamp (StartingPositionTimestamp) cannot be in the future, not ${startingPositionTimestamp.toISOString()}`);
    }
  }
}

/** Checks the mapping's own options (not Lambda settings) that have ranges. */
export function validateOptions(options: LocalEventSourceMappingOptions): void {
  validateSettings(options.settings);
  const attempts = options.onFailureAttempts ?? DEFAULT_ON_FAILURE_ATTEMPTS;
  integerIn('onFailureAttempts', attempts, 1, 100);
  const testAge = options.testOnlyMaxRecordAgeMs;
  if (testAge !== undefined && !(Number.isFinite(testAge) && testAge > 0)) {
    throw new RangeError(`testOnlyMaxRecordAgeMs must be a positive number of ms, not ${testAge}`);
  }
}

/** The record age limit in ms, or undefined for none (-1). */
export function maxRecordAgeMs(options: LocalEventSourceMappingOptions): number | undefined {
  if (options.testOnlyMaxRecordAgeMs !== undefined) return options.testOnlyMaxRecordAgeMs;
  const seconds = options.settings.maxRecordAgeSeconds;
  return seconds === -1 ? undefined : seconds * 1000;
}
