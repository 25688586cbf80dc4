import { describe, expect, test } from 'vitest';
import { onFailureObjectKey } from '../../local/esm';

describe('onFailureObjectKey', () => {
  test("is Lambda's layout for a stream mapping's S3 on-failure destination: aws/lambda/<mapping>/<shard>/YYYY/MM/DD/YYYY-MM-DDTHH.MM.SS-<uuid>", () => {
    const at = new Date('2026-12-05T07:08:09.123Z');
    expect(onFailureObjectKey('a1b2c3d4-0000-4000-8000-000000000001', 'shardId-000000000002', at, 'f0e1d2c3-0000-4000-8000-000000000009')).toBe(
      'aws/lambda/a1b2c3d4-0000-4000-8000-000000000001/shardId-000000000002/2026/12/05/2026-12-05T07.08.09-f0e1d2c3-0000-4000-8000-000000000009',
    );
  });

  test('two records of one shard in the same second get two objects', () => {
    const at = new Date('2026-12-05T07:08:09Z');
    expect(onFailureObjectKey('m', 'shardId-0', at)).not.toBe(onFailureObjectKey('m', 'shardId-0', at));
  });
});
