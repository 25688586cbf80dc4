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
import { AUDIT_KEY_PREFIX, consumerEnvironment, FRAUD_EVENT_SOURCE, streamConsumerName } from '../../infra/config/consumer-environment';
import { parseDestinationSettings } from '../../infra/config/load-config';
import { DESTINATION_NAMES, type DestinationName, type DestinationSettings, type PipelineConfig } from '../../infra/config/pipeline-config';
import type { DestinationPlugin } from '../../destinations/plugin';
import type { PluginName } from '../../shared/config/consumer-config';
import type { DeliveryMode } from '../../shared/ordering/delivery-mode';
import type { LocalStandIn } from '../plugins/local-plugin';
import { LOCAL_CREDENTIALS, LOCAL_REGION, startDynamoDBLocal, type RunningDynamoDBLocal } from '../emulators/dynamodb-local';
import { startKinesisLocal, type RunningKinesisLocal } from '../emulators/kinesis-local';
import { startEventBridgeStandIn, type EventBridgeStandIn } from '../standins/eventbridge/server';
import { startOpenSearchStandIn, type OpenSearchStandIn } from '../standins/opensearch/server';
import { startS3CreateOnlyProxy, type S3CreateOnlyProxy } from '../standins/s3-create-only-proxy';
import { createAccountsTable, createLedgerTable } from '../tables';

/** The stack's name locally, so EFO consumers are named as `cdk deploy` names them. */
export const LOCAL_STACK_NAME = 'OrderedFanout';

export interface LocalResources {
  readonly accountsTable: string;
  readonly ledgerTable: string;
  readonly streamName: string;
  readonly streamArn: string;
  readonly auditBucket: string;
  readonly failedBatchesBucket: string;
  readonly eventBus: string;
  readonly index: string;
  readonly deadLetterQueues: Readonly<Record<DestinationName | PluginName, string>>;
  readonly streamConsumers: Readonly<Record<DestinationName | PluginName, string>>;
}

/** A plug-in destination running locally: its settings (the defaults every destination has) and its stand-in. */
export interface LocalPluginRun {
  readonly name: PluginName;
  readonly mode: DeliveryMode;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- each plug-in has its own settings and options types
  readonly plugin: DestinationPlugin<any, any>;
  readonly settings: DestinationSettings;
  readonly standIn: LocalStandIn;
}

