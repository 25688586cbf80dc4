import { PutObjectCommand } from '@aws-sdk/client-s3';
import type { KinesisStreamEvent } from 'aws-lambda';
import { randomUUID } from 'node:crypto';
import { fromLambdaKinesisRecord } from '../../shared/change-record/kinesis-input';
import { LocalEventSourceMapping, onFailureObjectKey } from '../esm';
import { LocalFunction } from '../functions/local-function';
import type { TimelineEvent } from '../report/report-input';
import type { AnyDestination, LocalEnvironment } from './environment';
import type { CrashCounter } from './fault-report';
import type { FunctionMetrics } from './function-metrics';
import { startLocalSweeper } from './local-sweeper';
import type { StageClock } from './stage-clock';

export interface DestinationFunctionsOptions {
  readonly shards: number;
  readonly seed: number;
  /** `--crash-rate`: seeded per destination by its place in the run. @default 0 */
  readonly crashRate?: number;
  readonly log: (message: string) => void;
  readonly onFunctionLog?: (destination: AnyDestination, line: string) => void;
}

/** What the run observes of the functions while they work: their metrics, stage times, crashes and timed events. */
export interface FunctionObservers {
  readonly metrics: FunctionMetrics;
  readonly stages: StageClock;
  readonly crashes: CrashCounter;
  readonly events: TimelineEvent[];
}

/**
 * Per destination of the run, what Lambda runs for it: its function (worker-thread execution environments with the
 * function's own variables), its event source mapping on the destination's EFO consumer (what it gives up on goes to
 * the on-failure bucket), and its gap sweeper unless it has none. Each one's stop is pushed onto `stops` as it starts.
 * The mappings are returned unstarted.
 */
export function startDestinationFunctions(
  env: LocalEnvironment,
  options: DestinationFunctionsOptions,
  { metrics, stages, crashes, events }: FunctionObservers,
  stops: (() => Promise<void>)[],
): Record<AnyDestination, LocalEventSourceMapping> {
  const { log } = options;
  const mappings = {} as Record<AnyDestination, LocalEventSourceMapping>;
  for (const [index, { name: destination, settings, handler, sweeper }] of env.destinations.entries()) {
    const onLogLine = (line: string): void => {
      metrics.accept(line);
      options.onFunctionLog?.(destination, line);
    };
    const fn = new LocalFunction({
      functionName: `ordered-fanout-${destination}`,
      entry: handler,
      environment: env.functionEnvironment(destination),
      // One environment per concurrent batch: shards × parallelization factor, as Lambda scales the mapping.
      concurrency: options.shards * settings.parallelizationFactor,
      timeoutMs: settings.timeoutSeconds * 1000,
      memoryMb: settings.memorySize,
      onLogLine,
      // Thrown here it would end the run from a worker's message: an event without records (an operator's) is skipped.
      onLedgerRead: (event, atMs) => {
        const records = (event as Partial<KinesisStreamEvent>).Records;
        if (Array.isArray(records)) stages.ledgerRead(destination, records.map(fromLambdaKinesisRecord), atMs);
      },
      ...((options.crashRate ?? 0) > 0
        ? {
            crashes: {
              rate: options.crashRate ?? 0,
              seed: (Math.imul(options.seed >>> 0, 0x01000193) ^ (0x5eed + index)) >>> 0,
              onCrash: ({ point }) => {
                crashes.count(destination, point);
                events.push({ atMs: Date.now(), destination, kind: `crash ${point}` });
              },
            },
          }
        : {}),
    });
    stops.push(() => fn.stop());
    // Lambda names an on-failure object by its mapping's UUID (see `onFailureObjectKey`).
    const mappingUuid = randomUUID();
    const mapping = new LocalEventSourceMapping({
      client: env.kinesis,
      streamArn: env.resources.streamArn,
      consumerArn: env.resources.streamConsumers[destination] as string,
      functionName: fn.functionName,
      settings: {
        batchSize: settings.batchSize,
        maxBatchingWindowMs: settings.maxBatchingWindowSeconds * 1000,
        retryAttempts: settings.retryAttempts,
        maxRecordAgeSeconds: settings.maxRecordAgeSeconds,
        parallelizationFactor: settings.parallelizationFactor,
        bisectBatchOnError: true,
        startingPosition: settings.startingPosition,
        ...(settings.startingPositionTimestamp ? { startingPositionTimestamp: new Date(settings.startingPositionTimestamp) } : {}),
      },
      invocationTimeoutMs: settings.timeoutSeconds * 1000,
      invoke: (event, context) => fn.invoke(event, context),
      onReceived: (records, atMs) => stages.received(destination, records, atMs),
      onInvoke: (records, atMs) => stages.invoked(destination, records, atMs),
      onFailure: async (record) => {
        const info = record.KinesisBatchInfo;
        events.push({ atMs: Date.now(), destination, kind: `on-failure batch (${record.requestContext.condition})` });
        await env.s3.send(
          new PutObjectCommand({
            Bucket: env.resources.failedBatchesBucket,
            Key: onFailureObjectKey(mappingUuid, info.shardId),
            Body: JSON.stringify(record),
          }),
        );
        log(`${destination}: a batch of ${info.batchSize} went to the on-failure bucket (${record.requestContext.condition})`);
      },
      onFailureDropped: (record, error) => {
        const info = record.KinesisBatchInfo;
        log(
          `${destination}: LOST a batch of ${info.batchSize} (${info.shardId} ${info.startSequenceNumber}-${info.endSequenceNumber}): ` +
            `the on-failure bucket refused it (${error instanceof Error ? error.message : String(error)})`,
        );
      },
    });
    mappings[destination] = mapping;
    stops.push(() => mapping.stop());
    if (sweeper !== undefined) stops.push(startLocalSweeper(destination, env, log, onLogLine, sweeper));
  }
  return mappings;
}
