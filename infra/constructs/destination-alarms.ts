import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { METRIC_NAMES } from '../../shared/observability/telemetry';
import type { AlarmThresholds } from '../config/pipeline-config';
import type { DestinationConsumer } from './destination-consumer';
import { topicAlarm } from './topic-alarm';

export interface DestinationAlarmsProps {
  readonly consumer: DestinationConsumer;
  readonly thresholds: AlarmThresholds;
  readonly topic: sns.ITopic;
}

/**
 * One destination's alarms, each to the alarm topic; the README says what each means and what to do first. Only
 * alarms that can fire: a `latest-state` destination never waits for a missing version, so it has no parked or gap
 * alarms.
 */
export class DestinationAlarms extends Construct {
  readonly alarms: cloudwatch.Alarm[];

  constructor(scope: Construct, id: string, props: DestinationAlarmsProps) {
    super(scope, id);
    const { consumer, thresholds } = props;
    const alarm = (
      id: string,
      metric: cloudwatch.IMetric,
      threshold: number,
      description: string,
      options: { evaluationPeriods?: number; comparison?: cloudwatch.ComparisonOperator } = {},
    ): cloudwatch.Alarm =>
      topicAlarm(this, id, {
        pipelineName: consumer.pipelineName,
        name: `${consumer.destination}-${id}`,
        metric,
        threshold,
        description,
        topic: props.topic,
        evaluationPeriods: options.evaluationPeriods ?? thresholds.evaluationPeriods,
        ...(options.comparison ? { comparison: options.comparison } : {}),
      });
    this.alarms = [
      alarm('IteratorAge', consumer.metricIteratorAge(), thresholds.iteratorAgeMs, 'EFO lag: the consumer is falling behind the stream', {
        comparison: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      }),
      alarm('Errors', consumer.metricErrors(), thresholds.errors, 'Invocations failed: Lambda retries and bisects the batch', {
        evaluationPeriods: 1,
      }),
      alarm('Throttles', consumer.metricThrottles(), thresholds.throttles, 'Invocations throttled: the account (or the reserved) concurrency is used up', {
        evaluationPeriods: 1,
      }),
      alarm('DeadLetters', consumer.metricDeadLetterDepth(), thresholds.deadLetters, 'Records wait in the dead-letter queue for a redrive', {
        evaluationPeriods: 1,
      }),
      // SQS keeps a letter 14 days at most (its maximum retention): a week unredriven leaves a week to act.
      alarm('DeadLetterAge', consumer.metricOldestDeadLetterAge(), 7 * 86_400, 'A letter has waited a week: SQS deletes it after 14 days, redrive it before', {
        evaluationPeriods: 1,
      }),
      alarm('FailedBatches', consumer.metricFailedBatches(), 1, 'Lambda gave up on a batch: its records reached no destination (on-failure bucket)', {
        evaluationPeriods: 1,
      }),
    ];
    if (consumer.mode === 'latest-state') return;
    this.alarms.push(
      alarm(
        'OldestParkedAge',
        consumer.metric(METRIC_NAMES.oldestParkedAge, { statistic: 'Maximum' }),
        thresholds.oldestParkedAgeSeconds,
        'An account has waited for a missing version longer than the threshold',
        { comparison: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD, evaluationPeriods: 1 },
      ),
      alarm(
        'ParkedTooLong',
        consumer.metric(METRIC_NAMES.parkedTooLong, { statistic: 'Maximum' }),
        thresholds.parkedTooLong,
        'Accounts parked longer than the threshold',
        { evaluationPeriods: 1 },
      ),
      alarm(
        'GapTimeouts',
        consumer.metric(METRIC_NAMES.gapTimeouts, { statistic: 'Sum', period: Duration.minutes(5) }),
        1,
        'Versions were given up on after the maximum gap age: their successors are in the dead-letter queue as GAP_TIMEOUT',
        { evaluationPeriods: 1 },
      ),
    );
  }
}
