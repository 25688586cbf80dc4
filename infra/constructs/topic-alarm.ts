import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type { Construct } from 'constructs';

export interface TopicAlarmProps {
  /** The pipeline's name, which starts the alarm's name: alarm names are unique per account and region. */
  readonly pipelineName: string;
  /** The alarm's name after the pipeline's: `<pipeline>-<name>`. */
  readonly name: string;
  readonly metric: cloudwatch.IMetric;
  readonly threshold: number;
  readonly description: string;
  readonly topic: sns.ITopic;
  /** @default 1 */
  readonly evaluationPeriods?: number;
  /** @default GREATER_THAN_OR_EQUAL_TO_THRESHOLD */
  readonly comparison?: cloudwatch.ComparisonOperator;
}

/**
 * An alarm of the pipeline: named after the pipeline, so two pipelines (two stacks, or two in one stack) deploy side
 * by side; to the alarm topic on ALARM and on OK; missing data is not breaching (most metrics only exist while
 * something is wrong or traffic flows).
 */
export function topicAlarm(scope: Construct, id: string, props: TopicAlarmProps): cloudwatch.Alarm {
  const alarm = new cloudwatch.Alarm(scope, id, {
    alarmName: `${props.pipelineName}-${props.name}`,
    alarmDescription: props.description,
    metric: props.metric,
    threshold: props.threshold,
    evaluationPeriods: props.evaluationPeriods ?? 1,
    comparisonOperator: props.comparison ?? cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
    treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
  });
  alarm.addAlarmAction(new actions.SnsAction(props.topic));
  alarm.addOkAction(new actions.SnsAction(props.topic));
  return alarm;
}
