import { Validations, type CfnResource, type Stack } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';
import type { DestinationConsumer } from './constructs/destination-consumer';
import type { GapSweeper } from './constructs/gap-sweeper';

/**
 * The constructs whose cdk-nag AwsSolutions findings are acknowledged here, each with its reason: what every
 * destination has. A destination's own resources are acknowledged by its target (`PluginTarget.acknowledgeNagFindings`).
 */
export interface NagSubjects {
  readonly stack: Stack;
  readonly consumers: readonly DestinationConsumer[];
  /** The gap sweepers; they run with their consumer's role, whose policy is acknowledged with the consumer's. */
  readonly sweepers?: readonly GapSweeper[];
  /** The change stream, when it is encrypted with a customer-managed key (what KDS3 flags). */
  readonly changeStream?: IConstruct;
}

/** Acknowledges the cdk-nag finding `id` on `scope` (and what is under it), with the reason it is kept. */
export function acknowledgeFinding(scope: IConstruct, id: string, reason: string): void {
  Validations.of(scope).acknowledge({ id, reason });
}

/** Where cdk-nag reports a role's findings: its default policy once grants made one, else the role. */
export function writerPolicy(role: IConstruct): IConstruct {
  return role.node.tryFindChild('DefaultPolicy') ?? role;
}

/** `<LogicalId.Arn>` as cdk-nag writes a resource ARN token in a finding id; an imported resource's ARN as is. */
export function arnToken(stack: Stack, resource: IConstruct | string): string {
  if (typeof resource === 'string') return resource;
  return `<${stack.resolve((resource.node.defaultChild as CfnResource).logicalId)}.Arn>`;
}

/**
 * Every cdk-nag AwsSolutions finding the pipeline keeps on purpose, but for its destinations' own. A finding not
 * acknowledged fails the cdk-nag test (`test/infra/cdk-nag.test.ts`), so a new wildcard or an unencrypted resource
 * cannot slip in unnoticed.
 */
export function acknowledgeNagFindings(subjects: NagSubjects): void {
  const { stack, consumers, sweepers = [], changeStream } = subjects;
  const ack = acknowledgeFinding;
  if (changeStream) ack(changeStream, 'AwsSolutions-KDS3', 'The stream is encrypted with a customer-managed key (rotated yearly), a stronger choice than aws/kinesis.');
  for (const consumer of consumers) {
    const policy = writerPolicy(consumer.function.role as IConstruct);
    ack(consumer.function, 'AwsSolutions-L1', 'Pinned to nodejs22.x, the runtime the consumers are built and tested for; raised deliberately with the code.');
    ack(consumer.deadLetterQueue, 'AwsSolutions-SQS3', 'This queue is itself the destination\'s dead-letter queue, written by the consumer; redrive goes back through the ordering engine.');
    ack(policy, 'AwsSolutions-IAM5[Action::kms:GenerateDataKey*]', 'CDK\'s standard KMS grants for the ledger and dead-letter queue keys, each scoped to one key ARN.');
    ack(policy, 'AwsSolutions-IAM5[Action::kms:ReEncrypt*]', 'CDK\'s standard KMS grants for the ledger and dead-letter queue keys, each scoped to one key ARN.');
    ack(
      policy,
      `AwsSolutions-IAM5[Resource::${arnToken(stack, consumer.failedBatches)}/*]`,
      'Lambda writes on-failure invocation records under keys it chooses; the grant is s3:PutObject on this destination\'s own bucket only.',
    );
  }
  for (const sweeper of sweepers) {
    ack(sweeper.function, 'AwsSolutions-L1', 'Pinned to nodejs22.x like the consumer whose code, role and environment the sweeper shares; raised deliberately with the code.');
  }
}
