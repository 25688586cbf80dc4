import { DeleteMessageBatchCommand, ReceiveMessageCommand, SQSClient, CreateQueueCommand } from '@aws-sdk/client-sqs';
import { CreateBucketCommand, GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { startFauxqs } from 'fauxqs';
import { inject } from 'vitest';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../../local/emulators/dynamodb-local';
import { startEventBridgeStandIn, type EventBridgeStandIn } from '../../local/standins/eventbridge/server';
import { startOpenSearchStandIn, type OpenSearchStandIn } from '../../local/standins/opensearch/server';
import { startS3CreateOnlyProxy, type S3CreateOnlyProxy } from '../../local/standins/s3-create-only-proxy';
import { createAccountsTable, createLedgerTable } from '../../local/tables';
import type { AuditObject } from '../../consumers/audit/audit-object';
import type { DestinationName } from '../../shared/config/consumer-config';
import type { Env } from '../../shared/config/env';
import { decodeDeadLetter } from '../../shared/dead-letter/dead-letter-message';
import type { DeadLetter } from '../../shared/ordering/ports';
import { createAuditRuntime } from '../../consumers/audit/handler';
import { createFraudRuntime } from '../../consumers/fraud/handler';
import { createSearchRuntime } from '../../consumers/search/handler';
import type { BuiltRuntime, RuntimeOptions } from '../../shared/consumer/runtime';
import { localDynamoDB, uniqueTableName } from './dynamodb';

/** Each destination's runtime factory, as its Lambda handler module uses it. */
export const CONSUMER_RUNTIMES: Readonly<Record<DestinationName, (env: Env, options: RuntimeOptions) => BuiltRuntime>> = {
  audit: createAuditRuntime,
  search: createSearchRuntime,
  fraud: createFraudRuntime,
};

/**
 * Everything the three consumers talk to, on this machine: DynamoDB Local (the run's), fauxqs for S3 and SQS behind
 * the create-only proxy, and the OpenSearch and EventBridge stand-ins. Each world has its own tables, bucket,
 * queues, index and bus, so test files never see each other's data.
 */
export interface ConsumerWorld {
  readonly dynamodb: DynamoDBClient;
  readonly streams: DynamoDBStreamsClient;
  readonly s3: S3Client;
  readonly sqs: SQSClient;
  readonly openSearch: OpenSearchStandIn;
  readonly eventBridge: EventBridgeStandIn;
  readonly s3Proxy: S3CreateOnlyProxy;
  readonly accountsTable: string;
  readonly ledgerTable: string;
  readonly bucket: string;
  readonly index: string;
  readonly bus: string;
  readonly queues: Readonly<Record<DestinationName, string>>;
  /** The environment the stack would set on the destination's function, pointed at the local services. */
  env(destination: DestinationName, overrides?: Env): Env;
  auditObjects(): Promise<Map<string, AuditObject>>;
  /** Receives (and deletes) every letter in the destination's dead-letter queue. */
  drainDeadLetters(destination: DestinationName): Promise<DeadLetter[]>;
  stop(): Promise<void>;
}

export async function startConsumerWorld(name: string): Promise<ConsumerWorld> {
  const dynamodbEndpoint = inject('dynamodbEndpoint');
  const dynamodb = localDynamoDB();
  const streams = new DynamoDBStreamsClient({ endpoint: dynamodbEndpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });
  const fauxqs = await startFauxqs({ port: 0, logger: false });
  const fauxqsEndpoint = `http://127.0.0.1:${fauxqs.port}`;
  const s3Proxy = await startS3CreateOnlyProxy(fauxqsEndpoint);
  const openSearch = await startOpenSearchStandIn();
  const suffix = uniqueTableName(name).toLowerCase();
  const bus = `fraud-${suffix}`;
  const eventBridge = await startEventBridgeStandIn({ buses: [bus] });
  const accountsTable = uniqueTableName(`Accounts-${name}`);
  const ledgerTable = uniqueTableName(`Ledger-${name}`);
  await createAccountsTable(dynamodb, accountsTable, { stream: true });
  await createLedgerTable(dynamodb, ledgerTable);
  const s3 = new S3Client({ endpoint: s3Proxy.endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS, forcePathStyle: true });
  const sqs = new SQSClient({ endpoint: fauxqsEndpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });
  const bucket = `audit-${suffix}`.slice(0, 63);
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  const queues = {} as Record<DestinationName, string>;
  for (const destination of ['audit', 'search', 'fraud'] as const) {
    const created = await sqs.send(new CreateQueueCommand({ QueueName: `${destination}-dlq-${suffix}`.slice(0, 80) }));
    queues[destination] = created.QueueUrl as string;
  }
  const index = `accounts-${suffix}`;

  return {
    dynamodb,
    streams,
    s3,
    sqs,
    openSearch,
    eventBridge,
    s3Proxy,
    accountsTable,
    ledgerTable,
    bucket,
    index,
    bus,
    queues,
    env(destination, overrides = {}) {
      return {
        AWS_REGION: LOCAL_REGION,
        ACCOUNTS_TABLE_NAME: accountsTable,
        LEDGER_TABLE_NAME: ledgerTable,
        DEAD_LETTER_QUEUE_URL: queues[destination],
        AWS_ENDPOINT_URL_DYNAMODB: dynamodbEndpoint,
        AWS_ENDPOINT_URL_SQS: fauxqsEndpoint,
        AWS_ENDPOINT_URL_S3: s3Proxy.endpoint,
        AWS_ENDPOINT_URL_EVENTBRIDGE: eventBridge.endpoint,
        S3_FORCE_PATH_STYLE: 'true',
        AUDIT_BUCKET_NAME: bucket,
        SEARCH_ENDPOINT: openSearch.endpoint,
        SEARCH_INDEX: index,
        SEARCH_AUTH: 'none',
        FRAUD_EVENT_BUS_NAME: bus,
        // Short backoffs keep failure tests quick; the policy itself is what is under test.
        DELIVERY_BASE_DELAY_MS: '5',
        DELIVERY_MAX_DELAY_MS: '50',
        ...overrides,
      };
    },
    async auditObjects() {
      const objects = new Map<string, AuditObject>();
      let token: string | undefined;
      do {
        const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, ContinuationToken: token }));
        for (const { Key } of page.Contents ?? []) {
          const object = await s3.send(new GetObjectCommand({ Bucket: bucket, Key }));
          objects.set(Key as string, JSON.parse(await (object.Body as { transformToString(): Promise<string> }).transformToString()));
        }
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (token);
      return objects;
    },
    async drainDeadLetters(destination) {
      const letters: DeadLetter[] = [];
      for (;;) {
        const received = await sqs.send(
          new ReceiveMessageCommand({ QueueUrl: queues[destination], MaxNumberOfMessages: 10, WaitTimeSeconds: 0, VisibilityTimeout: 60 }),
        );
        const messages = received.Messages ?? [];
        if (messages.length === 0) return letters;
        for (const message of messages) letters.push(decodeDeadLetter(message.Body ?? ''));
        await sqs.send(
          new DeleteMessageBatchCommand({
            QueueUrl: queues[destination],
            Entries: messages.map((message, i) => ({ Id: String(i), ReceiptHandle: message.ReceiptHandle })),
          }),
        );
      }
    },
    async stop() {
      for (const client of [dynamodb, streams, s3, sqs]) client.destroy();
      await Promise.all([openSearch.stop(), eventBridge.stop(), s3Proxy.stop()]);
      await fauxqs.stop();
    },
  };
}
