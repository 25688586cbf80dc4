import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { Construct } from 'constructs';
import { METRIC_NAMES, type MetricName } from '../../shared/observability/telemetry';
import type { DestinationConsumer } from './destination-consumer';

/** One dashboard, the destinations side by side: throughput, lag, duplicates, heals, parks, gap time-outs and dead letters. */
export class PipelineDashboard extends Construct {
  readonly dashboard: cloudwatch.Dashboard;

  constructor(scope: Construct, id: string, props: { readonly consumers: readonly DestinationConsumer[] }) {
    super(scope, id);
    this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', { dashboardName: undefined });
    const width = Math.max(6, Math.floor(24 / Math.max(1, props.consumers.length)));
    const row = (title: string, metrics: (consumer: DestinationConsumer) => cloudwatch.IMetric[]) =>
      props.consumers.map(
        (consumer) => new cloudwatch.GraphWidget({ title: `${consumer.destination}: ${title}`, left: metrics(consumer), width, height: 6 }),
      );
    const own = (consumer: DestinationConsumer, ...names: MetricName[]) => names.map((name) => consumer.metric(name, { label: name }));
    this.dashboard.addWidgets(...row('throughput', (c) => own(c, METRIC_NAMES.records, METRIC_NAMES.delivered)));
    this.dashboard.addWidgets(...row('lag (ms)', (c) => [c.metricIteratorAge({ label: 'IteratorAge' })]));
    this.dashboard.addWidgets(...row('duplicates and stale', (c) => own(c, METRIC_NAMES.duplicates, METRIC_NAMES.stale)));
    this.dashboard.addWidgets(...row('heals and parks', (c) => own(c, METRIC_NAMES.healed, METRIC_NAMES.parked, METRIC_NAMES.unparked)));
    this.dashboard.addWidgets(
      ...row('waiting', (c) => [
        c.metric(METRIC_NAMES.waitingAccounts, { statistic: 'Maximum', label: 'WaitingAccounts' }),
        c.metric(METRIC_NAMES.oldestParkedAge, { statistic: 'Maximum', label: 'OldestParkedAge (s)' }),
      ]),
    );
    this.dashboard.addWidgets(
      ...row('gap time-outs', (c) => [
        ...own(c, METRIC_NAMES.gapTimeouts),
        c.metric(METRIC_NAMES.parkedTooLong, { statistic: 'Maximum', label: 'AccountsParkedTooLong' }),
      ]),
    );
    this.dashboard.addWidgets(
      ...row('dead letters', (c) => [
        ...own(c, METRIC_NAMES.deadLettered, METRIC_NAMES.quarantined, METRIC_NAMES.failed),
        c.metricDeadLetterDepth({ label: 'queue depth' }),
      ]),
    );
    this.dashboard.addWidgets(...row('errors and retries', (c) => [c.metricErrors({ label: 'Errors' }), c.metricThrottles({ label: 'Throttles' }), ...own(c, METRIC_NAMES.retries, METRIC_NAMES.ledgerConflicts)]));
  }
}
