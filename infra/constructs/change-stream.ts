import { Duration, Token } from 'aws-cdk-lib';
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

/**
 * The retention of a stream defined in this app, in hours, as its template will say (Kinesis keeps 24 hours when the
 * template says nothing); undefined for an imported stream, or one whose retention is only known at deploy.
 */
export function retentionHoursOf(stream: kinesis.IStream): number | undefined {
  const resource = stream.node.defaultChild;
  if (!(resource instanceof kinesis.CfnStream)) return undefined;
  const hours = resource.retentionPeriodHours;
  if (hours === undefined) return 24;
  return Token.isUnresolved(hours) ? undefined : hours;
}
