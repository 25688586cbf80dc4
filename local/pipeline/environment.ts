import { fileURLToPath } from 'node:url';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import {
  CreateStreamCommand,
  DescribeStreamConsumerCommand,
  DescribeStreamSummaryCommand,
  IncreaseStreamRetentionPeriodCommand,
  RegisterStreamConsumerCommand,
  type KinesisClient,
} from '@aws-sdk/client-kinesis';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { CreateQueueCommand, SQSClient } from '@aws-sdk/client-sqs';
import { startFauxqs } from 'fauxqs';
import { consumerEnvironment, streamConsumerName } from '../../infra/config/consumer-environment';
import { parseDestinationSettings } from '../../infra/config/load-config';
import type { DestinationName, DestinationSettings, PipelineConfig } from '../../infra/config/pipeline-config';
import type { PluginName } from '../../shared/config/consumer-config';
import type { DeliveryMode } from '../../shared/ordering/delivery-mode';
import type { LocalPlugin, LocalStandIn } from '../plugins/local-plugin';
import { BUILT_IN_DESTINATIONS, type RunnableDestination } from '../plugins/local-destinations';
import { LOCAL_CREDENTIALS, LOCAL_REGION, startDynamoDBLocal, type RunningDynamoDBLocal } from '../emulators/dynamodb-local';
import { startKinesisLocal, type RunningKinesisLocal } from '../emulators/kinesis-local';
import { startS3CreateOnlyProxy, type S3CreateOnlyProxy } from '../standins/s3-create-only-proxy';
import { createAccountsTable, createLedgerTable } from '../tables';

/**
 * The stack's name locally, and so the pipeline's (the default `pipelineName`): EFO consumers are named, and metrics
 * carry their `service`, as `cdk deploy` of the bundled stack has them.
 */
export const LOCAL_STACK_NAME = 'OrderedFanout';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** A built-in destination or a plug-in's name. */
export type AnyDestination = DestinationName | PluginName;

export interface LocalResources {
  readonly accountsTable: string;
  readonly ledgerTable: string;
  readonly streamName: string;
  readonly streamArn: string;
  readonly failedBatchesBucket: string;
  readonly deadLetterQueues: Readonly<Record<AnyDestination, string>>;
  readonly streamConsumers: Readonly<Record<AnyDestination, string>>;
}

/** The emulators every run has, and the services its destinations' stand-ins started (`opensearch`, ...). */
export type LocalEndpoints = Readonly<{ dynamodb: string; kinesis: string; fauxqs: string; s3: string }> & Readonly<Record<string, string>>;

/** A destination of this run, built-in or plug-in alike: what runs it, and its emulator or stand-in. */
export interface RunningDestination {
  readonly name: AnyDestination;
  readonly mode: DeliveryMode;
  /** The configuration's for a built-in, the defaults every destination has for a plug-in. */
  readonly settings: DestinationSettings;
  /** The handler module Lambda runs (absolute path). */
  readonly handler: string;
  /** Its gap sweeper module (absolute path), unless `latest-state`. */
  readonly sweeper?: string;
  readonly local: LocalPlugin;
  readonly standIn: LocalStandIn;
}

/** Every emulator and stand-in of the local pipeline, on free loopback ports, with the stack's resources in them. */
export interface LocalEnvironment {
  /** The pipeline's name: its functions' `POWERTOOLS_SERVICE_NAME`, the `service` of their metrics. */
  readonly pipelineName: string;
  readonly endpoints: LocalEndpoints;
  readonly resources: LocalResources;
  readonly dynamodb: DynamoDBClient;
  readonly streams: DynamoDBStreamsClient;
  readonly kinesis: KinesisClient;
  readonly s3: S3Client;
  readonly sqs: SQSClient;
  /** In front of fauxqs S3, for every S3 write of the run (the on-failure bucket's, audit's). */
  readonly s3Proxy: S3CreateOnlyProxy;
  /** The destinations of this run (`--destinations`), in the run's order, each on its own emulator or stand-in. */
  readonly destinations: readonly RunningDestination[];
  /** The environment the stack would give the destination's function, pointed at the local services. */
  functionEnvironment(destination: AnyDestination): Record<string, string>;
  stop(): Promise<void>;
}

