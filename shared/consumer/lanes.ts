import type { ChangeRecord } from '../change-record/change-record';
import type { KinesisRecordInput } from '../change-record/kinesis-input';
import type { ProcessOptions } from '../ordering/engine';

/**
 * What a batch's lane is, for `in-order` home lanes (see `ProcessOptions`): what Lambda runs one batch at a time.
 * - `shard`: the batch's shard. A mapping with a `parallelizationFactor` of 1 runs one batch of a shard at a time.
 * - `partition-key`: each account's shard and Kinesis partition key. Above 1, Lambda runs several batches of a shard
 *   at once but one at a time per partition key, so that pair is what it serializes.
 * - `none`: no lane; every `in-order` account claims before it delivers (two ledger writes per account per batch).
 */
export type HomeLanes = 'shard' | 'partition-key' | 'none';

export const HOME_LANES: readonly HomeLanes[] = ['shard', 'partition-key', 'none'];

/** The setting as it was first given, a boolean (`true`: `shard`, `false`: `none`), or as it is now. */
export function homeLanesOf(setting: HomeLanes | boolean | undefined): HomeLanes {
  if (setting === undefined || setting === true) return 'shard';
  return setting === false ? 'none' : setting;
}

/**
 * One record's lane with `partition-key` lanes, for a mapping running `factor` batches of a shard at once: undefined
 * for a record that came without a partition key. The factor is part of the name: Lambda does not say how it hands a
 * key's records over when the factor changes, so a new factor makes new lanes, which park until the sweeper fences
 * the old homes (see the README, *Concurrency*) rather than trust that no batch of the old factor still runs.
 */
export function partitionKeyLane(input: KinesisRecordInput, factor: number): string | undefined {
  return input.partitionKey === undefined ? undefined : `${input.shardId}/pf${factor}/${input.partitionKey}`;
}

/**
 * The engine's lane options for a batch. With `partition-key`, an account's lane is the shard and key of its first
 * record in the batch: whatever key DynamoDB gave the account's other changes, this batch is the only one in flight
 * holding a record of that key (Lambda runs one batch at a time per partition key), so no other engine takes the
 * account as its own on that lane without a claim. An account whose first record came without a key has no lane (it
 * claims). `decoded` pairs each decoded record with the input it came from, in stream order; `factor` is the
 * mapping's `parallelizationFactor` (`partitionKeyLane`).
 */
export function laneOptions(
  lanes: HomeLanes,
  inputs: readonly KinesisRecordInput[],
  decoded: readonly { readonly input: KinesisRecordInput; readonly record: ChangeRecord }[],
  factor = 1,
): Pick<ProcessOptions, 'lane' | 'laneOf'> {
  if (lanes === 'none') return {};
  if (lanes === 'shard') {
    const shard = inputs[0]?.shardId;
    return shard === undefined ? {} : { lane: shard };
  }
  const byAccount = new Map<string, string | undefined>();
  for (const { input, record } of decoded) if (!byAccount.has(record.accountId)) byAccount.set(record.accountId, partitionKeyLane(input, factor));
  return { laneOf: (accountId) => byAccount.get(accountId) };
}
