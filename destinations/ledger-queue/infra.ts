import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import type * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { encryptionKey } from '../../infra/constructs/encryption-key';
import type { InfraPlugin, PluginAlarm, PluginTarget } from '../../infra/plugins/infra-plugin';
import { MAX_BATCH_BYTES } from './sqs-fifo-queue';

export interface LedgerQueueOptions {
  /** Import this FIFO queue instead of creating one (`arn:<partition>:sqs:<region>:<account>:<name>.fifo`). */
  readonly queueArn?: string;
  /** With `queueArn`: the KMS key it is encrypted with, so the writer can encrypt. @default SQS-managed encryption */
  readonly queueKeyArn?: string;
  /** Receives before a message moves to the queue's own dead-letter queue (the ledger service's poison pills). @default 5 */
  readonly maxReceiveCount?: number;
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

  constructor(scope: Construct, id: string, options: LedgerQueueOptions = {}) {
    super(scope, id);
    this.owned = options.queueArn === undefined;
    if (options.queueArn !== undefined) {
      const key = options.queueKeyArn ? kms.Key.fromKeyArn(this, 'ImportedKey', options.queueKeyArn) : undefined;
      this.queue = sqs.Queue.fromQueueAttributes(this, 'Imported', { queueArn: options.queueArn, fifo: true, ...(key ? { keyArn: key.keyArn } : {}) });
    } else {
      const key = encryptionKey(this, 'Key', 'ordered-fanout ledger queue');
      const common = { fifo: true, encryption: sqs.QueueEncryption.KMS, encryptionMasterKey: key, enforceSSL: true, retentionPeriod: Duration.days(14), removalPolicy: RemovalPolicy.RETAIN };
      this.deadLetterQueue = new sqs.Queue(this, 'DeadLetterQueue', common);
      this.queue = new sqs.Queue(this, 'Queue', {
        ...common,
        contentBasedDeduplication: false,
        deduplicationScope: sqs.DeduplicationScope.MESSAGE_GROUP,
        fifoThroughputLimit: sqs.FifoThroughputLimit.PER_MESSAGE_GROUP_ID,
        maxMessageSizeBytes: MAX_BATCH_BYTES,
        deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: options.maxReceiveCount ?? 5 },
      });
    }
    this.environment = { LEDGER_QUEUE_URL: this.queue.queueUrl };
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
    // Delivered but not taken: the ledger service is behind (or down); the engine cannot see this lag.
    alarm('QueueAge', this.queue.metricApproximateAgeOfOldestMessage({ statistic: 'Maximum', period: Duration.minutes(5) }), 900, 'The ledger service has not taken a message for 15 minutes');
    if (this.deadLetterQueue) {
      const depth = this.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ statistic: 'Maximum', period: Duration.minutes(5) });
      alarm('ReceiverDeadLetters', depth, 1, "The ledger service gave up on a message: its account's group is past it, out of order for the service");
    }
  }
}

/** The infrastructure half of the ledger-queue plug-in. */
export const ledgerQueueInfra: InfraPlugin<LedgerQueueOptions, 'ledger-queue'> = {
  name: 'ledger-queue',
  mode: 'in-order',
  handler: 'destinations/ledger-queue/handler.ts',
  sweeper: 'destinations/ledger-queue/sweeper.ts',
  createTarget: (scope, id, { options }) => new LedgerQueue(scope, id, options),
};
