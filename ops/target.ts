import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { KinesisClient } from '@aws-sdk/client-kinesis';
import { GetFunctionConfigurationCommand, InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { SQSClient } from '@aws-sdk/client-sqs';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import type { KinesisStreamBatchResponse, KinesisStreamEvent } from 'aws-lambda';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../local/emulators/dynamodb-local';
import { LocalFunction } from '../local/functions/local-function';
import { localLambdaContext } from '../local/lambda-event';
import { readLocalState, type LocalState } from '../local/pipeline/local-state';
import type { OperatorCommand, OperatorCommandResult } from '../shared/consumer/operator-command';
import type { DeliveryMode } from '../shared/ordering/delivery-mode';
import { CONFIG_FILE_OUTPUT, destinationOutputKey, PIPELINE_OUTPUTS, selectPipelineOutputs } from '../infra/config/operator-outputs';
import { builtInMode, parseStackDestinations, StackOutputError, UnknownDestinationError } from './destinations';

export interface DestinationOutputs {
  /** A built-in's name or a plug-in's. */
  readonly name: string;
  /** How it wants an account's versions. Resolved targets always say; absent, a built-in's own mode is meant. */
  readonly mode?: DeliveryMode;
  readonly functionName: string;
  readonly epoch: string;
  /** `TRIM_HORIZON`, `LATEST`, or `AT_TIMESTAMP <iso>`. */
  readonly startingPosition: string;
  readonly streamConsumerArn: string;
  readonly deadLetterQueueUrl: string;
  /** The gap sweeper's function, unless `latest-state` (or the stack has no such output). */
  readonly sweeperFunctionName?: string;
}

/**
 * Every destination of a target by name, built-ins and plug-ins alike (`destinations['ledger-queue']`): whichever the
 * stack or the local run has, in its order. Commands take a name and check it (`destinationOf`).
 */
export type DestinationsByName = Readonly<Record<string, DestinationOutputs>>;

/** A deployed stack (its CloudFormation outputs) or the local pipeline (its state file): what `fanout` works on. */
export interface PipelineTarget {
  readonly kind: 'aws' | 'local';
  /** `stack OrderedFanout in eu-west-1`, or `local pipeline (pid 123)`. */
  readonly description: string;
  readonly accountsTable: string;
  readonly ledgerTable: string;
  readonly streamArn: string;
  readonly destinations: DestinationsByName;
  readonly dynamodb: DynamoDBClient;
  readonly sqs: SQSClient;
  readonly kinesis: KinesisClient;
  /** The destination's function environment (Lambda's configuration on AWS; the state file locally). */
  environment(destination: string): Promise<Readonly<Record<string, string>>>;
  /** Runs the destination's function on a Kinesis event, as its event source mapping would. */
  invoke(destination: string, event: KinesisStreamEvent): Promise<KinesisStreamBatchResponse>;
  /** Runs an operator command in the destination's function (Lambda `Invoke` on AWS, the handler module locally). */
  command(destination: string, command: OperatorCommand): Promise<OperatorCommandResult>;
  /** The pipeline's name, when the stack's outputs give it (`addOperatorOutputs`). */
  readonly pipelineName?: string;
  /**
   * AWS: the pipeline's settings live in the bundled app's configuration file, so `fanout replay --apply` can write them
   * and deploy. False for a pipeline of another CDK app, whose settings are in its code.
   */
  readonly settingsInConfigFile?: boolean;
  /** The local state, when the target is local. */
  readonly local?: LocalState;
  close(): Promise<void>;
}

export interface TargetOptions {
  /** Work on the local pipeline (`npm start -- --keep-running`); a path names another state file. */
  readonly local?: boolean | string;
  /** The deployed stack's name. @default OrderedFanout */
  readonly stack?: string;
  /** The pipeline of the stack, by its `pipelineName`, when the stack holds several. @default the stack's only one */
  readonly pipeline?: string;
  readonly region?: string;
}

export async function resolveTarget(options: TargetOptions): Promise<PipelineTarget> {
  if (options.local && options.pipeline !== undefined) throw new Error('--pipeline names a pipeline of a deployed stack: the local pipeline is one');
  if (options.local) return localTarget(readLocalState(typeof options.local === 'string' ? options.local : undefined));
  return awsTarget(options.stack ?? 'OrderedFanout', options.region, options.pipeline);
}

/** The destination's outputs, or an `UnknownDestinationError` naming the ones the target has. */
export function destinationOf(target: Pick<PipelineTarget, 'destinations' | 'description'>, name: string): DestinationOutputs {
  const outputs = Object.hasOwn(target.destinations, name) ? target.destinations[name] : undefined;
  if (!outputs) throw new UnknownDestinationError(name, Object.keys(target.destinations), target.description);
  return outputs;
}

/** The destination's mode: as the target says, or the built-in's own. */
export function modeOf(target: Pick<PipelineTarget, 'destinations' | 'description'>, name: string): DeliveryMode {
  const mode = destinationOf(target, name).mode ?? builtInMode(name);
  if (mode === undefined) throw new StackOutputError('Destinations', `${target.description} does not say the mode of plug-in ${name}`);
  return mode;
}

/** `[name]` when one is asked for (checked against the target), else every destination of the target, in its order. */
export function selectDestinations(target: Pick<PipelineTarget, 'destinations' | 'description'>, name?: string): string[] {
  if (name === undefined) return Object.keys(target.destinations);
  destinationOf(target, name);
  return [name];
}

/** A map of every destination; a target without any is not one `fanout` can work on. */
function byName(list: readonly DestinationOutputs[], where: string): DestinationsByName {
  if (list.length === 0) throw new StackOutputError('Destinations', `${where} has no destinations`);
  return Object.fromEntries(list.map((outputs) => [outputs.name, outputs]));
}

/** The local pipeline described by `state`: the emulators' clients, and the handlers run in this process. */
export function localTarget(state: LocalState): PipelineTarget {
  const aws = { region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS };
  const dynamodb = new DynamoDBClient({ ...aws, endpoint: state.endpoints.dynamodb });
  const sqs = new SQSClient({ ...aws, endpoint: state.endpoints.fauxqs });
  const kinesis = new KinesisClient({ ...aws, endpoint: state.endpoints.kinesis, requestHandler: new NodeHttpHandler() });
  const description = `local pipeline (pid ${state.pid})`;
  const local = (name: string) => {
    const found = Object.hasOwn(state.destinations, name) ? state.destinations[name] : undefined;
    if (!found) throw new UnknownDestinationError(name, Object.keys(state.destinations), description);
    return found;
  };
  const functions = new Map<string, LocalFunction>();
  const invokeLocal = async (destination: string, event: object): Promise<unknown> => {
    let fn = functions.get(destination);
    if (!fn) {
      // The handler the pipeline's mapping runs: a built-in's consumer or a plug-in's module, as the state file says.
      const { functionName, handler, environment, settings } = local(destination);
      fn = new LocalFunction({ functionName, entry: handler, environment, memoryMb: settings.memorySize });
      functions.set(destination, fn);
    }
    return fn.invoke(event, localLambdaContext(fn.functionName, 60_000));
  };
  const destinations = byName(
    Object.values(state.destinations).map(({ name, mode, functionName, settings, streamConsumerArn, deadLetterQueueUrl }) => ({
      name,
      mode,
      functionName,
      epoch: settings.epoch,
      startingPosition: settings.startingPositionTimestamp ? `${settings.startingPosition} ${settings.startingPositionTimestamp}` : settings.startingPosition,
      streamConsumerArn,
      deadLetterQueueUrl,
    })),
    description,
  );
  return {
    kind: 'local',
    description,
    accountsTable: state.resources.accountsTable,
    ledgerTable: state.resources.ledgerTable,
    streamArn: state.resources.streamArn,
    destinations,
    dynamodb,
    sqs,
    kinesis,
    local: state,
    environment: async (destination) => local(destination).environment,
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

/**
 * A deployed stack's destinations from its outputs: the list in `Destinations` (the three built-ins when a stack
 * predates it), each with `<Title>FunctionName`, `<Title>Epoch`, ... where Title is `titleOf(name)`. `outputs` are one
 * pipeline's, its prefix taken off (`selectPipelineOutputs`).
 */
export function stackDestinations(outputs: ReadonlyMap<string, string>, stackName: string): DestinationsByName {
  const output = (key: string): string => requiredOutput(outputs, stackName, key);
  const list = parseStackDestinations(outputs.get(PIPELINE_OUTPUTS.destinations), stackName).map(({ name, mode }) => {
    const sweeper = outputs.get(destinationOutputKey('', name, 'sweeperFunctionName'));
    return {
      name,
      mode,
      functionName: output(destinationOutputKey('', name, 'functionName')),
      epoch: output(destinationOutputKey('', name, 'epoch')),
      startingPosition: output(destinationOutputKey('', name, 'startingPosition')),
      streamConsumerArn: output(destinationOutputKey('', name, 'streamConsumerArn')),
      deadLetterQueueUrl: output(destinationOutputKey('', name, 'deadLetterQueueUrl')),
      ...(sweeper ? { sweeperFunctionName: sweeper } : {}),
    };
  });
  return byName(list, `stack ${stackName}`);
}

/** One of the stack's outputs, or a `StackOutputError` naming it. */
function requiredOutput(outputs: ReadonlyMap<string, string>, stackName: string, key: string): string {
  const value = outputs.get(key);
  if (!value) throw new StackOutputError(key, `stack ${stackName} has no output ${key}: is it an ordered-fanout stack, deployed by this version?`);
  return value;
}

/** A deployed stack, resolved from its CloudFormation outputs (see the README's *Stack outputs*). */
export async function awsTarget(stackName: string, region?: string, pipeline?: string): Promise<PipelineTarget> {
  const config = region ? { region } : {};
  const cloudformation = new CloudFormationClient(config);
  let stackOutputs: Map<string, string>;
  try {
    const { Stacks } = await cloudformation.send(new DescribeStacksCommand({ StackName: stackName }));
    stackOutputs = new Map((Stacks?.[0]?.Outputs ?? []).map((output) => [output.OutputKey ?? '', output.OutputValue ?? '']));
  } finally {
    cloudformation.destroy();
  }
  const selected = selectPipelineOutputs(stackOutputs, stackName, pipeline);
  const outputs = selected.outputs;
  const output = (key: string): string => requiredOutput(outputs, stackName, key);
  const destinations = stackDestinations(outputs, stackName);
  const description = `stack ${stackName}${selected.name && pipeline ? ` (pipeline ${selected.name})` : ''}${region ? ` in ${region}` : ''}`;
  const functionOf = (destination: string): string => destinationOf({ destinations, description }, destination).functionName;
  const dynamodb = new DynamoDBClient(config);
  const sqs = new SQSClient(config);
  const kinesis = new KinesisClient(config);
  const lambda = new LambdaClient(config);
  const invokeLambda = async (destination: string, event: unknown): Promise<unknown> => {
    const functionName = functionOf(destination);
    const response = await lambda.send(new InvokeCommand({ FunctionName: functionName, Payload: new TextEncoder().encode(JSON.stringify(event)) }));
    const text = new TextDecoder().decode(response.Payload ?? new Uint8Array());
    if (response.FunctionError) throw new Error(`${functionName} failed: ${text}`);
    return text ? JSON.parse(text) : undefined;
  };
  return {
    kind: 'aws',
    description,
    accountsTable: output(PIPELINE_OUTPUTS.accountsTable),
    ledgerTable: output(PIPELINE_OUTPUTS.ledgerTable),
    streamArn: output(PIPELINE_OUTPUTS.changeStream),
    destinations,
    ...(selected.name ? { pipelineName: selected.name } : {}),
    // A stack that says nothing either way predates the construct: the bundled app's.
    settingsInConfigFile: stackOutputs.has(CONFIG_FILE_OUTPUT) || selected.name === undefined,
    dynamodb,
    sqs,
    kinesis,
    async environment(destination) {
      const fn = await lambda.send(new GetFunctionConfigurationCommand({ FunctionName: functionOf(destination) }));
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
