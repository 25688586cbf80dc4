import { RemovalPolicy } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import {
  GAPS_INDEX,
  GAPS_INDEX_PARTITION_KEY,
  GAPS_INDEX_SORT_KEY,
  LEDGER_PARTITION_KEY,
  LEDGER_SORT_KEY,
} from '../../shared/ledger/ledger-table';
import { encryptionKey } from './encryption-key';

/** The operations `DynamoDBLedger` uses; `TransactWriteItems` is authorised per item as PutItem/DeleteItem/ConditionCheckItem. */
const LEDGER_ACTIONS = [
  'dynamodb:BatchGetItem',
  'dynamodb:GetItem',
  'dynamodb:Query',
  'dynamodb:PutItem',
  'dynamodb:DeleteItem',
  'dynamodb:ConditionCheckItem',
];

/** The ledger table: the key design of `shared/ledger/ledger-table.ts`, on demand, PITR, a customer-managed key. */
export class LedgerTable extends Construct {
  readonly table: dynamodb.Table;

  constructor(scope: Construct, id: string) {
    super(scope, id);
    this.table = new dynamodb.Table(this, 'Table', {
      partitionKey: { name: LEDGER_PARTITION_KEY, type: dynamodb.AttributeType.STRING },
      sortKey: { name: LEDGER_SORT_KEY, type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      deletionProtection: true,
      encryption: dynamodb.TableEncryption.CUSTOMER_MANAGED,
      encryptionKey: encryptionKey(this, 'Key', 'Ordering ledger'),
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.table.addGlobalSecondaryIndex({
      indexName: GAPS_INDEX,
      partitionKey: { name: GAPS_INDEX_PARTITION_KEY, type: dynamodb.AttributeType.STRING },
      sortKey: { name: GAPS_INDEX_SORT_KEY, type: dynamodb.AttributeType.NUMBER },
      projectionType: dynamodb.ProjectionType.KEYS_ONLY,
    });
  }

  /**
   * Lets `grantee` use one destination's ledger items only: every key it reads or writes (table and `gaps` index)
   * must start with `<destination>#`, enforced with the `dynamodb:LeadingKeys` condition.
   */
  grantDestination(grantee: iam.IGrantable, destination: string): void {
    grantee.grantPrincipal.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: LEDGER_ACTIONS,
        resources: [this.table.tableArn, `${this.table.tableArn}/index/${GAPS_INDEX}`],
        conditions: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [`${destination}#*`] } },
      }),
    );
    this.table.encryptionKey?.grantEncryptDecrypt(grantee);
  }
}
