import { describe, expect, test } from 'vitest';
import { firstShards, ShardGenerations, type ListedShard } from '../../local/esm/shard-generations';

// shard 0 split into 1 and 2; 1 and 2 merged into 3; 4 is an unrelated open shard.
const LISTED: ListedShard[] = [
  { shardId: 's0', parents: [], open: false },
  { shardId: 's1', parents: ['s0'], open: false },
  { shardId: 's2', parents: ['s0'], open: false },
  { shardId: 's3', parents: ['s1', 's2'], open: true },
  { shardId: 's4', parents: [], open: true },
];

describe('firstShards', () => {
  test('from TRIM_HORIZON or a time: the oldest generation listed, whose children follow', () => {
    expect(firstShards(LISTED, 'TRIM_HORIZON')).toEqual(['s0', 's4']);
    expect(firstShards(LISTED.slice(1), 'AT_TIMESTAMP')).toEqual(['s1', 's2', 's4']);
  });

  test('from LATEST: the open shards (a closed one has nothing after its end)', () => {
    expect(firstShards(LISTED, 'LATEST')).toEqual(['s3', 's4']);
  });
});

describe('ShardGenerations', () => {
  test("a split's children start when their parent finishes; a merge's child waits for both parents", () => {
    const generations = new ShardGenerations();
    generations.started('s0');
    expect(generations.finished('s0', [{ shardId: 's1', parents: ['s0'] }, { shardId: 's2', parents: ['s0'] }])).toEqual(['s1', 's2']);
    generations.started('s1');
    generations.started('s2');
    expect(generations.finished('s1', [{ shardId: 's3', parents: ['s1', 's2'] }])).toEqual([]);
    expect(generations.finished('s2', [{ shardId: 's3', parents: ['s1', 's2'] }])).toEqual(['s3']);
  });

  test('a parent this mapping never read (expired, or closed before a LATEST start) holds nothing up', () => {
    const generations = new ShardGenerations();
    generations.started('s2');
    expect(generations.finished('s2', [{ shardId: 's3', parents: ['s1', 's2'] }])).toEqual(['s3']);
  });
});
