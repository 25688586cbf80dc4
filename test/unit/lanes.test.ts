import { describe, expect, test } from 'vitest';
import type { ChangeRecord } from '../../shared/change-record/change-record';
import type { KinesisRecordInput } from '../../shared/change-record/kinesis-input';
import { homeLanesOf, laneOptions, partitionKeyLane } from '../../shared/consumer/lanes';

const input = (shardId: string, partitionKey?: string): KinesisRecordInput => ({ data: '', sequenceNumber: '1', shardId, ...(partitionKey === undefined ? {} : { partitionKey }) });
const pair = (accountId: string, from: KinesisRecordInput) => ({ input: from, record: { accountId } as ChangeRecord });

describe("a batch's lanes", () => {
  const inputs = [input('shardId-1', 'K1'), input('shardId-1', 'K2'), input('shardId-1', 'K1'), input('shardId-1')];

  test('the setting as first given, a boolean, reads as shard (true, or unset) or none (false)', () => {
    expect([homeLanesOf(undefined), homeLanesOf(true), homeLanesOf(false), homeLanesOf('partition-key')]).toEqual(['shard', 'shard', 'none', 'partition-key']);
  });

  test("'shard': the batch's shard, for every account; 'none': no lane", () => {
    expect(laneOptions('shard', inputs, [])).toEqual({ lane: 'shardId-1' });
    expect(laneOptions('shard', [], [])).toEqual({});
    expect(laneOptions('none', inputs, [])).toEqual({});
  });

  test("'partition-key': each account's shard and the key of its first record; none for a first record without a key", () => {
    const decoded = [pair('A', inputs[0]!), pair('B', inputs[1]!), pair('A', inputs[1]!), pair('C', inputs[3]!), pair('C', inputs[2]!)];
    const { laneOf, lane } = laneOptions('partition-key', inputs, decoded, 3);
    expect(lane).toBeUndefined();
    // A's records came with K1 then K2: this batch holds K1's records, so no other batch runs K1's lane now.
    expect(['A', 'B', 'C', 'D'].map((id) => laneOf?.(id))).toEqual(['shardId-1/pf3/K1', 'shardId-1/pf3/K2', undefined, undefined]);
    // The factor names the lane: after a change of factor no lane is an old one (they park, and the old homes are fenced).
    expect(partitionKeyLane(input('shardId-2', 'K'), 2)).toBe('shardId-2/pf2/K');
    expect(partitionKeyLane(input('shardId-2', 'K'), 4)).toBe('shardId-2/pf4/K');
    expect(partitionKeyLane(input('shardId-2'), 2)).toBeUndefined();
  });
});
