import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as opensearch from 'aws-cdk-lib/aws-opensearchservice';
import type { PluginAlarm } from '../plugins/infra-plugin';

/** Free storage per node below which to alarm, MiB: a quarter of the stack's 20 GiB volume. */
export const SEARCH_MIN_FREE_STORAGE_MIB = 5_120;

/**
 * The search domain's health, as AWS recommends watching it: a red cluster or a write block stops every search
 * delivery (the consumer retries, the iterator age grows), and low storage or memory pressure comes before both. Only
 * for a domain the stack owns: an imported one is its owner's to watch.
 */
export function searchDomainAlarms(domain: opensearch.Domain, alarm: PluginAlarm): cloudwatch.Alarm[] {
  const minute = { period: Duration.minutes(1) };
  return [
    alarm('ClusterRed', domain.metricClusterStatusRed({ ...minute, statistic: 'Maximum' }), 1, 'A primary shard is unassigned: writes to it fail until the cluster recovers'),
    alarm(
      'WritesBlocked',
      domain.metricClusterIndexWritesBlocked({ period: Duration.minutes(5), statistic: 'Maximum' }),
      1,
      'The cluster blocks writes (disk, memory or an index block): search deliveries are retried until it lifts',
    ),
    alarm(
      'LowStorage',
      domain.metricFreeStorageSpace({ ...minute, statistic: 'Minimum' }),
      SEARCH_MIN_FREE_STORAGE_MIB,
      'A node is low on storage: at the flood stage OpenSearch blocks writes',
      { comparison: cloudwatch.ComparisonOperator.LESS_THAN_OR_EQUAL_TO_THRESHOLD },
    ),
    alarm(
      'JvmMemoryPressure',
      domain.metricJVMMemoryPressure({ ...minute, statistic: 'Maximum' }),
      95,
      'JVM memory pressure over 95% for 3 minutes: the cluster may refuse requests (circuit breakers)',
      { evaluationPeriods: 3 },
    ),
  ];
}
