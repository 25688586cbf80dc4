import { RemovalPolicy } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as kinesis from 'aws-cdk-lib/aws-kinesis';
import { Construct } from 'constructs';
import { ACCOUNTS_KEY } from '../../shared/accounts/account';
import type { PipelineConfig } from '../config/pipeline-config';
import { encryptionKey } from './encryption-key';

export interface AccountsTableProps {
  /** Where every item change goes (Kinesis Data Streams for DynamoDB). */
  readonly changeStream: kinesis.IStream;
  readonly config: PipelineConfig['accountsTable'];
}

/**
 * The `Accounts` table: key `account_id`, point-in-time recovery, deletion protection, a customer-managed key, and
 * every item change streamed to the change stream with microsecond creation times. (`Table`, not `TableV2`: only
 * `Table` can set `ApproximateCreationDateTimePrecision`.)
 */
export class AccountsTable extends Construct {
  readonly table: dynamodb.Table;

  constructor(scope: Construct, id: string, props: AccountsTableProps) {
    super(scope, id);
    const provisioned = props.config.billingMode === 'PROVISIONED';
    this.table = new dynamodb.Table(this, 'Table', {
      partitionKey: { name: ACCOUNTS_KEY, type: dynamodb.AttributeType.STRING },
      billingMode: provisioned ? dynamodb.BillingMode.PROVISIONED : dynamodb.BillingMode.PAY_PER_REQUEST,
      ...(provisioned ? { readCapacity: props.config.readCapacity, writeCapacity: props.config.writeCapacity } : {}),
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      deletionProtection: true,
      encryption: dynamodb.TableEncryption.CUSTOMER_MANAGED,
      encryptionKey: encryptionKey(this, 'Key', 'Accounts table'),
      kinesisStream: props.changeStream,
      kinesisPrecisionTimestamp: dynamodb.ApproximateCreationDateTimePrecision.MICROSECOND,
      removalPolicy: RemovalPolicy.RETAIN,
    });
  }
}
