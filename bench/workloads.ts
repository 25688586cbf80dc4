import { marshall } from '@aws-sdk/util-dynamodb';
import { ACCOUNTS_KEY } from '../shared/accounts/account';
import type { ChangeRecord } from '../shared/change-record/change-record';
import { encodeKinesisPayload, type KinesisDynamoDBPayload, type KinesisRecordInput } from '../shared/change-record/kinesis-input';
import { prng } from '../local/prng';
import { accountHistory } from '../test/support/histories';

export const ACCOUNTS_TABLE = 'Accounts';
export const SHARD_ID = 'shardId-000000000000';

const randomInt = (random: () => number, below: number): number => Math.floor(random() * below);

/** A UUID-shaped event id, like the `eventID` of the captured fixtures. */
function eventId(random: () => number): string {
  const hex = Array.from({ length: 32 }, () => randomInt(random, 16).toString(16)).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20)}`;
}

const MARSHALL = { removeUndefinedValues: true } as const;

/** The Kinesis Data Streams for DynamoDB payload of one change, shaped like `test/fixtures/kds-dynamodb-records.jsonl`. */
export function toPayload(record: ChangeRecord, eventID: string, tableName = ACCOUNTS_TABLE): KinesisDynamoDBPayload {
  const Keys = marshall({ [ACCOUNTS_KEY]: record.accountId });
  const NewImage = record.newImage ? marshall(record.newImage, MARSHALL) : undefined;
  const OldImage = record.oldImage ? marshall(record.oldImage, MARSHALL) : undefined;
  const SizeBytes = JSON.stringify(Keys).length + JSON.stringify(NewImage ?? {}).length + JSON.stringify(OldImage ?? {}).length;
  return {
    awsRegion: 'ap-southeast-2',
    eventID,
    eventName: record.kind,
    userIdentity: null,
    recordFormat: 'application/json',
    tableName,
    dynamodb: {
      ApproximateCreationDateTime: record.createdAtMicros,
      ApproximateCreationDateTimePrecision: 'MICROSECOND',
      Keys,
      ...(NewImage ? { NewImage } : {}),
      ...(OldImage ? { OldImage } : {}),
      SizeBytes,
    },
    eventSource: 'aws:dynamodb',
  };
}

export interface ThroughputWorkloadOptions {
  readonly accounts: number;
  readonly versionsPerAccount: number;
  readonly batchSize: number;
  /** Share of records that arrive a second time (same change, new sequence number) a little later. */
  readonly duplicateRate: number;
  /** A duplicate arrives 1..duplicateLag records after the original. */
  readonly duplicateLag: number;
  /** Per account and version: the chance that versions v and v+1 of the account swap places in the stream. */
  readonly swapRate: number;
  /** Share of the timeline during which one account writes its versions: 5% gives ~50 accounts per 100 records. */
  readonly activitySpan: number;
  readonly seed: number;
}

export const THROUGHPUT_WORKLOAD: ThroughputWorkloadOptions = {
  accounts: 1_000,
  versionsPerAccount: 100,
  batchSize: 100,
  duplicateRate: 0.05,
  duplicateLag: 200,
  swapRate: 0.02,
  activitySpan: 0.05,
  seed: 20_240_601,
};

export interface ThroughputWorkload {
  readonly options: ThroughputWorkloadOptions;
  /** Lambda-sized batches of base64 Kinesis records. */
  readonly batches: readonly (readonly KinesisRecordInput[])[];
  readonly stats: {
    readonly records: number;
    readonly uniqueChanges: number;
    readonly duplicates: number;
    readonly swaps: number;
    readonly batches: number;
    readonly meanAccountsPerBatch: number;
    readonly meanPayloadBytes: number;
  };
}

/**
 * A stream of `accounts × versionsPerAccount` changes with light chaos. Each account writes its history during its
 * own stretch of the timeline (so a batch interleaves many accounts, a few versions each); then some adjacent
 * versions of an account swap places and some changes are delivered twice, a little later.
 */
export function throughputWorkload(options: ThroughputWorkloadOptions = THROUGHPUT_WORKLOAD): ThroughputWorkload {
  const random = prng(options.seed);
  type Entry = { record: ChangeRecord; eventID: string; time: number };
  const entries: Entry[] = [];
  for (let a = 0; a < options.accounts; a += 1) {
    const accountId = `ACC-${String(a).padStart(5, '0')}`;
    const start = random() * (1 - options.activitySpan);
    const history = accountHistory(accountId, options.versionsPerAccount, {
      shardId: SHARD_ID,
      startMicros: 1_795_392_000_000_000 + Math.round(start * 3_600_000_000),
    });
    history.forEach((record, index) => {
      const time = start + (options.activitySpan * (index + random())) / history.length;
      entries.push({ record, eventID: eventId(random), time });
    });
  }
  entries.sort((a, b) => a.time - b.time);

  // Local reordering: swap the stream positions of versions v and v+1 of one account.
  const positions = new Map<string, number[]>();
  entries.forEach((entry, index) => {
    const list = positions.get(entry.record.accountId);
    if (list) list.push(index);
    else positions.set(entry.record.accountId, [index]);
  });
  let swaps = 0;
  for (const list of positions.values()) {
    for (let v = 0; v + 1 < list.length; v += 1) {
      if (random() >= options.swapRate) continue;
      const [i, j] = [list[v] as number, list[v + 1] as number];
      [entries[i], entries[j]] = [entries[j] as Entry, entries[i] as Entry];
      swaps += 1;
      v += 1;
    }
  }

  // Duplicates: the same change again, 1..duplicateLag records later.
  const keyed = entries.map((entry, index) => ({ entry, key: index }));
  let duplicates = 0;
  entries.forEach((entry, index) => {
    if (random() >= options.duplicateRate) return;
    keyed.push({ entry, key: index + 1 + randomInt(random, options.duplicateLag) + 0.5 });
    duplicates += 1;
  });
  keyed.sort((a, b) => a.key - b.key);

  const arrivalStart = 1_795_392_000;
  const inputs: KinesisRecordInput[] = keyed.map(({ entry }, index) => ({
    data: encodeKinesisPayload(toPayload(entry.record, entry.eventID)),
    sequenceNumber: (49_650_000_000_000_000_000n + BigInt(index) * 7n).toString().padStart(56, '0'),
    shardId: SHARD_ID,
    partitionKey: entry.record.accountId,
    approximateArrivalTimestamp: arrivalStart + index / 1000,
  }));
  const batches: KinesisRecordInput[][] = [];
  for (let start = 0; start < inputs.length; start += options.batchSize) {
    batches.push(inputs.slice(start, start + options.batchSize));
  }
  const accountsPerBatch = batches.map((batch) => new Set(batch.map((input) => input.partitionKey)).size);
  return {
    options,
    batches,
    stats: {
      records: inputs.length,
      uniqueChanges: entries.length,
      duplicates,
      swaps,
      batches: batches.length,
      meanAccountsPerBatch: round(accountsPerBatch.reduce((sum, n) => sum + n, 0) / batches.length, 1),
      meanPayloadBytes: Math.round(inputs.reduce((sum, input) => sum + input.data.length, 0) / inputs.length),
    },
  };
}

export interface LedgerWorkload {
  readonly name: 'hot' | 'cold';
  readonly description: string;
  readonly accounts: number;
  /** Two windows of `window` batches each: the accounts' first changes (new accounts), then the next ones (established). */
  readonly batches: readonly (readonly ChangeRecord[])[];
  /** Batches per window. */
  readonly window: number;
  /** Records per window. */
  readonly records: number;
}

/**
 * Two windows of `batches` batches of `batchSize` records over `accounts` accounts, each account's versions
 * consecutive and in order within and across batches, no duplicates; accounts interleaved at random within a batch
 * (per-account order kept). The first window holds each account's first changes (a new account), the second the
 * changes that follow (an account the pipeline has seen before, as nearly every account of a running pipeline is).
 */
export function ledgerWorkload(
  name: 'hot' | 'cold',
  options: { accounts: number; batches: number; batchSize: number; seed: number },
): LedgerWorkload {
  const random = prng(options.seed);
  const perAccount = options.batchSize / options.accounts;
  if (!Number.isInteger(perAccount)) throw new RangeError('batchSize must be a multiple of accounts');
  const histories = Array.from({ length: options.accounts }, (_, a) =>
    accountHistory(`${name}-${String(a).padStart(4, '0')}`, perAccount * options.batches * 2, { shardId: SHARD_ID }),
  );
  const batches: ChangeRecord[][] = [];
  for (let b = 0; b < options.batches * 2; b += 1) {
    const remaining = histories.map((history) => history.slice(b * perAccount, (b + 1) * perAccount));
    const batch: ChangeRecord[] = [];
    while (batch.length < options.batchSize) {
      const open = remaining.filter((list) => list.length > 0);
      batch.push((open[randomInt(random, open.length)] as ChangeRecord[]).shift() as ChangeRecord);
    }
    batches.push(batch);
  }
  return {
    name,
    description: `${options.batches} batches of ${options.batchSize} records over ${options.accounts} accounts (${perAccount} consecutive version${perAccount === 1 ? '' : 's'} per account per batch, in order, no duplicates), counted twice: from each account's first change (new accounts), and over the ${options.batches} batches after those (established accounts)`,
    accounts: options.accounts,
    batches,
    window: options.batches,
    records: options.batches * options.batchSize,
  };
}

export function round(value: number, digits = 2): number {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}
