import { Duration } from 'aws-cdk-lib';
import * as kinesis from 'aws-cdk-lib/aws-kinesis';
import { Construct } from 'constructs';
import type { PipelineConfig } from '../config/pipeline-config';
import { encryptionKey } from './encryption-key';

/** The Kinesis Data Stream the Accounts table writes its changes to: 365 days of history by default, KMS-encrypted. */
export class ChangeStream extends Construct {
  readonly stream: kinesis.Stream;

  constructor(scope: Construct, id: string, props: { readonly config: PipelineConfig['stream'] }) {
    super(scope, id);
    const onDemand = props.config.mode === 'ON_DEMAND';
    this.stream = new kinesis.Stream(this, 'Stream', {
      retentionPeriod: Duration.hours(props.config.retentionHours),
      streamMode: onDemand ? kinesis.StreamMode.ON_DEMAND : kinesis.StreamMode.PROVISIONED,
      ...(onDemand ? {} : { shardCount: props.config.shardCount }),
      encryption: kinesis.StreamEncryption.KMS,
      encryptionKey: encryptionKey(this, 'Key', 'Accounts change stream'),
    });
  }
}
