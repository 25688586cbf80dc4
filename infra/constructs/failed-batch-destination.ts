import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as s3 from 'aws-cdk-lib/aws-s3';

/**
 * The event source mapping's on-failure destination: an S3 bucket that receives the whole invocation record of a
 * batch Lambda gave up on. Unlike `S3OnFailureDestination`, which grants read, write and delete on the bucket, this
 * grants only what Lambda needs to write the record: `s3:PutObject` and `s3:ListBucket`, and encrypting with the key.
 */
export class FailedBatchDestination implements lambda.IEventSourceDlq {
  constructor(private readonly bucket: s3.IBucket) {}

  bind(_target: lambda.IEventSourceMapping, targetHandler: lambda.IFunction): lambda.DlqDestinationConfig {
    targetHandler.addToRolePolicy(new iam.PolicyStatement({ actions: ['s3:PutObject'], resources: [this.bucket.arnForObjects('*')] }));
    targetHandler.addToRolePolicy(new iam.PolicyStatement({ actions: ['s3:ListBucket'], resources: [this.bucket.bucketArn] }));
    this.bucket.encryptionKey?.grant(targetHandler, 'kms:GenerateDataKey', 'kms:Decrypt');
    return { destination: this.bucket.bucketArn };
  }
}
