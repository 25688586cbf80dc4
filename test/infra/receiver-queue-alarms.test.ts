import { App, Stack } from 'aws-cdk-lib';
import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { describe, expect, it } from 'vitest';
import type { PluginAlarm } from '../../infra/plugins/infra-plugin';
import { receiverQueueAlarms } from '../../infra/plugins/receiver-queue-alarms';

/** A `PluginAlarm` that records what it was asked for. */
function recording() {
  const made: { id: string; metric: cloudwatch.Metric; threshold: number; description: string }[] = [];
  const alarm = ((id, metric, threshold, description) => {
    made.push({ id, metric: metric as cloudwatch.Metric, threshold, description });
    return undefined as unknown as cloudwatch.Alarm;
  }) satisfies PluginAlarm;
  return { alarm, made };
}

describe('receiverQueueAlarms', () => {
  const stack = new Stack(new App(), 'Alarms');
  const queue = new sqs.Queue(stack, 'Queue');
  const deadLetterQueue = new sqs.Queue(stack, 'DeadLetters');

  it("alarms on the queue's oldest message (15 minutes by default) and on its dead-letter queue's depth, 5-minute maximum", () => {
    const { alarm, made } = recording();
    receiverQueueAlarms(alarm, { queue, deadLetterQueue, receiver: 'The ledger service', gaveUp: 'its group is past it' });
    expect(made.map(({ id, threshold, description }) => ({ id, threshold, description }))).toEqual([
      { id: 'QueueAge', threshold: 900, description: 'The ledger service has not taken a message for 15 minutes' },
      { id: 'ReceiverDeadLetters', threshold: 1, description: 'The ledger service gave up on a message: its group is past it' },
    ]);
    expect(made.map(({ metric }) => [metric.metricName, metric.statistic, metric.period.toMinutes()])).toEqual([
      ['ApproximateAgeOfOldestMessage', 'Maximum', 5],
      ['ApproximateNumberOfMessagesVisible', 'Maximum', 5],
    ]);
    expect(stack.resolve(made[0]!.metric.dimensions)).toEqual({ QueueName: stack.resolve(queue.queueName) });
    expect(stack.resolve(made[1]!.metric.dimensions)).toEqual({ QueueName: stack.resolve(deadLetterQueue.queueName) });
  });

  it('has no dead-letter alarm without a dead-letter queue (an imported queue), and takes another age', () => {
    const { alarm, made } = recording();
    receiverQueueAlarms(alarm, { queue, receiver: 'The partner', maxAgeSeconds: 3_600 });
    expect(made.map(({ id, threshold, description }) => ({ id, threshold, description }))).toEqual([
      { id: 'QueueAge', threshold: 3_600, description: 'The partner has not taken a message for 1 hour' },
    ]);
  });
});
