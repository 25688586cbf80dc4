import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as opensearch from 'aws-cdk-lib/aws-opensearchservice';
import type * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { topicAlarm } from './topic-alarm';

export interface SearchDomainAlarmsProps {
  /** A domain the stack owns (an imported one is its owner's to watch). */
  readonly domain: opensearch.Domain;
  readonly topic: sns.ITopic;
  /** Free storage per node below which to alarm, MiB: a quarter of the stack's 20 GiB volume. @default 5120 */
  readonly minFreeStorageMiB?: number;
}

/**
 * The search domain's health, as AWS recommends watching it: a red cluster or a write block stops every search
 * delivery (the consumer retries, the iterator age grows), and low storage or memory pressure comes before both.
 */
export class SearchDomainAlarms extends Construct {
  readonly alarms: readonly cloudwatch.Alarm[];

  constructor(scope: Construct, id: string, props: SearchDomainAlarmsProps) {
    super(scope, id);
    const { domain, topic } = props;
    const minute = { period: Duration.minutes(1) };
    this.alarms = [
      topicAlarm(this, 'ClusterRed', {
        name: 'search-ClusterRed',
        metric: domain.metricClusterStatusRed({ ...minute, statistic: 'Maximum' }),
        threshold: 1,
        description: 'A primary shard is unassigned: writes to it fail until the cluster recovers',
        topic,
      }),
      topicAlarm(this, 'WritesBlocked', {
        name: 'search-WritesBlocked',
        metric: domain.metricClusterIndexWritesBlocked({ period: Duration.minutes(5), statistic: 'Maximum' }),
        threshold: 1,
        description: 'The cluster blocks writes (disk, memory or an index block): search deliveries are retried until it lifts',
        topic,
      }),
      topicAlarm(this, 'LowStorage', {
        name: 'search-LowStorage',
        metric: domain.metricFreeStorageSpace({ ...minute, statistic: 'Minimum' }),
        threshold: props.minFreeStorageMiB ?? 5_120,
        comparison: cloudwatch.ComparisonOperator.LESS_THAN_OR_EQUAL_TO_THRESHOLD,
        description: 'A node is low on storage: at the flood stage OpenSearch blocks writes',
        topic,
      }),
      topicAlarm(this, 'JvmMemoryPressure', {
        name: 'search-JvmMemoryPressure',
        metric: domain.metricJVMMemoryPressure({ ...minute, statistic: 'Maximum' }),
        threshold: 95,
        evaluationPeriods: 3,
        description: 'JVM memory pressure over 95% for 3 minutes: the cluster may refuse requests (circuit breakers)',
        topic,
      }),
    ];
  }
}
