/*
 * The stack outputs `fanout` works from, named in one place for the side that writes them (the construct's
 * `addOperatorOutputs`) and the side that reads them (`ops/target.ts`). No `aws-cdk-lib` here: the CLI imports it.
 */

/** `audit` → `Audit`, `ledger-queue` → `LedgerQueue`: the prefix of a destination's construct ids and stack outputs. */
export function titleOf(name: string): string {
  return name.split('-').map((part) => part.charAt(0).toUpperCase() + part.slice(1)).join('');
}

/** Names the pipeline whose outputs carry the same prefix: `<prefix>OrderedFanoutPipeline` = its `pipelineName`. */
export const PIPELINE_OUTPUT = 'OrderedFanoutPipeline';
/**
 * Present in the bundled app's stack only: its settings live in a configuration file (`fanout replay --apply` writes it
 * and deploys). A pipeline of another CDK app has its settings in that app's code.
 */
export const CONFIG_FILE_OUTPUT = 'OrderedFanoutConfigFile';

/** The pipeline-wide outputs. */
export const PIPELINE_OUTPUTS = {
  destinations: 'Destinations',
  accountsTable: 'AccountsTableName',
  changeStream: 'ChangeStreamArn',
  ledgerTable: 'LedgerTableName',
} as const;

/** Each destination's outputs, after its title (`AuditFunctionName`). */
export const DESTINATION_OUTPUTS = {
  functionName: 'FunctionName',
  streamConsumerArn: 'StreamConsumerArn',
  eventSourceMappingId: 'EventSourceMappingId',
  deadLetterQueueUrl: 'DeadLetterQueueUrl',
  failedBatchesBucket: 'FailedBatchesBucket',
  epoch: 'Epoch',
  startingPosition: 'StartingPosition',
  sweeperFunctionName: 'SweeperFunctionName',
} as const;

/** An output key prefix: empty (the stack's one pipeline), or a letter then letters and digits (a logical id's start). */
export const OUTPUT_PREFIX_PATTERN = /^(?:[A-Za-z][A-Za-z0-9]{0,63})?$/;

/** A destination's output key: `<prefix><Title><key>`. */
export function destinationOutputKey(prefix: string, destination: string, key: keyof typeof DESTINATION_OUTPUTS): string {
  return `${prefix}${titleOf(destination)}${DESTINATION_OUTPUTS[key]}`;
}

/** The pipelines a stack's outputs name, by `pipelineName`, with their prefixes. */
export function pipelinesOf(outputs: ReadonlyMap<string, string>): Map<string, string> {
  const found = new Map<string, string>();
  for (const [key, value] of outputs) if (key.endsWith(PIPELINE_OUTPUT)) found.set(value, key.slice(0, -PIPELINE_OUTPUT.length));
  return found;
}

/** A pipeline `fanout` cannot single out among a stack's outputs. */
export class PipelineSelectionError extends Error {
  constructor(
    readonly stackName: string,
    readonly pipelines: readonly string[],
    readonly asked: string | undefined,
  ) {
    super(
      asked === undefined
        ? `stack ${stackName} holds ${pipelines.length} pipelines (${pipelines.join(', ')}): name one with --pipeline`
        : `stack ${stackName} has no pipeline "${asked}": it has ${pipelines.join(', ') || 'none published with addOperatorOutputs'}`,
    );
    this.name = 'PipelineSelectionError';
  }
}

/**
 * One pipeline's outputs, its prefix taken off their keys: the one named `pipeline`, or the stack's only one. A stack
 * that names none (deployed before pipelines were named) is one pipeline without a prefix.
 */
export function selectPipelineOutputs(outputs: ReadonlyMap<string, string>, stack: string, pipeline?: string): { name?: string; outputs: Map<string, string> } {
  const pipelines = pipelinesOf(outputs);
  if (pipeline === undefined && pipelines.size === 0) return { outputs: new Map(outputs) };
  if (pipeline === undefined && pipelines.size > 1) throw new PipelineSelectionError(stack, [...pipelines.keys()], undefined);
  const name = pipeline ?? ([...pipelines.keys()][0] as string);
  const prefix = pipelines.get(name);
  if (prefix === undefined) throw new PipelineSelectionError(stack, [...pipelines.keys()], pipeline);
  const own = new Map<string, string>();
  for (const [key, value] of outputs) if (key.startsWith(prefix)) own.set(key.slice(prefix.length), value);
  return { name, outputs: own };
}
