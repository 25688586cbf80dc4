import { ScanCommand, type AttributeValue, type DynamoDBClient, type ScanCommandInput } from '@aws-sdk/client-dynamodb';
import type { KinesisClient } from '@aws-sdk/client-kinesis';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { DESTINATION_NAMES } from '../../infra/config/pipeline-config';
import type { PipelineTarget } from '../../ops/target';

/** A ledger that holds nothing: no epoch was used before (what `fanout replay` checks last, with a Scan). */
export const EMPTY_TABLES = {
  send: async (command: object) => (command instanceof ScanCommand ? { Items: [], ScannedCount: 0 } : { Responses: {} }),
} as unknown as DynamoDBClient;

/** A stub ledger table and the Scans it was asked (their inputs, in the order they came). */
export type StubLedger = DynamoDBClient & { readonly scans: ScanCommandInput[] };

/**
 * A ledger table holding items of the partition keys `keys` (one item each), as a parallel Scan reads it: segment `s`
 * of `n` holds the keys at positions `s`, `s + n`, ...; a page reads `Limit` of them and answers those that pass the
 * `begins_with(#pk, :prefix)` filter (projected to `pk`), with `ScannedCount` and, while some are left, a
 * `LastEvaluatedKey` (a key may repeat: a watermark and its parked records share one). `fail(input)` may throw instead of answering. Anything but a Scan is refused.
 */
export function stubLedger(keys: readonly string[], fail?: (input: ScanCommandInput) => Error | undefined): StubLedger {
  const scans: ScanCommandInput[] = [];
  const send = async (command: object) => {
    if (!(command instanceof ScanCommand)) throw new Error(`the ledger stub answers Scan only, got ${command.constructor.name}`);
    const input = command.input;
    scans.push(input);
    await Promise.resolve();
    const error = fail?.(input);
    if (error) throw error;
    const total = input.TotalSegments ?? 1;
    const mine = keys.filter((_, index) => index % total === (input.Segment ?? 0));
    // Items of one partition share its key: the stub's sort key is the item's position in the segment.
    const after = input.ExclusiveStartKey?.sk?.S;
    const start = after === undefined ? 0 : Number(after) + 1;
    const page = mine.slice(start, start + (input.Limit ?? mine.length));
    const prefix = input.ExpressionAttributeValues?.[':prefix']?.S ?? '';
    const last = page.at(-1);
    const end = start + page.length;
    return {
      Items: page.filter((key) => key.startsWith(prefix)).map((key): Record<string, AttributeValue> => ({ pk: { S: key } })),
      ScannedCount: page.length,
      ...(last !== undefined && end < mine.length ? { LastEvaluatedKey: { pk: { S: last }, sk: { S: String(end - 1) } } } : {}),
    };
  };
  return { send, scans } as unknown as StubLedger;
}

/**
 * A deployed stack as `fanout replay` plans against it: its outputs and a stream of 24-hour retention, nothing that
 * replay must not touch (no clients, no invocations).
 */
/** Every built-in destination of stack `stack` as deployed and live on `streamArn`, from TRIM_HORIZON. */
export function liveDestinations(streamArn: string, stack = 'OrderedFanout'): PipelineTarget['destinations'] {
  return Object.fromEntries(
    DESTINATION_NAMES.map((name) => [
      name,
      {
        name,
        functionName: `${stack}-${name}`,
        epoch: 'live',
        startingPosition: 'TRIM_HORIZON',
        streamConsumerArn: `${streamArn}/consumer/${stack}-${name}-live-0a1b2c3d:1790000000`,
        deadLetterQueueUrl: `https://sqs.eu-west-1.amazonaws.com/123456789012/${name}-dlq`,
      },
    ]),
  ) as PipelineTarget['destinations'];
}

export function replayTarget(stack: string, streamArn: string, destinations: PipelineTarget['destinations'], dynamodb: DynamoDBClient = EMPTY_TABLES): PipelineTarget {
  return {
    kind: 'aws',
    description: `stack ${stack} in eu-west-1`,
    accountsTable: 'Accounts',
    ledgerTable: 'OrderingLedger',
    streamArn,
    destinations,
    dynamodb,
    sqs: {} as SQSClient,
    kinesis: { send: async () => ({ StreamDescriptionSummary: { RetentionPeriodHours: 24 } }) } as unknown as KinesisClient,
    environment: async () => ({}),
    invoke: () => Promise.reject(new Error('not invoked by replay')),
    command: () => Promise.reject(new Error('not used by replay')),
    close: async () => undefined,
  };
}
