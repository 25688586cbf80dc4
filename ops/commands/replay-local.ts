import {
  DeregisterStreamConsumerCommand,
  DescribeStreamConsumerCommand,
  RegisterStreamConsumerCommand,
  ResourceInUseException,
  type KinesisClient,
} from '@aws-sdk/client-kinesis';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../../local/emulators/dynamodb-local';
import { randomUUID } from 'node:crypto';
import { LocalEventSourceMapping, onFailureObjectKey } from '../../local/esm';
import { LocalFunction } from '../../local/functions/local-function';
import { FunctionMetrics } from '../../local/pipeline/function-metrics';
import { replayReadStart } from '../../infra/config/consumer-environment';
import type { CommandIO } from '../io';
import type { PipelineTarget } from '../target';

/** The function's EMF metrics `replay` reports, in this order. */
const METRICS = ['RecordsReceived', 'Delivered', 'DuplicatesSkipped', 'StaleSkipped', 'Parked', 'Healed', 'DeadLettered', 'Quarantined'] as const;

export interface LocalReplayRequest {
  readonly destination: string;
  readonly epoch: string;
  readonly from: string;
  readonly replayBefore: string;
  readonly consumerName: string;
  readonly timeoutMs: number;
}

export interface LocalReplayOutcome {
  /** The mapping read everything the stream held when the catch-up began. */
  readonly caughtUp: boolean;
  readonly invocations: number;
  /** Records the function accepted. */
  readonly records: number;
  readonly sentToOnFailure: number;
  /** The function's own counters (its EMF metrics), summed over the catch-up. */
  readonly metrics: Readonly<Record<(typeof METRICS)[number], number>>;
  readonly durationMs: number;
}

const MAX_FAILURE_REASONS = 5;

/**
 * Says why invocations fail, once per distinct reason and at most `MAX_FAILURE_REASONS` of them: the on-failure
 * records of a batch say only `Unhandled`, and a replay's function has no log file of its own.
 */
export function failureReporter(err: (line: string) => void): (error: unknown) => void {
  const reasons = new Set<string>();
  return (error) => {
    const reason = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    if (reasons.has(reason) || reasons.size >= MAX_FAILURE_REASONS) return;
    reasons.add(reason);
    err(`replay: an invocation failed: ${reason}${reasons.size === MAX_FAILURE_REASONS ? ' (further reasons not shown)' : ''}`);
  };
}

/**
 * The local replay: a one-off catch-up. It registers the new EFO consumer on kinesis-local, runs the destination's
 * handler (the state file's function environment, with the new `LEDGER_EPOCH`, `EPOCH_REPLAY_FROM` and `EPOCH_REPLAY_BEFORE`) behind a
 * local event source mapping from AT_TIMESTAMP `from`, waits until the mapping has read up to the present, reports
 * what the function did, then stops both and deregisters the consumer. The live mapping of `npm start` is not touched
 * and keeps running on its own epoch, so changes made after the catch-up reach the destination through it only.
 */
