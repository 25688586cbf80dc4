import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { AUDIT_KEY_PREFIX } from '../config/consumer-environment';
import type { AuditSettings } from '../config/pipeline-config';
import { acknowledgeFinding, arnToken, writerPolicy } from '../nag-suppressions';
import type { PluginTarget } from '../plugins/infra-plugin';
import { encryptionKey } from './encryption-key';

export interface AuditLogProps {
  readonly settings: AuditSettings;
  /** Where a created bucket writes its server access logs. */
  readonly accessLogs: s3.IBucket;
}

/**
 * The audit destination's bucket. Created: versioned with Object Lock (governance retention), SSE-KMS with a
 * customer-managed key, public access blocked, TLS only, moved to Glacier Instant Retrieval after a while. Imported:
 * the owner's bucket by ARN, and nothing is created (its owner must let our role use its key, if any).
 */
export class AuditLog extends Construct implements PluginTarget {
  readonly bucket: s3.IBucket;
  readonly owned: boolean;
  readonly environment: Readonly<Record<string, string>>;
  /** An imported bucket's default encryption key (`bucketKeyArn`). */
  readonly importedKeyArn?: string;

  constructor(scope: Construct, id: string, props: AuditLogProps) {
    super(scope, id);
    const { settings } = props;
    this.owned = settings.bucketArn === undefined;
    if (settings.bucketKeyArn !== undefined) this.importedKeyArn = settings.bucketKeyArn;
    this.bucket =
      settings.bucketArn !== undefined
        ? s3.Bucket.fromBucketArn(this, 'Imported', settings.bucketArn)
        : new s3.Bucket(this, 'Bucket', {
            versioned: true,
            objectLockEnabled: true,
            objectLockDefaultRetention: s3.ObjectLockRetention.governance(Duration.days(settings.objectLockDays)),
            encryption: s3.BucketEncryption.KMS,
            encryptionKey: encryptionKey(this, 'Key', 'Audit log'),
            bucketKeyEnabled: true,
            blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
            enforceSSL: true,
            minimumTLSVersion: 1.2,
            serverAccessLogsBucket: props.accessLogs,
            serverAccessLogsPrefix: 'audit-log/',
            // S3's default since 2024, said where it shows: nothing under 128 KB moves. Glacier Instant Retrieval bills
            // an object as 128 KB at least, and a change record is a few KB, so most audit objects are cheaper where
            // they are; only big ones (changes of large items) move.
            transitionDefaultMinimumObjectSize: s3.TransitionDefaultMinimumObjectSize.ALL_STORAGE_CLASSES_128_K,
            lifecycleRules: [
              {
                id: 'colder-storage',
                transitions: [
                  { storageClass: s3.StorageClass.GLACIER_INSTANT_RETRIEVAL, transitionAfter: Duration.days(settings.transitionDays) },
                ],
              },
            ],
            removalPolicy: RemovalPolicy.RETAIN,
          });
    this.environment = { AUDIT_BUCKET_NAME: this.bucket.bucketName, AUDIT_KEY_PREFIX };
  }

  /**
   * `s3:PutObject` and `s3:GetObject` under the log's prefix, and data keys of the bucket's key to write and read them:
   * no delete, no listing, and none of the retention or legal-hold actions that a broader put grant would bring. The
   * read is what tells a refused create-only write (412: the key is taken) holding the same change, a duplicate, from a
   * different change of that version, which is dead-lettered; the function already sees every change it would read.
   */
  grantDeliver(grantee: iam.IGrantable): void {
    grantee.grantPrincipal.addToPrincipalPolicy(
      new iam.PolicyStatement({ actions: ['s3:PutObject', 's3:GetObject'], resources: [this.bucket.arnForObjects(`${AUDIT_KEY_PREFIX}*`)] }),
    );
    this.bucket.encryptionKey?.grant(grantee, 'kms:GenerateDataKey', 'kms:Decrypt');
    // An imported bucket's default SSE-KMS key (often in the owner's account): S3 asks it for a data key per object.
    if (this.importedKeyArn !== undefined) {
      grantee.grantPrincipal.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['kms:GenerateDataKey', 'kms:Decrypt'], resources: [this.importedKeyArn] }));
    }
  }

  /** The writer's one wildcard: object keys under the log's prefix. */
  acknowledgeNagFindings(writer: iam.IRole): void {
    const bucket = this.owned ? this.bucket : this.bucket.bucketArn;
    acknowledgeFinding(
      writerPolicy(writer),
      `AwsSolutions-IAM5[Resource::${arnToken(Stack.of(this), bucket)}/${AUDIT_KEY_PREFIX}*]`,
      'One object per account version under the log prefix: s3:PutObject (create-only by If-None-Match) and s3:GetObject (a refused create read back, to tell a duplicate from a different change).',
    );
  }
}
