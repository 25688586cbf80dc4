import {
  CreateTableCommand,
  DescribeTableCommand,
  type DynamoDBClient,
  ResourceInUseException,
} from '@aws-sdk/client-dynamodb';
import { ACCOUNTS_KEY } from '../shared/accounts/account';
import {
  GAPS_INDEX,
  GAPS_INDEX_PARTITION_KEY,
  GAPS_INDEX_SORT_KEY,
  LEDGER_PARTITION_KEY,
  LEDGER_SORT_KEY,
} from '../shared/ledger/ledger-table';

/**
 * Creates the Accounts table the way the stack does, minus what DynamoDB Local lacks: locally the change stream is
 * the table's DynamoDB stream (NEW_AND_OLD_IMAGES, the view Kinesis Data Streams for DynamoDB always carries),
 * which the bridge forwards to Kinesis.
 */
export async function createAccountsTable(
  client: DynamoDBClient,
  tableName: string,
  options: { stream?: boolean } = {},
): Promise<void> {
  await createIfMissing(client, tableName, () =>
    client.send(
      new CreateTableCommand({
        TableName: tableName,
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: [{ AttributeName: ACCOUNTS_KEY, AttributeType: 'S' }],
        KeySchema: [{ AttributeName: ACCOUNTS_KEY, KeyType: 'HASH' }],
        ...(options.stream
          ? { StreamSpecification: { StreamEnabled: true, StreamViewType: 'NEW_AND_OLD_IMAGES' } }
          : {}),
      }),
    ),
  );
}

/** Creates the ledger table with the key design of `shared/ledger/ledger-table.ts`. */
export async function createLedgerTable(client: DynamoDBClient, tableName: string): Promise<void> {
  await createIfMissing(client, tableName, () =>
    client.send(
      new CreateTableCommand({
        TableName: tableName,
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: [
          { AttributeName: LEDGER_PARTITION_KEY, AttributeType: 'S' },
          { AttributeName: LEDGER_SORT_KEY, AttributeType: 'S' },
          { AttributeName: GAPS_INDEX_PARTITION_KEY, AttributeType: 'S' },
          { AttributeName: GAPS_INDEX_SORT_KEY, AttributeType: 'N' },
        ],
        KeySchema: [
          { AttributeName: LEDGER_PARTITION_KEY, KeyType: 'HASH' },
          { AttributeName: LEDGER_SORT_KEY, KeyType: 'RANGE' },
        ],
        GlobalSecondaryIndexes: [
          {
            IndexName: GAPS_INDEX,
            KeySchema: [
              { AttributeName: GAPS_INDEX_PARTITION_KEY, KeyType: 'HASH' },
              { AttributeName: GAPS_INDEX_SORT_KEY, KeyType: 'RANGE' },
            ],
            Projection: { ProjectionType: 'KEYS_ONLY' },
          },
        ],
      }),
    ),
  );
}

async function createIfMissing(client: DynamoDBClient, tableName: string, create: () => Promise<unknown>): Promise<void> {
  try {
    await create();
  } catch (error) {
    if (!(error instanceof ResourceInUseException)) throw error;
  }
  for (let attempt = 0; attempt < 100; attempt += 1) {
    const { Table } = await client.send(new DescribeTableCommand({ TableName: tableName }));
    if (Table?.TableStatus === 'ACTIVE') return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`table ${tableName} did not become ACTIVE`);
}