export async function runLocalReplay(target: PipelineTarget, request: LocalReplayRequest, io: CommandIO): Promise<LocalReplayOutcome> {
  const state = target.local;
  if (!state) throw new Error('a local replay needs the local pipeline state (fanout --local)');
  const { destination, epoch } = request;
  // The destination as the pipeline runs it (built-in or plug-in): its settings, handler module and environment.
  const running = state.destinations[destination];
  if (!running) throw new Error(`the local pipeline has no destination ${destination}`);
  const { settings } = running;
  const started = Date.now();
  const say = (line: string): void => {
    if (!io.json) io.out(line);
  };
  const reportFailure = failureReporter(io.err);
  const consumerArn = await registerConsumer(target.kinesis, target.streamArn, request.consumerName);
  say(`registered EFO consumer ${request.consumerName}`);
  // The pipeline's series, as on AWS (a state file written before functions had the variable: every document).
  const metrics = new FunctionMetrics(running.environment.POWERTOOLS_SERVICE_NAME);
  const fn = new LocalFunction({
    functionName: `ordered-fanout-${destination}-${epoch}`,
    entry: running.handler,
    environment: {
      ...running.environment,
      LEDGER_EPOCH: epoch,
      EPOCH_REPLAY_FROM: request.from,
      EPOCH_REPLAY_BEFORE: request.replayBefore,
    },
    onLogLine: (line) => metrics.accept(line),
    // Ended at the function's timeout, as Lambda ends it. (One environment: concurrent lanes queue for it.)
    timeoutMs: settings.timeoutSeconds * 1000,
    memoryMb: settings.memorySize,
  });
  const s3 = new S3Client({ region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS, endpoint: state.endpoints.s3, forcePathStyle: true });
  // Lambda names an on-failure object by its mapping's UUID (see `onFailureObjectKey`).
  const mappingUuid = randomUUID();
  const mapping = new LocalEventSourceMapping({
    client: target.kinesis,
    streamArn: target.streamArn,
    consumerArn,
    functionName: fn.functionName,
    settings: {
      batchSize: settings.batchSize,
      maxBatchingWindowMs: settings.maxBatchingWindowSeconds * 1000,
      retryAttempts: settings.retryAttempts,
      // A replay reads old records by design: no age limit, or a retried batch would go straight to on-failure.
      maxRecordAgeSeconds: -1,
      parallelizationFactor: settings.parallelizationFactor,
      bisectBatchOnError: true,
      startingPosition: 'AT_TIMESTAMP',
      // As `fanout replay` has the stack's mapping read: from a little before the window (REPLAY_READ_MARGIN_SECONDS).
      startingPositionTimestamp: new Date(replayReadStart(request.from)),
    },
    invocationTimeoutMs: settings.timeoutSeconds * 1000,
    invoke: (event, context) => fn.invoke(event, context).catch((error: unknown) => {
      reportFailure(error);
      throw error;
    }),
    onFailure: async (record) => {
      const info = record.KinesisBatchInfo;
      await s3.send(
        new PutObjectCommand({
          Bucket: state.resources.failedBatchesBucket,
          Key: onFailureObjectKey(mappingUuid, info.shardId),
          Body: JSON.stringify(record),
        }),
      );
      io.err(`replay: a batch of ${info.batchSize} went to the on-failure bucket (${record.requestContext.condition})`);
    },
  });
  let caughtUp = false;
  try {
    await mapping.start();
    say(`reading the stream from ${request.from} under epoch ${epoch}...`);
    caughtUp = await mapping.drain(request.timeoutMs);
  } finally {
    await mapping.stop();
    // The last batch's metric lines travel through the worker's stdout: give them a moment.
    await new Promise((resolve) => setTimeout(resolve, 200));
    await fn.stop();
    s3.destroy();
    await target.kinesis.send(new DeregisterStreamConsumerCommand({ ConsumerARN: consumerArn })).catch(() => undefined);
  }
  const outcome: LocalReplayOutcome = {
    caughtUp,
    invocations: mapping.stats.invocations,
    records: mapping.stats.records,
    sentToOnFailure: mapping.stats.sentToOnFailure,
    metrics: Object.fromEntries(METRICS.map((name) => [name, metrics.total(destination, name)])) as LocalReplayOutcome['metrics'],
    durationMs: Date.now() - started,
  };
  say(`${caughtUp ? 'caught up' : `NOT caught up within ${Math.round(request.timeoutMs / 1000)} s`}: ${outcome.invocations} invocations, ${outcome.records} records in ${(outcome.durationMs / 1000).toFixed(1)} s`);
  say(`${destination}: ${METRICS.map((name) => `${name} ${outcome.metrics[name]}`).join(', ')}${outcome.sentToOnFailure ? `, on-failure ${outcome.sentToOnFailure}` : ''}`);
  say(`stopped the replay's mapping and function and deregistered ${request.consumerName}; the live mapping keeps running`);
  return outcome;
}

/** Registers the consumer (or finds it, left by an earlier run) and waits until it is ACTIVE. */
async function registerConsumer(kinesis: KinesisClient, streamArn: string, consumerName: string): Promise<string> {
  let consumerArn: string | undefined;
  try {
    const { Consumer } = await kinesis.send(new RegisterStreamConsumerCommand({ StreamARN: streamArn, ConsumerName: consumerName }));
    consumerArn = Consumer?.ConsumerARN;
  } catch (error) {
    if (!(error instanceof ResourceInUseException)) throw error;
  }
  const deadline = Date.now() + 60_000;
  for (;;) {
    const { ConsumerDescription: description } = await kinesis.send(
      new DescribeStreamConsumerCommand(consumerArn ? { ConsumerARN: consumerArn } : { StreamARN: streamArn, ConsumerName: consumerName }),
    );
    if (description?.ConsumerStatus === 'ACTIVE' && description.ConsumerARN) return description.ConsumerARN;
    if (Date.now() > deadline) throw new Error(`EFO consumer ${consumerName} did not become ACTIVE within 60 s`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
