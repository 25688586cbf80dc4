import { fileURLToPath } from 'node:url';
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { KinesisClient } from '@aws-sdk/client-kinesis';
import { GetFunctionConfigurationCommand, InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { SQSClient } from '@aws-sdk/client-sqs';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import type { KinesisStreamBatchResponse, KinesisStreamEvent } from 'aws-lambda';
import { DESTINATION_NAMES, type DestinationName } from '../infra/config/pipeline-config';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../local/emulators/dynamodb-local';
import { LocalFunction } from '../local/functions/local-function';
import { localLambdaContext } from '../local/lambda-event';
import { readLocalState, type LocalState } from '../local/pipeline/local-state';
import type { OperatorCommand, OperatorCommandResult } from '../shared/consumer/operator-command';

const ROOT = fileURLToPath(new URL('../', import.meta.url));

export interface DestinationOutputs {
  readonly name: DestinationName;
  readonly functionName: string;
  readonly epoch: string;
  /** `TRIM_HORIZON`, `LATEST`, or `AT_TIMESTAMP <iso>`. */
  readonly startingPosition: string;
  readonly streamConsumerArn: string;
  readonly deadLetterQueueUrl: string;
}

/** A deployed stack (its CloudFormation outputs) or the local pipeline (its state file): what `fanout` works on. */
export interface PipelineTarget {
  readonly kind: 'aws' | 'local';
  /** `stack OrderedFanout in eu-west-1`, or `local pipeline (pid 123)`. */
  readonly description: string;
  readonly accountsTable: string;
  readonly ledgerTable: string;
  readonly streamArn: string;
  readonly destinations: Readonly<Record<DestinationName, DestinationOutputs>>;
  readonly dynamodb: DynamoDBClient;
  readonly sqs: SQSClient;
  readonly kinesis: KinesisClient;
  /** The destination's function environment (Lambda's configuration on AWS; the state file locally). */
  environment(destination: DestinationName): Promise<Readonly<Record<string, string>>>;
  /** Runs the destination's function on a Kinesis event, as its event source mapping would. */
  invoke(destination: DestinationName, event: KinesisStreamEvent): Promise<KinesisStreamBatchResponse>;
  /** Runs an operator command in the destination's function (Lambda `Invoke` on AWS, the handler module locally). */
  command(destination: DestinationName, command: OperatorCommand): Promise<OperatorCommandResult>;
  /** The local state, when the target is local. */
  readonly local?: LocalState;
  close(): Promise<void>;
}

export interface TargetOptions {
  /** Work on the local pipeline (`npm start -- --keep-running`); a path names another state file. */
  readonly local?: boolean | string;
  /** The deployed stack's name. @default OrderedFanout */
  readonly stack?: string;
  readonly region?: string;
}

export async function resolveTarget(options: TargetOptions): Promise<PipelineTarget> {
  if (options.local) return localTarget(readLocalState(typeof options.local === 'string' ? options.local : undefined));
  return awsTarget(options.stack ?? 'OrderedFanout', options.region);
}

/** The local pipeline described by `state`: the emulators' clients, and the handlers run in this process. */
export function localTarget(state: LocalState): PipelineTarget {
  const aws = { region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS };
  const dynamodb = new DynamoDBClient({ ...aws, endpoint: state.endpoints.dynamodb });
  const sqs = new SQSClient({ ...aws, endpoint: state.endpoints.fauxqs });
  const kinesis = new KinesisClient({ ...aws, endpoint: state.endpoints.kinesis, requestHandler: new NodeHttpHandler() });
  const functions = new Map<DestinationName, LocalFunction>();
  const invokeLocal = async (destination: DestinationName, event: object): Promise<unknown> => {
    let fn = functions.get(destination);
    if (!fn) {
      fn = new LocalFunction({
        functionName: `ordered-fanout-${destination}`,
        entry: `${ROOT}consumers/${destination}/handler.ts`,
        environment: state.functionEnvironments[destination],
      });
      functions.set(destination, fn);
    }
    return fn.invoke(event, localLambdaContext(fn.functionName, 60_000));
  };
  const destinations = Object.fromEntries(
    DESTINATION_NAMES.map((name) => {
      const settings = state.config.destinations[name];
      return [
        name,
        {
          name,
          functionName: `ordered-fanout-${name}`,
          epoch: settings.epoch,
          startingPosition: settings.startingPositionTimestamp ? `${settings.startingPosition} ${settings.startingPositionTimestamp}` : settings.startingPosition,
          streamConsumerArn: state.resources.streamConsumers[name],
          deadLetterQueueUrl: state.resources.deadLetterQueues[name],
        },
      ];
    }),
  ) as Record<DestinationName, DestinationOutputs>;
  return {
    kind: 'local',
    description: `local pipeline (pid ${state.pid})`,
    accountsTable: state.resources.accountsTable,
    ledgerTable: state.resources.ledgerTable,
    streamArn: state.resources.streamArn,
    destinations,
    dynamodb,
    sqs,
    kinesis,
    local: state,
    environment: (destination) => Promise.resolve(state.functionEnvironments[destination]),
    async invoke(destination, event) {
      return ((await invokeLocal(destination, event)) ?? { batchItemFailures: [] }) as KinesisStreamBatchResponse;
    },
    async command(destination, command) {
      return (await invokeLocal(destination, { orderedFanout: command })) as OperatorCommandResult;
    },
    async close() {
      await Promise.all([...functions.values()].map((fn) => fn.stop()));
      for (const client of [dynamodb, sqs, kinesis]) client.destroy();
    },
  };
}

/** A deployed stack, resolved from its CloudFormation outputs (see the README's *Stack outputs*). */
export async function awsTarget(stackName: string, region?: string): Promise<PipelineTarget> {
  const config = region ? { region } : {};
  const cloudformation = new CloudFormationClient(config);
  let outputs: Map<string, string>;
  try {
    const { Stacks } = await cloudformation.send(new DescribeStacksCommand({ StackName: stackName }));
    outputs = new Map((Stacks?.[0]?.Outputs ?? []).map((output) => [output.OutputKey ?? '', output.OutputValue ?? '']));
  } finally {
    cloudformation.destroy();
  }
  const output = (key: string): string => {
    const value = outputs.get(key);
    if (!value) throw new Error(`stack ${stackName} has no output ${key}: is it an ordered-fanout stack, deployed by this version?`);
    return value;
  };
  const title = (name: string): string => name.charAt(0).toUpperCase() + name.slice(1);
  const destinations = Object.fromEntries(
    DESTINATION_NAMES.map((name) => [
      name,
      {
        name,
        functionName: output(`${title(name)}FunctionName`),
        epoch: output(`${title(name)}Epoch`),
        startingPosition: output(`${title(name)}StartingPosition`),
        streamConsumerArn: output(`${title(name)}StreamConsumerArn`),
        deadLetterQueueUrl: output(`${title(name)}DeadLetterQueueUrl`),
      },
    ]),
  ) as Record<DestinationName, DestinationOutputs>;
  const dynamodb = new DynamoDBClient(config);
  const sqs = new SQSClient(config);
  const kinesis = new KinesisClient(config);
  const lambda = new LambdaClient(config);
  const invokeLambda = async (destination: DestinationName, event: unknown): Promise<unknown> => {
    const response = await lambda.send(
      new InvokeCommand({ FunctionName: destinations[destination].functionName, Payload: new TextEncoder().encode(JSON.stringify(event)) }),
    );
    const text = new TextDecoder().decode(response.Payload ?? new Uint8Array());
    if (response.FunctionError) throw new Error(`${destinations[destination].functionName} failed: ${text}`);
    return text ? JSON.parse(text) : undefined;
  };
  return {
    kind: 'aws',
    description: `stack ${stackName}${region ? ` in ${region}` : ''}`,
    accountsTable: output('AccountsTableName'),
    ledgerTable: output('LedgerTableName'),
    streamArn: output('ChangeStreamArn'),
    destinations,
    dynamodb,
    sqs,
    kinesis,
    async environment(destination) {
      const fn = await lambda.send(new GetFunctionConfigurationCommand({ FunctionName: destinations[destination].functionName }));
      return fn.Environment?.Variables ?? {};
    },
    async invoke(destination, event) {
      return ((await invokeLambda(destination, event)) ?? { batchItemFailures: [] }) as KinesisStreamBatchResponse;
    },
    async command(destination, command) {
      return (await invokeLambda(destination, { orderedFanout: command })) as OperatorCommandResult;
    },
    async close() {
      for (const client of [dynamodb, sqs, kinesis, lambda]) client.destroy();
    },
  };
}
