import { CfnOutput, Stack } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as kinesis from 'aws-cdk-lib/aws-kinesis';
import type { Construct } from 'constructs';
import {
  destinationOutputKey,
  OUTPUT_PREFIX_PATTERN,
  PIPELINE_OUTPUT,
  PIPELINE_OUTPUTS,
  type DESTINATION_OUTPUTS,
} from '../config/operator-outputs';
import type { DestinationConsumer } from './destination-consumer';
import type { GapSweeper } from './gap-sweeper';

/** What a pipeline publishes for `fanout`. */
export interface OperatorOutputsSource {
  readonly pipelineName: string;
  readonly table: dynamodb.ITable;
  readonly stream: kinesis.IStream;
  readonly ledgerTable: dynamodb.ITable;
  readonly consumers: readonly DestinationConsumer[];
  readonly sweepers: Readonly<Partial<Record<string, GapSweeper>>>;
}

/** An output prefix that cannot start a CloudFormation logical id. */
export class OutputPrefixError extends Error {
  constructor(path: string, prefix: string) {
    super(`${path}: the output prefix must be empty or a letter followed by letters and digits (at most 64), got "${prefix}"`);
    this.name = 'OutputPrefixError';
  }
}

/**
 * The stack outputs `fanout` reads (README, *Use it in your own CDK app*), made in the stack itself so that their keys
 * are exactly `<prefix><key>`: the pipeline's name, its destinations and modes, the tables, the stream, and per
 * destination its function, EFO consumer, mapping, dead-letter queue, on-failure bucket, epoch, starting position and
 * sweeper. Two pipelines of one stack need different prefixes; the same prefix twice fails synth (duplicate ids).
 */
export function addOperatorOutputs(scope: Construct, source: OperatorOutputsSource, prefix: string): void {
  if (!OUTPUT_PREFIX_PATTERN.test(prefix)) throw new OutputPrefixError(scope.node.path, prefix);
  const stack = Stack.of(scope);
  const output = (key: string, value: string) => new CfnOutput(stack, key, { value });
  const forDestination = (name: string, key: keyof typeof DESTINATION_OUTPUTS, value: string) => output(destinationOutputKey(prefix, name, key), value);

  output(`${prefix}${PIPELINE_OUTPUT}`, source.pipelineName);
  for (const consumer of source.consumers) {
    const name = consumer.destination;
    const { epoch, startingPosition: position, startingPositionTimestamp: timestamp } = consumer.settings;
    forDestination(name, 'functionName', consumer.function.functionName);
    forDestination(name, 'streamConsumerArn', consumer.streamConsumer.streamConsumerArn);
    forDestination(name, 'eventSourceMappingId', consumer.eventSource.eventSourceMappingId);
    forDestination(name, 'deadLetterQueueUrl', consumer.deadLetterQueue.queueUrl);
    forDestination(name, 'failedBatchesBucket', consumer.failedBatches.bucketName);
    forDestination(name, 'epoch', epoch);
    forDestination(name, 'startingPosition', timestamp ? `${position} ${timestamp}` : position);
    const sweeper = source.sweepers[name];
    if (sweeper) forDestination(name, 'sweeperFunctionName', sweeper.function.functionName);
  }
  output(`${prefix}${PIPELINE_OUTPUTS.accountsTable}`, source.table.tableName);
  output(`${prefix}${PIPELINE_OUTPUTS.changeStream}`, source.stream.streamArn);
  output(`${prefix}${PIPELINE_OUTPUTS.ledgerTable}`, source.ledgerTable.tableName);
  // Which destinations there are, so `fanout` need not know them: it finds each one's outputs by its title.
  const destinations = source.consumers.map(({ destination, mode }) => ({ name: destination, mode }));
  output(`${prefix}${PIPELINE_OUTPUTS.destinations}`, JSON.stringify(destinations));
}
