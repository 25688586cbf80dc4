import type { Template } from 'aws-cdk-lib/assertions';
import { METRICS_NAMESPACE } from '../../shared/observability/telemetry';

/** Reading what a template names and which metric series it reads, for the tests of pipelines side by side. */

type Resources = Record<string, { Type: string; Properties?: Record<string, any> }>;

/** A metric of the consumers' own namespace that an alarm or a dashboard of the template reads. */
export interface OwnMetric {
  /** The logical id of the alarm or dashboard that reads it. */
  readonly reader: string;
  readonly metric: string;
  readonly dimensions: Readonly<Record<string, string>>;
}

/** Keys that end in `Name` but name no resource of their own. */
const NOT_PHYSICAL = new Set(['MetricName', 'Namespace', 'IndexName', 'AttributeName', 'Handler', 'PolicyName']);

/**
 * Every physical name fixed in the template, as `Type.Key=value` → the logical ids that have it: any top-level
 * property whose key ends in `Name` with a literal string value (names CloudFormation generates, or built from the
 * stack's own tokens, cannot collide).
 */
export function literalNames(template: Template): Map<string, string[]> {
  const names = new Map<string, string[]>();
  for (const [id, resource] of Object.entries(template.toJSON().Resources as Resources)) {
    for (const [key, value] of Object.entries(resource.Properties ?? {})) {
      if (!key.endsWith('Name') || NOT_PHYSICAL.has(key) || typeof value !== 'string') continue;
      const name = `${resource.Type}.${key}=${value}`;
      names.set(name, [...(names.get(name) ?? []), id]);
    }
  }
  return names;
}

/** Every metric of the `OrderedFanout` namespace read by an alarm (plain or math) or a dashboard widget. */
export function ownMetrics(template: Template): OwnMetric[] {
  const found: OwnMetric[] = [];
  const dimensionsOf = (list: { Name: string; Value: unknown }[] = []) => Object.fromEntries(list.map(({ Name, Value }) => [Name, String(Value)]));
  for (const [id, resource] of Object.entries(template.toJSON().Resources as Resources)) {
    const props = resource.Properties ?? {};
    if (resource.Type === 'AWS::CloudWatch::Alarm') {
      if (props.Namespace === METRICS_NAMESPACE) found.push({ reader: id, metric: props.MetricName, dimensions: dimensionsOf(props.Dimensions) });
      for (const query of props.Metrics ?? []) {
        const metric = query.MetricStat?.Metric;
        if (metric?.Namespace === METRICS_NAMESPACE) found.push({ reader: id, metric: metric.MetricName, dimensions: dimensionsOf(metric.Dimensions) });
      }
    }
    if (resource.Type === 'AWS::CloudWatch::Dashboard') {
      // The body is a join of JSON text and tokens; a widget's metric is `[namespace, name, key, value, ..., {options}]`.
      const body = JSON.stringify(props.DashboardBody).replace(/\\"/g, '"');
      for (const [, inner] of body.matchAll(new RegExp(`\\["${METRICS_NAMESPACE}",("[^"]*"(?:,"[^"]*")*)`, 'g'))) {
        const [metric, ...pairs] = JSON.parse(`[${inner}]`) as string[];
        const dimensions: Record<string, string> = {};
        for (let i = 0; i + 1 < pairs.length; i += 2) dimensions[pairs[i] as string] = pairs[i + 1] as string;
        found.push({ reader: id, metric: metric as string, dimensions });
      }
    }
  }
  return found;
}

/** The `POWERTOOLS_SERVICE_NAME` of each function of the template that has one, by logical id. */
export function serviceNames(template: Template): Record<string, string> {
  const resources = template.toJSON().Resources as Resources;
  return Object.fromEntries(
    Object.entries(resources).flatMap(([id, resource]) => {
      const name = resource.Type === 'AWS::Lambda::Function' ? resource.Properties?.Environment?.Variables?.POWERTOOLS_SERVICE_NAME : undefined;
      return name === undefined ? [] : [[id, name as string]];
    }),
  );
}
