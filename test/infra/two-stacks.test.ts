import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { parsePipelineConfig } from '../../infra/config/load-config';
import { OrderedFanoutStack } from '../../infra/ordered-fanout-stack';
import { cdkJsonContext } from './cdk-context';

/**
 * Two stacks of the pipeline in one account and region (dev and staging, or two tables) must deploy side by side: no
 * physical name fixed in the template may be the same in both. A name is any top-level property whose key ends in
 * `Name` and whose value is a literal string (names CloudFormation generates, or built from the stack's own tokens,
 * cannot collide); a few keys that end in `Name` but name no resource are left out.
 */
const NOT_PHYSICAL = new Set(['MetricName', 'Namespace', 'IndexName', 'AttributeName', 'Handler', 'PolicyName']);

function literalNames(template: Template): Map<string, string> {
  const names = new Map<string, string>();
  for (const [id, resource] of Object.entries(template.toJSON().Resources as Record<string, { Type: string; Properties?: Record<string, unknown> }>)) {
    for (const [key, value] of Object.entries(resource.Properties ?? {})) {
      if (!key.endsWith('Name') || NOT_PHYSICAL.has(key) || typeof value !== 'string') continue;
      names.set(`${resource.Type}.${key}=${value}`, id);
    }
  }
  return names;
}

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

  it("names each stack's alarms after the stack", () => {
    const [dev] = twoStacks();
    const alarmNames = Object.values(dev.findResources('AWS::CloudWatch::Alarm')).map((alarm) => alarm.Properties.AlarmName as string);
    expect(alarmNames.length).toBeGreaterThan(0);
    for (const name of alarmNames) expect(name.startsWith('OrderedFanoutDev-')).toBe(true);
  });
});
