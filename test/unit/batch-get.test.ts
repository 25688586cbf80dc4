import { describe, expect, it } from 'vitest';
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { batchGetAll, type BatchRead } from '../../shared/dynamodb/batch-get';

type Item = Record<string, AttributeValue>;
const keyOf = (index: number): Item => ({ id: { S: `A${index}` } });
const idOf = (item: Item): string => item.id?.S as string;

describe('batchGetAll', () => {
  it('reads 100 keys a call and reads the unprocessed ones again after a backoff, until every key is read', async () => {
    const calls: number[] = [];
    const backoffs: [number, number][] = [];
    // The first call of each page leaves its last 30 keys unprocessed; the second leaves 10 of those.
    const read: BatchRead = async (keys) => {
      calls.push(keys.length);
      const keep = keys.length === 100 ? 70 : keys.length === 30 ? 20 : keys.length;
      return { items: keys.slice(0, keep), unprocessed: keys.slice(keep) };
    };
    const found: string[] = [];

    await batchGetAll(
      Array.from({ length: 230 }, (_, index) => keyOf(index)),
      read,
      (item) => found.push(idOf(item)),
      { maxRetries: 8, backoff: async (round, keys) => void backoffs.push([round, keys]), giveUp: (keys) => new Error(`${keys} left`) },
    );

    expect(calls).toEqual([100, 30, 10, 100, 30, 10, 30, 10]);
    expect(backoffs).toEqual([[1, 30], [2, 10], [1, 30], [2, 10], [1, 10]]);
    expect(new Set(found).size).toBe(230);
  });

  it('gives up with the reader\'s error after maxRetries rounds of unprocessed keys, naming how many are left', async () => {
    const stuck: BatchRead = async (keys) => ({ items: [], unprocessed: keys.slice(0, 3) });
    let rounds = 0;

    await expect(
      batchGetAll([keyOf(1), keyOf(2), keyOf(3), keyOf(4)], stuck, () => undefined, {
        maxRetries: 2,
        backoff: async () => void (rounds += 1),
        giveUp: (keys) => new Error(`${keys} reads stayed unprocessed`),
      }),
    ).rejects.toThrow('3 reads stayed unprocessed');
    expect(rounds).toBe(2);
  });

  it('stops when the backoff throws (no time left), without another read', async () => {
    let reads = 0;
    const partial: BatchRead = async (keys) => {
      reads += 1;
      return { items: [], unprocessed: keys };
    };

    await expect(
      batchGetAll([keyOf(1)], partial, () => undefined, {
        maxRetries: 8,
        backoff: async () => {
          throw new Error('out of time');
        },
        giveUp: () => new Error('never'),
      }),
    ).rejects.toThrow('out of time');
    expect(reads).toBe(1);
  });

  it('reads nothing for no keys', async () => {
    let reads = 0;
    await batchGetAll([], async () => ((reads += 1), { items: [], unprocessed: [] }), () => undefined, { maxRetries: 1, backoff: async () => undefined, giveUp: () => new Error('never') });
    expect(reads).toBe(0);
  });
});
