import type { KinesisClient } from '@aws-sdk/client-kinesis';
import { describe, expect, test } from 'vitest';
import { LocalEventSourceMapping, type EventSourceMappingSettings } from '../../local/esm';

/*
 * Lambda's CreateEventSourceMapping: "StartingPositionTimestamp: With StartingPosition set to AT_TIMESTAMP, the time
 * from which to start reading. StartingPositionTimestamp cannot be in the future." and (Kinesis parameters table)
 * "Only valid if StartingPosition is set to AT_TIMESTAMP". The local mapping must refuse what AWS refuses.
 */
const base: EventSourceMappingSettings = {
  batchSize: 100,
  maxBatchingWindowMs: 0,
  retryAttempts: 2,
  maxRecordAgeSeconds: -1,
  bisectBatchOnError: true,
  startingPosition: 'TRIM_HORIZON',
};

const build = (settings: Partial<EventSourceMappingSettings>) =>
  new LocalEventSourceMapping({
    client: {} as KinesisClient,
    streamArn: 'arn:aws:kinesis:us-east-1:000000000000:stream/s',
    consumerArn: 'arn:aws:kinesis:us-east-1:000000000000:stream/s/consumer/c:1',
    functionName: 'f',
    settings: { ...base, ...settings },
    invoke: async () => undefined,
    onFailure: async () => undefined,
  });

describe('the local event source mapping refuses starting positions AWS refuses', () => {
  test('an AT_TIMESTAMP in the future is refused (StartingPositionTimestamp cannot be in the future)', () => {
    const future = new Date(Date.now() + 60_000);
    expect(() => build({ startingPosition: 'AT_TIMESTAMP', startingPositionTimestamp: future })).toThrow(RangeError);
    expect(() => build({ startingPosition: 'AT_TIMESTAMP', startingPositionTimestamp: future })).toThrow(/StartingPositionTimestamp/);
  });

  test('a timestamp with TRIM_HORIZON or LATEST is refused (only valid with AT_TIMESTAMP)', () => {
    const past = new Date(Date.now() - 60_000);
    for (const startingPosition of ['TRIM_HORIZON', 'LATEST'] as const) {
      expect(() => build({ startingPosition, startingPositionTimestamp: past })).toThrow(RangeError);
    }
  });

  test('an invalid date is refused', () => {
    expect(() => build({ startingPosition: 'AT_TIMESTAMP', startingPositionTimestamp: new Date('nope') })).toThrow(RangeError);
  });

  test('a past or present AT_TIMESTAMP, and the other positions without one, are accepted', () => {
    expect(() => build({ startingPosition: 'AT_TIMESTAMP', startingPositionTimestamp: new Date(Date.now() - 1) })).not.toThrow();
    expect(() => build({ startingPosition: 'AT_TIMESTAMP', startingPositionTimestamp: new Date(0) })).not.toThrow();
    expect(() => build({ startingPosition: 'TRIM_HORIZON' })).not.toThrow();
    expect(() => build({ startingPosition: 'LATEST' })).not.toThrow();
  });
});
