import { PutItemCommand, type AttributeValue } from '@aws-sdk/client-dynamodb';
import type { KinesisClient } from '@aws-sdk/client-kinesis';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { expect } from 'vitest';
import type { PipelineTarget } from '../../ops/target';
import { createAccountsTable, createLedgerTable } from '../../local/tables';
import { DynamoDBLedger } from '../../shared/ledger/dynamodb-ledger';
import type { DeliveryMode } from '../../shared/ordering/delivery-mode';
import { emptyWatermark, type Watermark } from '../../shared/ordering/watermark';
import { localDynamoDB, uniqueTableName } from './dynamodb';

/** A destination of the fixture: its mode, and (a replay) its epoch and the function environment that says its window. */
export type FixtureDestination = DeliveryMode | { readonly mode: DeliveryMode; readonly epoch?: string; readonly environment?: () => Promise<Record<string, string>> };

/**
 * A target of two fresh tables on DynamoDB Local, whose ledger holds exactly the watermarks a test writes: the states
 * a bad day leaves, without running a pipeline into them. Consumers and queues answer ACTIVE and empty.
 */
export async function ledgerTarget(given: Readonly<Record<string, FixtureDestination>>) {
  const dynamodb = localDynamoDB();
  const accountsTable = uniqueTableName('accounts');
  const ledgerTable = uniqueTableName('ledger');
  await createAccountsTable(dynamodb, accountsTable);
  await createLedgerTable(dynamodb, ledgerTable);
  const specs = Object.fromEntries(Object.entries(given).map(([name, spec]) => [name, typeof spec === 'string' ? { mode: spec } : spec]));
  const epochOf = (name: string): string => specs[name]?.epoch ?? 'live';
  const destinations = Object.fromEntries(
    Object.entries(specs).map(([name, { mode }]) => [
      name,
      { name, mode, functionName: name, epoch: epochOf(name), startingPosition: 'TRIM_HORIZON', streamConsumerArn: `arn:${name}`, deadLetterQueueUrl: `queue:${name}` },
    ]),
  );
  const target = {
    kind: 'local',
    description: 'ledger fixture',
    accountsTable,
    ledgerTable,
    streamArn: 'arn:stream',
    destinations,
    dynamodb,
    sqs: { send: async () => ({ Attributes: { ApproximateNumberOfMessages: '0', ApproximateNumberOfMessagesNotVisible: '0' } }) } as unknown as SQSClient,
    kinesis: { send: async () => ({ ConsumerDescription: { ConsumerStatus: 'ACTIVE' } }) } as unknown as KinesisClient,
    environment: async (name: string) => (specs[name]?.environment ? specs[name].environment() : {}),
    invoke: async () => ({ batchItemFailures: [] }),
    command: async () => {
      throw new Error('not in this fixture');
    },
    close: async () => dynamodb.destroy(),
  } as PipelineTarget;
  return {
    target,
    /** An Accounts item at `version`, with `updated_at` when given. */
    account: async (accountId: string, version: number, updatedAt?: string) => {
      const item: Record<string, AttributeValue> = { account_id: { S: accountId }, version: { N: String(version) }, balance: { N: '0' } };
      if (updatedAt !== undefined) item.updated_at = { S: updatedAt };
      await dynamodb.send(new PutItemCommand({ TableName: accountsTable, Item: item }));
    },
    /** A watermark of `destination`, under its epoch unless `epoch` says another. */
    watermark: async (destination: string, fields: Partial<Watermark> & { accountId: string }, epoch = epochOf(destination)) => {
      const ledger = new DynamoDBLedger({ client: dynamodb, tableName: ledgerTable, destination, epoch });
      const next: Watermark = { ...emptyWatermark(fields.accountId), ...fields, revision: 1, updatedAt: Date.now() };
      expect(await ledger.write({ next, expectedRevision: 0, park: [], unpark: [] })).toBe('committed');
    },
  };
}