export interface EnvironmentOptions {
  readonly config: PipelineConfig;
  readonly shards: number;
  /** A DynamoDB Local that is already running (tests); otherwise one is started and stopped with the environment. */
  readonly dynamodbEndpoint?: string;
  /** Appended to table, stream, bucket and queue names, so runs on a shared emulator do not meet. */
  readonly suffix?: string;
  /**
   * Variables set on top of what the configuration gives a destination's function (a fault run's short claim and gap
   * age, e.g. `CLAIM_TTL_SECONDS`), in its consumer and sweeper alike, and in what `fanout --local` runs.
   */
  readonly functionOverrides?: Partial<Record<AnyDestination, Readonly<Record<string, string>>>>;
  /** The destinations to run, each with its local half. @default the built-ins */
  readonly destinations?: readonly RunnableDestination[];
  readonly log?: (message: string) => void;
}

export async function startLocalEnvironment(options: EnvironmentOptions): Promise<LocalEnvironment> {
  const log = options.log ?? (() => undefined);
  const suffix = options.suffix ?? '';
  const stops: (() => Promise<void> | void)[] = [];
  const stop = async (): Promise<void> => {
    for (const step of stops.reverse()) await Promise.resolve(step()).catch(() => undefined);
  };
  try {
    let dynamodbEndpoint = options.dynamodbEndpoint;
    if (!dynamodbEndpoint) {
      log('starting DynamoDB Local');
      const running: RunningDynamoDBLocal = await startDynamoDBLocal();
      stops.push(() => running.stop());
      dynamodbEndpoint = running.endpoint;
    }
    log('starting kinesis-local and fauxqs');
    const [kinesisLocal, fauxqs] = await Promise.all([startKinesisLocal(), startFauxqs({ port: 0, logger: false })]);
    stops.push(() => (kinesisLocal as RunningKinesisLocal).stop(), () => fauxqs.stop());
    const fauxqsEndpoint = `http://127.0.0.1:${fauxqs.port}`;
    const s3Proxy = await startS3CreateOnlyProxy(fauxqsEndpoint);
    stops.push(() => s3Proxy.stop());

    const aws = { region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS };
    const dynamodb = new DynamoDBClient({ ...aws, endpoint: dynamodbEndpoint });
    const streams = new DynamoDBStreamsClient({ ...aws, endpoint: dynamodbEndpoint });
    const kinesis = kinesisLocal.client();
    const s3 = new S3Client({ ...aws, endpoint: s3Proxy.endpoint, forcePathStyle: true });
    const sqs = new SQSClient({ ...aws, endpoint: fauxqsEndpoint });
    stops.push(() => [dynamodb, streams, kinesis, s3, sqs].forEach((client) => client.destroy()));

    const { config } = options;
    const accountsTable = `Accounts${suffix}`;
    const ledgerTable = `OrderingLedger${suffix}`;
    const streamName = `accounts-changes${suffix}`;
    const failedBatchesBucket = `ordered-fanout-failed-batches${suffix}`.toLowerCase();
    log('creating the tables, the stream, the on-failure bucket');
    await createAccountsTable(dynamodb, accountsTable, { stream: true });
    await createLedgerTable(dynamodb, ledgerTable);
    const streamArn = await createStream(kinesis, streamName, options.shards, config.stream.retentionHours);
    await s3.send(new CreateBucketCommand({ Bucket: failedBatchesBucket }));

    const chosen = options.destinations ?? BUILT_IN_DESTINATIONS;
    log(`starting the destinations: ${chosen.map(({ runtime }) => runtime.name).join(', ')}`);
    const endpoints = { fauxqs: fauxqsEndpoint, s3: s3Proxy.endpoint };
    // Started together, each stop registered as soon as it exists: one that fails to start stops the others.
    const started = await Promise.allSettled(
      chosen.map(async (destination): Promise<RunningDestination> => {
        const { name, mode } = destination.runtime;
        const settings = settingsOf(config, name);
        const standIn = await destination.local.start({ sqs, s3, s3Proxy, endpoints, suffix, settings });
        stops.push(() => standIn.stop());
        const { handler, sweeper } = destination.infra;
        return { name, mode, settings, handler: `${ROOT}${handler}`, ...(sweeper ? { sweeper: `${ROOT}${sweeper}` } : {}), local: destination.local, standIn };
      }),
    );
    const failed = started.find((result) => result.status === 'rejected');
    if (failed) throw failed.reason;
    const destinations = started.map((result) => (result as PromiseFulfilledResult<RunningDestination>).value);

    log('creating the dead-letter queues and the EFO consumers');
    const deadLetterQueues = {} as Record<AnyDestination, string>;
    const streamConsumers = {} as Record<AnyDestination, string>;
    for (const { name, settings } of destinations) {
      const queue = await sqs.send(new CreateQueueCommand({ QueueName: `ordered-fanout-${name}-dlq${suffix}` }));
      deadLetterQueues[name] = queue.QueueUrl as string;
      streamConsumers[name] = await registerConsumer(kinesis, streamArn, streamConsumerName(LOCAL_STACK_NAME, name, settings));
    }
    const resources: LocalResources = { accountsTable, ledgerTable, streamName, streamArn, failedBatchesBucket, deadLetterQueues, streamConsumers };
    const core = { dynamodb: dynamodbEndpoint, kinesis: kinesisLocal.endpoint, ...endpoints };
    return {
      pipelineName: LOCAL_STACK_NAME,
      // The emulators first and never renamed by a stand-in, then what the destinations started, in their order.
      endpoints: Object.assign({ ...core }, ...destinations.map(({ standIn }) => standIn.endpoints ?? {}), core) as LocalEndpoints,
      resources,
      dynamodb,
      streams,
      kinesis,
      s3,
      sqs,
      s3Proxy,
      destinations,
      functionEnvironment(destination) {
        const running = destinations.find(({ name }) => name === destination);
        if (running === undefined) throw new Error(`no destination ${destination} in this local run`);
        const own = running.standIn.environment;
        return {
          ...consumerEnvironment(
            running.settings,
            { pipelineName: LOCAL_STACK_NAME, accountsTable, ledgerTable, deadLetterQueueUrl: deadLetterQueues[destination] as string },
            own,
          ),
          AWS_REGION: LOCAL_REGION,
          AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId,
          AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey,
          AWS_ENDPOINT_URL_DYNAMODB: dynamodbEndpoint as string,
          AWS_ENDPOINT_URL_SQS: fauxqsEndpoint,
          AWS_ENDPOINT_URL_S3: s3Proxy.endpoint,
          S3_FORCE_PATH_STYLE: 'true',
          AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
          // The stand-in's word on its own service wins (a fault proxy in front of fauxqs), keeping the keys' order.
          ...own,
          ...options.functionOverrides?.[destination],
        };
      },
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

/**
 * A destination's settings, as the stack would give them: a built-in's `destinations.<name>`, a plug-in's
 * `plugins.<name>.settings` (already merged over the defaults and checked), else the defaults every destination has.
 */
function settingsOf(config: PipelineConfig, name: AnyDestination): DestinationSettings {
  if (Object.hasOwn(config.destinations, name)) return config.destinations[name as DestinationName];
  return config.plugins?.[name]?.settings ?? parseDestinationSettings(undefined, name, 'defaults', config.stream);
}

async function createStream(kinesis: KinesisClient, name: string, shards: number, retentionHours: number): Promise<string> {
  await kinesis.send(new CreateStreamCommand({ StreamName: name, ShardCount: shards }));
  for (;;) {
    const { StreamDescriptionSummary: summary } = await kinesis.send(new DescribeStreamSummaryCommand({ StreamName: name }));
    if (summary?.StreamStatus === 'ACTIVE') {
      await kinesis.send(new IncreaseStreamRetentionPeriodCommand({ StreamName: name, RetentionPeriodHours: retentionHours }));
      return summary.StreamARN as string;
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function registerConsumer(kinesis: KinesisClient, streamArn: string, consumerName: string): Promise<string> {
  const { Consumer } = await kinesis.send(new RegisterStreamConsumerCommand({ StreamARN: streamArn, ConsumerName: consumerName }));
  const consumerArn = Consumer?.ConsumerARN as string;
  for (;;) {
    const { ConsumerDescription } = await kinesis.send(new DescribeStreamConsumerCommand({ ConsumerARN: consumerArn }));
    if (ConsumerDescription?.ConsumerStatus === 'ACTIVE') return consumerArn;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
