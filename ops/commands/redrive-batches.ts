import { marshall } from '@aws-sdk/util-dynamodb';
import type { Message } from '@aws-sdk/client-sqs';
import { kinesisEventRecordBytes, toLambdaKinesisEvent } from '../../local/lambda-event';
import { ACCOUNTS_KEY } from '../../shared/accounts/account';
import type { ChangeRecord } from '../../shared/change-record/change-record';
import type { AccountView } from '../../shared/consumer/operator-command';
import { encodeKinesisPayload, type KinesisDynamoDBPayload, type KinesisRecordInput } from '../../shared/change-record/kinesis-input';
import type { PipelineTarget } from '../target';

/** One letter on its way back through the engine: its message, and the Kinesis record it becomes. */
export interface RedriveItem {
  readonly message: Message;
  readonly reason: string;
  readonly input: KinesisRecordInput;
  readonly accountId?: string;
  readonly version?: number;
  readonly key: string;
  readonly at: number;
}

/** The Kinesis-for-DynamoDB record that carried `record`, rebuilt: same event id, creation time, images and position. */
export function toKinesisInput(record: ChangeRecord, tableName: string, region: string): KinesisRecordInput {
  const options = { removeUndefinedValues: true };
  const newImage = record.newImage ? marshall(record.newImage as Record<string, unknown>, options) : undefined;
  const oldImage = record.oldImage ? marshall(record.oldImage as Record<string, unknown>, options) : undefined;
  const payload: KinesisDynamoDBPayload = {
    awsRegion: region,
    eventID: record.eventId,
    eventName: record.kind,
    userIdentity: record.removedByTtl ? { type: 'Service', principalId: 'dynamodb.amazonaws.com' } : null,
    recordFormat: 'application/json',
    tableName,
    dynamodb: {
      ApproximateCreationDateTime: record.createdAtMicros,
      ApproximateCreationDateTimePrecision: 'MICROSECOND',
      Keys: marshall({ [ACCOUNTS_KEY]: record.accountId }),
      ...(newImage ? { NewImage: newImage } : {}),
      ...(oldImage ? { OldImage: oldImage } : {}),
      SizeBytes: Buffer.byteLength(JSON.stringify([newImage, oldImage])),
    },
    eventSource: 'aws:dynamodb',
  };
  return {
    data: encodeKinesisPayload(payload),
    sequenceNumber: record.sequenceNumber,
    shardId: record.shardId,
    partitionKey: record.accountId,
    ...(record.arrivedAtMs !== undefined ? { approximateArrivalTimestamp: record.arrivedAtMs / 1000 } : {}),
  };
}

/** Bytes of an invocation's records (`kinesisEventRecordBytes`), under Lambda's 6 MB limit with room for the rest. */
export const MAX_EVENT_BYTES = 5_000_000;
/**
 * Accounts per invocation: the answer carries a view of each (`AccountView`, up to about 12 KB for an account with a
 * long id and many ranges), and Lambda's answer has the same 6 MB limit, met only after the function did the work.
 */
export const MAX_EVENT_ACCOUNTS = 250;

/**
 * Invocations of at most `batchSize` records, 5 MB of record JSON (`kinesisEventRecordBytes`) and 250 accounts: accounts
 * in turn, each account's versions in order and kept in one invocation when they fit.
 */
export function redriveEvents(items: readonly RedriveItem[], batchSize: number): RedriveItem[][] {
  const byAccount = new Map<string, RedriveItem[]>();
  for (const item of items) {
    const account = item.accountId ?? '\uffff';
    byAccount.set(account, [...(byAccount.get(account) ?? []), item]);
  }
  const result: RedriveItem[][] = [];
  let current: RedriveItem[] = [];
  let bytes = 0;
  let accounts = 0;
  const flush = (): void => {
    if (current.length > 0) result.push(current);
    current = [];
    bytes = 0;
    accounts = 0;
  };
  for (const group of [...byAccount.keys()].sort().map((account) => byAccount.get(account)!)) {
    group.sort((a, b) => (a.version ?? 0) - (b.version ?? 0) || a.input.sequenceNumber.localeCompare(b.input.sequenceNumber));
    const sizes = group.map((item) => kinesisEventRecordBytes(item.input));
    const groupBytes = sizes.reduce((sum, size) => sum + size, 0);
    if (current.length + group.length > batchSize || bytes + groupBytes > MAX_EVENT_BYTES || accounts === MAX_EVENT_ACCOUNTS) flush();
    accounts += 1;
    group.forEach((item, index) => {
      const size = sizes[index] as number;
      if (current.length === batchSize || (current.length > 0 && bytes + size > MAX_EVENT_BYTES)) {
        flush();
        // The group goes on in the next invocation: its account is in that one too.
        accounts = 1;
      }
      current.push(item);
      bytes += size;
    });
  }
  flush();
  return result;
}

/**
 * Runs the function on one batch of records as a `redrive` operator command, not as a Kinesis event: the function
 * then treats them as a side path, which claims (or fences) before it delivers, since the records' shard may be
 * delivering the same accounts right now. Answers which records failed (all of them when it threw or answered nonsense).
 */
export async function invokeBatch(
  target: PipelineTarget,
  destination: string,
  items: readonly RedriveItem[],
  region: string,
): Promise<{ all: boolean; ids: Set<string>; detail?: string; accounts: readonly AccountView[] }> {
  const { Records: records } = toLambdaKinesisEvent(items.map((item) => item.input), { region, streamArn: target.streamArn });
  try {
    const response = await target.command(destination, { command: 'redrive', records });
    const failures = response?.orderedFanout?.batchItemFailures;
    if (!Array.isArray(failures)) return { all: true, ids: new Set(), detail: 'the function did not answer the redrive command (is it older than this fanout?)', accounts: [] };
    const accounts = response.orderedFanout.accounts ?? [];
    const ids = new Set(failures.map((failure) => failure.itemIdentifier));
    const known = new Set(items.map((item) => item.input.sequenceNumber));
    // As Lambda does: an identifier that is not in the batch fails the whole batch.
    if ([...ids].some((id) => !known.has(id))) return { all: true, ids, detail: 'the function reported a failure for a record not in the batch', accounts };
    return { all: false, ids, accounts };
  } catch (error) {
    return { all: true, ids: new Set(), detail: `the invocation failed: ${error instanceof Error ? error.message : String(error)}`, accounts: [] };
  }
}
