import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import type * as iam from 'aws-cdk-lib/aws-iam';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { option, parsePluginOptions } from '../../infra/config/plugin-config';
import { encryptionKey } from '../../infra/constructs/encryption-key';
import type { InfraPlugin, PluginAlarm, PluginTarget } from '../../infra/plugins/infra-plugin';
import { receiverQueueAlarms } from '../../infra/plugins/receiver-queue-alarms';
import { MAX_BATCH_BYTES } from './runtime';

export interface LedgerQueueOptions {
  /** Import this FIFO queue instead of creating one (`arn:<partition>:sqs:<region>:<account>:<name>.fifo`). */
  readonly queueArn?: string;
  /** With `queueArn`: the KMS key it is encrypted with, so the writer can encrypt. @default SQS-managed encryption */
  readonly queueKeyArn?: string;
  /** Receives before a message moves to the queue's own dead-letter queue (the ledger service's poison pills). @default 5 */
  readonly maxReceiveCount?: number;
  /** The queue's MaximumMessageSize (an older queue's may be 262144); a bigger message is dead-lettered unsent. @default 1048576 */
  readonly maxMessageBytes?: number;
}

/**
 * The ledger service's feed: an SQS FIFO queue, one message group per account, deduplicated by `<account>#<version>`
 * (content-based deduplication off: two versions with equal bodies are still two messages). High-throughput FIFO
 * (deduplication and throughput per message group), since groups are accounts. A created queue is KMS-encrypted and has
 * a FIFO dead-letter queue of its own for messages its receiver keeps failing on.
 */
export class LedgerQueue extends Construct implements PluginTarget {
  readonly queue: sqs.IQueue;
  readonly deadLetterQueue?: sqs.Queue;
  readonly owned: boolean;
  readonly environment: Readonly<Record<string, string>>;

  constructor(scope: Construct, id: string, { queueArn, queueKeyArn, maxReceiveCount = 5, maxMessageBytes = MAX_BATCH_BYTES }: LedgerQueueOptions = {}) {
    super(scope, id);
    this.owned = queueArn === undefined;
    if (queueArn !== undefined) {
      this.queue = sqs.Queue.fromQueueAttributes(this, 'Imported', { queueArn, keyArn: queueKeyArn, fifo: true });
    } else {
      const key = encryptionKey(this, 'Key', 'ordered-fanout ledger queue');
      const common = { fifo: true, encryption: sqs.QueueEncryption.KMS, encryptionMasterKey: key, enforceSSL: true, retentionPeriod: Duration.days(14), removalPolicy: RemovalPolicy.RETAIN };
      this.deadLetterQueue = new sqs.Queue(this, 'DeadLetterQueue', common);
      this.queue = new sqs.Queue(this, 'Queue', {
        ...common,
        contentBasedDeduplication: false,
        deduplicationScope: sqs.DeduplicationScope.MESSAGE_GROUP,
        fifoThroughputLimit: sqs.FifoThroughputLimit.PER_MESSAGE_GROUP_ID,
        maxMessageSizeBytes: maxMessageBytes,
        deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount },
      });
    }
    this.environment = { LEDGER_QUEUE_URL: this.queue.queueUrl, LEDGER_QUEUE_MAX_MESSAGE_BYTES: String(maxMessageBytes) };
  }

  /** `sqs:SendMessage` on this queue (and its key) only. */
  grantDeliver(grantee: iam.IGrantable): void {
    this.queue.grantSendMessages(grantee);
  }

  /** For the ledger service: receive and delete. */
  grantConsume(grantee: iam.IGrantable): iam.Grant {
    return this.queue.grantConsumeMessages(grantee);
  }

  alarms(alarm: PluginAlarm): void {
    const gaveUp = "its account's group is past it, out of order for the service";
    receiverQueueAlarms(alarm, { queue: this.queue, deadLetterQueue: this.deadLetterQueue, receiver: 'The ledger service', gaveUp });
  }
}

/** The infrastructure half of the ledger-queue plug-in. */
export const ledgerQueueInfra: InfraPlugin<LedgerQueueOptions, 'ledger-queue'> = {
  name: 'ledger-queue',
  mode: 'in-order',
  handler: 'destinations/ledger-queue/handler.ts',
  sweeper: 'destinations/ledger-queue/sweeper.ts',
  parseOptions: (raw, path) =>
    parsePluginOptions<LedgerQueueOptions>(raw, path, { queueArn: option.arn.sqsFifoQueue, queueKeyArn: option.arn.kmsKey, maxReceiveCount: option.int(1, 1_000), maxMessageBytes: option.int(1_024, MAX_BATCH_BYTES) }),
  createTarget: (scope, id, { options }) => new LedgerQueue(scope, id, options),
};
