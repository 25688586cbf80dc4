import { Duration } from 'aws-cdk-lib';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import type { PluginAlarm } from './infra-plugin';

export interface ReceiverQueueAlarmsProps {
  /** The queue the plug-in delivers to. */
  readonly queue: sqs.IQueue;
  /** The queue's own dead-letter queue (where its receiver's poison pills go), when the stack made one. @default none */
  readonly deadLetterQueue?: sqs.IQueue;
  /** Who receives, as the descriptions name it: `The ledger service`. */
  readonly receiver: string;
  /** What a message given up on means for the receiver, added to that alarm's description. @default nothing */
  readonly gaveUp?: string;
  /** @default 900 (15 minutes) */
  readonly maxAgeSeconds?: number;
}

/**
 * For a plug-in's `alarms`, when its destination is a queue another service receives from: the engine's metrics end
 * where the message is delivered, so these watch the receiver. `QueueAge`: the oldest message has waited
 * `maxAgeSeconds` (the receiver is behind, or down); `ReceiverDeadLetters`: the dead-letter queue holds a message (the
 * receiver gave up on it). Both on the 5-minute maximum.
 */
export function receiverQueueAlarms(alarm: PluginAlarm, props: ReceiverQueueAlarmsProps): void {
  const { queue, deadLetterQueue, receiver, gaveUp, maxAgeSeconds = 900 } = props;
  const metric = { statistic: 'Maximum', period: Duration.minutes(5) };
  const waited = Duration.seconds(maxAgeSeconds).toHumanString();
  alarm('QueueAge', queue.metricApproximateAgeOfOldestMessage(metric), maxAgeSeconds, `${receiver} has not taken a message for ${waited}`);
  if (deadLetterQueue === undefined) return;
  const description = `${receiver} gave up on a message${gaveUp === undefined ? '' : `: ${gaveUp}`}`;
  alarm('ReceiverDeadLetters', deadLetterQueue.metricApproximateNumberOfMessagesVisible(metric), 1, description);
}
