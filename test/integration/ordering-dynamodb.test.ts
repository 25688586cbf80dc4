import { ScanCommand, type AttributeValue, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createLedgerTable } from '../../local/tables';
import type { ChangeRecord } from '../../shared/change-record/change-record';
import { DynamoDBLedger } from '../../shared/ledger/dynamodb-ledger';
import { drive, type LedgerBackend } from '../property/drive';
import { violations } from '../property/invariants';
import { MODE_VARIANTS } from '../property/shapes';
import { buildStream } from '../property/stream-model';
import { seededYields } from '../property/yields';
import { localDynamoDB, uniqueTableName } from '../support/dynamodb';

let client: DynamoDBClient;
beforeAll(() => {
  client = localDynamoDB();
});
afterAll(() => client.destroy());

async function dynamoBackend(): Promise<LedgerBackend> {
  const tableName = uniqueTableName('race-ledger');
  await createLedgerTable(client, tableName);
  return {
    ledger: () => new DynamoDBLedger({ client, tableName, destination: 'dest', epoch: 'live' }),
    allParked: async () => {
      const parked: ChangeRecord[] = [];
      let startKey: Record<string, AttributeValue> | undefined;
      do {
        const page: { Items?: Record<string, AttributeValue>[]; LastEvaluatedKey?: Record<string, AttributeValue> } =
          await client.send(
          new ScanCommand({
            TableName: tableName,
            FilterExpression: 'begins_with(sk, :parked)',
            ExpressionAttributeValues: { ':parked': { S: 'PARKED#' } },
            ConsistentRead: true,
            ExclusiveStartKey: startKey,
          }),
        );
        for (const item of page.Items ?? []) parked.push(unmarshall(item).record as ChangeRecord);
        startKey = page.LastEvaluatedKey;
      } while (startKey);
      return parked;
    },
  };
}


/**
 * The properties of the in-memory runs, on DynamoDB Local: two engines race on overlapping batches of the same
 * accounts, every watermark change is a real conditional write, parking a real transaction, and engines crash
 * between delivery and commit.
 */
describe('two engines racing on DynamoDB Local', () => {
  test.each(MODE_VARIANTS)('%s %s', async (mode, inOrderCommit) => {
    const shapes = fc.record({
      lengths: fc.array(fc.integer({ min: 5, max: 30 }), { minLength: 4, maxLength: 8 }),
      seed: fc.integer(),
      duplicateRate: fc.constant(0.3),
      shards: fc.constant(2),
      maxBatchSize: fc.constantFrom(10, 25),
    });
    await fc.assert(
      fc.asyncProperty(shapes, async (shape) => {
        const stream = buildStream(shape);
        const result = await drive(stream, {
          mode,
          crashRate: 0.05,
          seed: shape.seed,
          ...(inOrderCommit ? { inOrderCommit } : {}),
          interleave: seededYields(shape.seed),
          backend: await dynamoBackend(),
        });
        expect(violations(stream, result, inOrderCommit)).toEqual([]);
      }),
      { numRuns: 3 },
    );
  }, 300_000);
});
