import { Stack, Validations, type CfnResource } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';
import type { DestinationConsumer } from './constructs/destination-consumer';
import type { GapSweeper } from './constructs/gap-sweeper';

/** The constructs whose cdk-nag AwsSolutions findings are acknowledged, each with its reason. */
export interface NagSubjects {
  readonly stack: Stack;
  readonly consumers: readonly DestinationConsumer[];
  /** The gap sweepers; they run with their consumer's role, whose policy is acknowledged with the consumer's. */
  readonly sweepers?: readonly GapSweeper[];
  /** The change stream, when it is encrypted with a customer-managed key (what KDS3 flags). */
  readonly changeStream?: IConstruct;
  /** The audit bucket: created (a construct) or imported (its ARN); unset without an audit destination. */
  readonly auditBucket?: IConstruct | string;
  /** The search domain: created (a construct) or imported (its ARN), and the index written; unset without search. */
  readonly searchDomain?: IConstruct | string;
  readonly searchIndex?: string;
  /** A created domain's operator role and roles custom resource function. */
  readonly searchOperatorRole?: IConstruct;
  readonly searchSecurityRolesFunction?: IConstruct;
}

const ack = (scope: IConstruct, id: string, reason: string): void => Validations.of(scope).acknowledge({ id, reason });

/** `<LogicalId.Arn>` as cdk-nag writes a resource ARN token in a finding id; an imported resource's ARN as is. */
function arnToken(stack: Stack, resource: IConstruct | string): string {
  if (typeof resource === 'string') return resource;
  return `<${stack.resolve((resource.node.defaultChild as CfnResource).logicalId)}.Arn>`;
}

/**
 * Every cdk-nag AwsSolutions finding this stack keeps on purpose. A finding not listed here fails the cdk-nag test
 * (`test/infra/cdk-nag.test.ts`), so a new wildcard or an unencrypted resource cannot slip in unnoticed.
 */
export function acknowledgeNagFindings(subjects: NagSubjects): void {
  const { stack, consumers, sweepers = [], changeStream, auditBucket, searchDomain, searchIndex } = subjects;
  if (changeStream) ack(changeStream, 'AwsSolutions-KDS3', 'The stream is encrypted with a customer-managed key (rotated yearly), a stronger choice than aws/kinesis.');
  for (const consumer of consumers) {
    const role = consumer.function.role as IConstruct;
    const policy = role.node.tryFindChild('DefaultPolicy') ?? role;
    ack(consumer.function, 'AwsSolutions-L1', 'Pinned to nodejs22.x, the runtime the consumers are built and tested for; raised deliberately with the code.');
    ack(consumer.deadLetterQueue, 'AwsSolutions-SQS3', 'This queue is itself the destination\'s dead-letter queue, written by the consumer; redrive goes back through the ordering engine.');
    ack(policy, 'AwsSolutions-IAM5[Action::kms:GenerateDataKey*]', 'CDK\'s standard KMS grants for the ledger and dead-letter queue keys, each scoped to one key ARN.');
    ack(policy, 'AwsSolutions-IAM5[Action::kms:ReEncrypt*]', 'CDK\'s standard KMS grants for the ledger and dead-letter queue keys, each scoped to one key ARN.');
    ack(
      policy,
      `AwsSolutions-IAM5[Resource::${arnToken(stack, consumer.failedBatches)}/*]`,
      'Lambda writes on-failure invocation records under keys it chooses; the grant is s3:PutObject on this destination\'s own bucket only.',
    );
    if (consumer.destination === 'audit' && auditBucket !== undefined) {
      ack(policy, `AwsSolutions-IAM5[Resource::${arnToken(stack, auditBucket)}/changes/*]`, 'One object per account version under the log prefix: s3:PutObject only, create-only by If-None-Match.');
    }
    if (consumer.destination === 'search' && searchDomain !== undefined) {
      ack(policy, `AwsSolutions-IAM5[Resource::${arnToken(stack, searchDomain)}/${searchIndex}/*]`, 'Document paths of the one index the consumer writes.');
    }
  }
  for (const sweeper of sweepers) {
    ack(sweeper.function, 'AwsSolutions-L1', 'Pinned to nodejs22.x like the consumer whose code, role and environment the sweeper shares; raised deliberately with the code.');
  }
  if (subjects.searchOperatorRole && searchDomain !== undefined) {
    const policy = subjects.searchOperatorRole.node.tryFindChild('DefaultPolicy') ?? subjects.searchOperatorRole;
    ack(policy, `AwsSolutions-IAM5[Resource::${arnToken(stack, searchDomain)}/${searchIndex}/*]`, 'Document paths of the one index the operator reconciles and repairs.');
  }
  if (subjects.searchSecurityRolesFunction) {
    ack(subjects.searchSecurityRolesFunction, 'AwsSolutions-L1', 'Pinned to nodejs22.x like every function of the stack; raised deliberately with the code.');
  }
  if (searchDomain !== undefined && typeof searchDomain !== 'string') {
    ack(searchDomain, 'AwsSolutions-OS1', 'Reached over HTTPS with SigV4 only; the access policy allows the consumer, operator and master roles alone and fine-grained access control limits each. Lambda stays out of a VPC (no NAT needed).');
    ack(searchDomain, 'AwsSolutions-OS3', 'Access is by IAM identity (SigV4), not by IP address: Lambda has no fixed IP to allowlist.');
    ack(searchDomain, 'AwsSolutions-OS4', 'A small domain owned by the pipeline; for production scale import the search team\'s domain, which has dedicated masters.');
    // The log-group resource policy custom resource the Domain construct creates for its CloudWatch logs.
    const logPolicy = searchDomain.node.children.find((child) => child.node.id.startsWith('ESLogGroupPolicy'));
    const logPolicyPolicy = logPolicy?.node.tryFindChild('CustomResourcePolicy');
    if (logPolicyPolicy) {
      ack(logPolicyPolicy, 'AwsSolutions-IAM5[Resource::*]', 'CloudWatch Logs resource policies are account-wide: logs:PutResourcePolicy has no resource scope.');
    }
    const provider = stack.node.tryFindChild('AWS679f53fac002430cb0da5b7982bd2287');
    if (provider) {
      ack(provider, 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]', 'CDK\'s AwsCustomResource provider, used only by the OpenSearch Domain construct for its log-group policy.');
      ack(provider, 'AwsSolutions-IAM5[Action::kms:Describe*]', 'CDK\'s AwsCustomResource provider for the domain\'s log-group policy.');
      ack(provider, 'AwsSolutions-IAM5[Action::kms:List*]', 'CDK\'s AwsCustomResource provider for the domain\'s log-group policy.');
    }
  }
}