/** Every emulator and stand-in of the local pipeline, on free loopback ports, with the stack's resources in them. */
export interface LocalEnvironment {
  readonly endpoints: Readonly<Record<'dynamodb' | 'kinesis' | 'fauxqs' | 's3' | 'opensearch' | 'eventbridge', string>>;
  readonly resources: LocalResources;
  readonly dynamodb: DynamoDBClient;
  readonly streams: DynamoDBStreamsClient;
  readonly kinesis: KinesisClient;
  readonly s3: S3Client;
  readonly sqs: SQSClient;
  readonly s3Proxy: S3CreateOnlyProxy;
  readonly openSearch: OpenSearchStandIn;
  readonly eventBridge: EventBridgeStandIn;
  /** The plug-in destinations of this run (`--destinations`), each on its own emulator or stand-in. */
  readonly plugins: readonly LocalPluginRun[];
  /** The environment the stack would give the destination's function, pointed at the local services. */
  functionEnvironment(destination: DestinationName | PluginName): Record<string, string>;
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
  readonly functionOverrides?: Partial<Record<DestinationName | PluginName, Readonly<Record<string, string>>>>;
  /** Plug-in destinations to run besides the built-ins; each needs its `local` half. @default none */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- each plug-in has its own settings and options types
  readonly plugins?: readonly DestinationPlugin<any, any>[];
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
    log('starting kinesis-local, fauxqs and the OpenSearch and EventBridge stand-ins');
    const [kinesisLocal, fauxqs, openSearch] = await Promise.all([
      startKinesisLocal(),
      startFauxqs({ port: 0, logger: false }),
      startOpenSearchStandIn(),
    ]);
    stops.push(() => (kinesisLocal as RunningKinesisLocal).stop(), () => fauxqs.stop(), () => openSearch.stop());
    const eventBus = `ordered-fanout-fraud${suffix}`;
    const eventBridge = await startEventBridgeStandIn({ buses: [eventBus] });
    stops.push(() => eventBridge.stop());
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
    const auditBucket = `ordered-fanout-audit${suffix}`.toLowerCase();
    const failedBatchesBucket = `ordered-fanout-failed-batches${suffix}`.toLowerCase();
    log('creating the tables, the stream with its EFO consumers, the bucket, the queues and the bus');
    await createAccountsTable(dynamodb, accountsTable, { stream: true });
    await createLedgerTable(dynamodb, ledgerTable);
    const streamArn = await createStream(kinesis, streamName, options.shards, config.stream.retentionHours);
    await s3.send(new CreateBucketCommand({ Bucket: auditBucket }));
    await s3.send(new CreateBucketCommand({ Bucket: failedBatchesBucket }));
    const deadLetterQueues = {} as Record<DestinationName | PluginName, string>;
    const streamConsumers = {} as Record<DestinationName | PluginName, string>;
    const plugins: LocalPluginRun[] = [];
    for (const plugin of options.plugins ?? []) {
      const { name, mode } = plugin.runtime;
      if (!plugin.local) throw new Error(`plug-in ${name} has no local half: it cannot run in npm start`);
      const settings = parseDestinationSettings(undefined, name, 'defaults', config.stream.retentionHours);
      const standIn = await plugin.local.start({ sqs, s3, endpoints: { fauxqs: fauxqsEndpoint, s3: s3Proxy.endpoint }, suffix });
      stops.push(() => standIn.stop());
      plugins.push({ name, mode, plugin, settings, standIn });
    }
    const settingsOf = (name: DestinationName | PluginName): DestinationSettings =>
      plugins.find((run) => run.name === name)?.settings ?? config.destinations[name as DestinationName];
    for (const name of [...DESTINATION_NAMES, ...plugins.map((run) => run.name)]) {
      const queue = await sqs.send(new CreateQueueCommand({ QueueName: `ordered-fanout-${name}-dlq${suffix}` }));
      deadLetterQueues[name] = queue.QueueUrl as string;
      const consumerName = streamConsumerName(LOCAL_STACK_NAME, name, settingsOf(name));
      streamConsumers[name] = await registerConsumer(kinesis, streamArn, consumerName);
    }
    const resources: LocalResources = {
      accountsTable,
      ledgerTable,
      streamName,
      streamArn,
      auditBucket,
      failedBatchesBucket,
      eventBus,
      index: config.destinations.search.index,
      deadLetterQueues,
      streamConsumers,
    };
    const endpoints = {
      dynamodb: dynamodbEndpoint,
      kinesis: kinesisLocal.endpoint,
      fauxqs: fauxqsEndpoint,
      s3: s3Proxy.endpoint,
      opensearch: openSearch.endpoint,
      eventbridge: eventBridge.endpoint,
    };
    const destinationEnvironment: Record<DestinationName | PluginName, Readonly<Record<string, string>>> = {
      audit: { AUDIT_BUCKET_NAME: auditBucket, AUDIT_KEY_PREFIX },
      search: { SEARCH_ENDPOINT: openSearch.endpoint, SEARCH_INDEX: resources.index, SEARCH_AUTH: 'none' },
      fraud: { FRAUD_EVENT_BUS_NAME: eventBus, FRAUD_EVENT_SOURCE },
      ...Object.fromEntries(plugins.map((run) => [run.name, run.standIn.environment])),
    };
    return {
      endpoints,
      resources,
      dynamodb,
      streams,
      kinesis,
      s3,
      sqs,
      s3Proxy,
      openSearch,
      eventBridge,
      plugins,
      functionEnvironment(destination) {
        const settings = settingsOf(destination);
        if (settings === undefined) throw new Error(`no destination ${destination} in this local run`);
        return {
          ...consumerEnvironment(
            settings,
            { accountsTable, ledgerTable, deadLetterQueueUrl: deadLetterQueues[destination] as string },
            destinationEnvironment[destination] ?? {},
          ),
          AWS_REGION: LOCAL_REGION,
          AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId,
          AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey,
          AWS_ENDPOINT_URL_DYNAMODB: dynamodbEndpoint as string,
          AWS_ENDPOINT_URL_SQS: fauxqsEndpoint,
          AWS_ENDPOINT_URL_S3: s3Proxy.endpoint,
          AWS_ENDPOINT_URL_EVENTBRIDGE: eventBridge.endpoint,
          S3_FORCE_PATH_STYLE: 'true',
          AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
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
