import { ScanCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { KinesisClient } from '@aws-sdk/client-kinesis';
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { PipelineTarget } from '../../ops/target';

/** An accounts table and a ledger that hold nothing: no epoch was used before (what `fanout replay` checks first). */
export const EMPTY_TABLES = {
  send: async (command: object) => (command instanceof ScanCommand ? { Items: [] } : { Responses: {} }),
} as unknown as DynamoDBClient;

/**
 * A deployed stack as `fanout replay` plans against it: its outputs and a stream of 24-hour retention, nothing that
 * replay must not touch (no clients, no invocations).
 */
export function replayTarget(stack: string, streamArn: string, destinations: PipelineTarget['destinations']): PipelineTarget {
  return {
    kind: 'aws',
    description: `stack ${stack} in eu-west-1`,
    accountsTable: 'Accounts',
    ledgerTable: 'OrderingLedger',
    streamArn,
    destinations,
    dynamodb: EMPTY_TABLES,
    sqs: {} as SQSClient,
    kinesis: { send: async () => ({ StreamDescriptionSummary: { RetentionPeriodHours: 24 } }) } as unknown as KinesisClient,
    environment: async () => ({}),
    invoke: () => Promise.reject(new Error('not invoked by replay')),
    command: () => Promise.reject(new Error('not used by replay')),
    close: async () => undefined,
  };
}
