import { describe, expect, test } from 'vitest';
import { MAX_EVENT_ACCOUNTS, redriveEvents, toKinesisInput, type RedriveItem } from '../../ops/commands/redrive-batches';
import { MAX_REDRIVE_BATCH } from '../../ops/commands/redrive-options';
import { toLambdaKinesisEvent } from '../../local/lambda-event';
import { accountHistory } from '../support/histories';

/** Lambda's limit on a synchronous invocation's payload. */
const LAMBDA_PAYLOAD_BYTES = 6 * 1024 * 1024;
const STREAM_ARN = `arn:aws:kinesis:ap-southeast-2:123456789012:stream/${'s'.repeat(128)}`;

function items(accountIds: readonly string[], versions: number): RedriveItem[] {
  let sequence = 0;
  return accountIds.flatMap((accountId) =>
    accountHistory(accountId, versions).map((record) => {
      sequence += 1;
      const input = toKinesisInput({ ...record, sequenceNumber: String(49_650_000_000_000 + sequence).padStart(56, '0'), shardId: 'shardId-000000000003' }, 'Accounts', 'ap-southeast-2');
      return { message: {}, reason: 'DELIVERY_FAILED', input, accountId, version: record.version, key: `${accountId}#${record.version}`, at: 0 } as RedriveItem;
    }),
  );
}

const payloadBytes = (event: readonly RedriveItem[]) =>
  Buffer.byteLength(JSON.stringify({ command: 'redrive', records: toLambdaKinesisEvent(event.map((item) => item.input), { region: 'ap-southeast-2', streamArn: STREAM_ARN }).Records }));

describe('redrive invocations stay within what Lambda takes', () => {
  test('10,000 small changes a batch: the records around the data count too', () => {
    const events = redriveEvents(items(Array.from({ length: 2_500 }, (_, i) => `ACC-${i}`), 4), MAX_REDRIVE_BATCH);
    expect(events.flat()).toHaveLength(10_000);
    for (const event of events) {
      expect(payloadBytes(event)).toBeLessThan(LAMBDA_PAYLOAD_BYTES);
      // Each answer carries a view of every account of its invocation, under the same 6 MB.
      expect(new Set(event.map((item) => item.accountId)).size).toBeLessThanOrEqual(MAX_EVENT_ACCOUNTS);
    }
  });

  test('account ids of 2,048 bytes of control characters (six bytes each in JSON) as partition keys', () => {
    const ids = Array.from({ length: 300 }, (_, i) => `${'\u0001'.repeat(2_040)}${String(i).padStart(8, '0')}`);
    const events = redriveEvents(items(ids, 2), MAX_REDRIVE_BATCH);
    expect(events.flat()).toHaveLength(600);
    for (const event of events) expect(payloadBytes(event)).toBeLessThan(LAMBDA_PAYLOAD_BYTES);
  });
});
