import { describe, expect, it } from 'vitest';
import { ShardCheckpoint } from '../../local/esm/esm-checkpoint';
import { laneOf, ShardLanes } from '../../local/esm/esm-lanes';
import type { KinesisRecordInput } from '../../shared/change-record/kinesis-input';

const record = (sequenceNumber: number, partitionKey = 'k'): KinesisRecordInput => ({
  data: '',
  sequenceNumber: String(sequenceNumber),
  shardId: 'shardId-000000000000',
  partitionKey,
});

describe('ShardCheckpoint: lanes finish in any order, the checkpoint only covers a completed prefix', () => {
  it('does not move past a record a lane still has', () => {
    const moves: string[] = [];
    const checkpoint = new ShardCheckpoint((sequenceNumber) => moves.push(sequenceNumber));
    const records = [1, 2, 3, 4, 5, 6].map((n) => record(n));
    checkpoint.register(records);
    checkpoint.complete([records[3], records[4]] as KinesisRecordInput[]);
    expect(checkpoint.value).toBeUndefined();
    expect(checkpoint.reached('1')).toBe(false);
    checkpoint.complete([records[0], records[1]] as KinesisRecordInput[]);
    expect(checkpoint.value).toBe('2');
    checkpoint.complete([records[2]] as KinesisRecordInput[]);
    expect(checkpoint.value).toBe('5');
    expect(checkpoint.reached('5')).toBe(true);
    expect(checkpoint.reached('6')).toBe(false);
    checkpoint.complete([records[5]] as KinesisRecordInput[]);
    expect(moves).toEqual(['2', '5', '6']);
    expect(checkpoint.pending).toBe(0);
  });

  it('refuses to complete a record it never registered', () => {
    const checkpoint = new ShardCheckpoint(() => undefined);
    expect(() => checkpoint.complete([record(1)])).toThrow(/never registered/);
  });
});

describe('ShardLanes: a partition key always maps to the same lane', () => {
  it('keeps every key in one lane, in order, and spreads keys over lanes', () => {
    const lanes = new ShardLanes(4, new ShardCheckpoint(() => undefined));
    const records = Array.from({ length: 200 }, (_, i) => record(i + 1, `account-${i % 20}`));
    lanes.push(records.slice(0, 90));
    lanes.push(records.slice(90));
    const used = new Set(records.map((r) => laneOf(r.partitionKey ?? '', 4)));
    expect(used.size).toBeGreaterThan(1);
    for (const r of records) expect(laneOf(r.partitionKey ?? '', 4)).toBe(laneOf(r.partitionKey ?? '', 4));
    expect(lanes.buffers.reduce((sum, buffer) => sum + buffer.size, 0)).toBe(200);
    expect(laneOf('anything', 1)).toBe(0);
  });
});
