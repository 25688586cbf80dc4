import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { parsePipelineConfig } from '../../infra/config/load-config';
import { OrderedFanoutStack } from '../../infra/ordered-fanout-stack';
import { cdkJsonContext } from './cdk-context';
import { literalNames, ownMetrics, serviceNames } from './pipeline-metrics';

/**
 * Two stacks of the pipeline in one account and region (dev and staging, or two tables) must deploy side by side: no
 * physical name fixed in the template may be the same in both (`literalNames`), and neither may read the other's
 * metric series, or each one's alarms would fire on the other's dead letters.
 */
function twoStacks(raw: unknown = {}): [Template, Template] {
  const app = new App({ context: { ...cdkJsonContext(), 'aws:cdk:bundling-stacks': [] } });
  const env = { account: '123456789012', region: 'eu-west-1' };
  const config = parsePipelineConfig(raw, 'test');
  const dev = new OrderedFanoutStack(app, 'OrderedFanoutDev', { config, env });
  const staging = new OrderedFanoutStack(app, 'OrderedFanoutStaging', { config, env });
  return [Template.fromStack(dev), Template.fromStack(staging)];
}

describe('two stacks in one account and region', () => {
  it.each([
    ['the default configuration', {}],
    ['a replay epoch on search and alarm emails', { alarmEmails: ['ops@example.com'], destinations: { search: { epoch: 'replay-1' } } }],
  ])('share no physical name (%s)', (_, raw) => {
    const [dev, staging] = twoStacks(raw);
    const devNames = literalNames(dev);
    const stagingNames = literalNames(staging);
    // The check must see the names there are: alarms and stream consumers are named in the template.
    expect(devNames.size).toBeGreaterThanOrEqual(20);
    const shared = [...devNames.keys()].filter((name) => stagingNames.has(name));
    expect(shared).toEqual([]);
  });

  it("reads and publishes each stack's own metric series: service = the stack's name (the default pipeline name)", () => {
    const [dev, staging] = twoStacks();
    const series = (template: Template) => ownMetrics(template).map(({ metric, dimensions }) => JSON.stringify([metric, dimensions]));
    expect(ownMetrics(dev).length).toBeGreaterThan(20);
    for (const { dimensions } of ownMetrics(dev)) expect(dimensions.service).toBe('OrderedFanoutDev');
    for (const { dimensions } of ownMetrics(staging)) expect(dimensions.service).toBe('OrderedFanoutStaging');
    expect(series(dev).filter((one) => series(staging).includes(one))).toEqual([]);
    expect(new Set(Object.values(serviceNames(dev)))).toEqual(new Set(['OrderedFanoutDev']));
    expect(new Set(Object.values(serviceNames(staging)))).toEqual(new Set(['OrderedFanoutStaging']));
  });

  it("names each stack's alarms after the stack", () => {
    const [dev] = twoStacks();
    const alarmNames = Object.values(dev.findResources('AWS::CloudWatch::Alarm')).map((alarm) => alarm.Properties.AlarmName as string);
    expect(alarmNames.length).toBeGreaterThan(0);
    for (const name of alarmNames) expect(name.startsWith('OrderedFanoutDev-')).toBe(true);
  });
});
