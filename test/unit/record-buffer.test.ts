import { describe, expect, test } from 'vitest';
import { RecordBuffer } from '../../local/esm/record-buffer';
import { kinesisEventRecordBytes, LAMBDA_PAYLOAD_LIMIT_BYTES, toLambdaKinesisEvent } from '../../local/lambda-event';

const record = (index: number, dataBytes: number) => ({
  data: Buffer.alloc((dataBytes * 3) / 4, index).toString('base64'),
  sequenceNumber: String(49_650_000 + index).padStart(56, '0'),
  shardId: 'shardId-000000000001',
  partitionKey: `ACC-${index}`,
});

describe("the local event source mapping's batches", () => {
  test('are cut at 6 MB of event as Lambda cuts them, whatever the batch size; one record still goes alone', async () => {
    const buffer = new RecordBuffer();
    buffer.push(Array.from({ length: 20 }, (_, index) => record(index, 1_000_000)));
    const signal = new AbortController().signal;
    const sizes: number[] = [];
    for (;;) {
      if (buffer.size === 0) break;
      const batch = (await buffer.next(100, 0, signal)) ?? [];
      sizes.push(batch.length);
      const event = JSON.stringify(toLambdaKinesisEvent(batch, { region: 'us-east-1', streamArn: 'arn:aws:kinesis:us-east-1:123456789012:stream/s' }));
      expect(Buffer.byteLength(event)).toBeLessThanOrEqual(LAMBDA_PAYLOAD_LIMIT_BYTES);
    }
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(20);
    expect(Math.max(...sizes)).toBe(6);
  });

  test("a record's size estimate is never below what it adds to the event", () => {
    for (const input of [record(1, 100), { ...record(2, 10), partitionKey: '\u0001'.repeat(2_048) }]) {
      const alone = Buffer.byteLength(JSON.stringify(toLambdaKinesisEvent([input], { region: 'ap-southeast-2', streamArn: `arn:aws:kinesis:ap-southeast-2:123456789012:stream/${'s'.repeat(128)}` }).Records[0]));
      expect(kinesisEventRecordBytes(input)).toBeGreaterThanOrEqual(alone);
    }
  });
});
