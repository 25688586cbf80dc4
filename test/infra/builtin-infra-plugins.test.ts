import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as iam from 'aws-cdk-lib/aws-iam';
import { Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { auditRuntime } from '../../consumers/audit/runtime';
import { fraudRuntime } from '../../consumers/fraud/runtime';
import { searchRuntime } from '../../consumers/search/runtime';
import { checkPlugin } from '../../destinations/plugin';
import { BUILT_IN_PLUGINS } from '../../destinations/registry';
import { DESTINATION_NAMES } from '../../infra/config/pipeline-config';
import { PACKAGE_ROOT } from '../../infra/constructs/function-code';
import { SWEPT_DESTINATIONS } from '../../infra/constructs/gap-sweeper';
import { OrderedFanout } from '../../infra/ordered-fanout';
import { BUILT_IN_INFRA_PLUGINS, FUNCTION_SOURCES } from '../../infra/plugins/builtin-infra-plugins';
import { pluginDestination, type InfraPlugin, type PluginTarget } from '../../infra/plugins/infra-plugin';
import { DESTINATION_MODES } from '../../shared/config/consumer-config';
import { cdkJsonContext } from './cdk-context';

const RUNTIMES = { audit: auditRuntime, search: searchRuntime, fraud: fraudRuntime };

describe('the built-in destinations as plug-ins', () => {
  it.each(DESTINATION_NAMES)('%s: the infrastructure half agrees with its runtime half (checkPlugin)', (name) => {
    const infra = BUILT_IN_INFRA_PLUGINS[name];
    expect(() => checkPlugin({ runtime: RUNTIMES[name], infra })).not.toThrow();
    expect(infra.name).toBe(name);
    expect(infra.mode).toBe(DESTINATION_MODES[name]);
    expect(infra.handler).toBe(`consumers/${name}/handler.ts`);
    // The sweepers are exactly the destinations the runtime sweeps (SWEPT_DESTINATIONS, what npm start runs).
    expect(infra.sweeper).toBe(SWEPT_DESTINATIONS.includes(name) ? `consumers/${name}/sweeper.ts` : undefined);
  });

  it('checkPlugin refuses halves that disagree', () => {
    expect(() => checkPlugin({ runtime: searchRuntime, infra: BUILT_IN_INFRA_PLUGINS.audit })).toThrow(/disagree/);
  });

  it('every packaged handler is in FUNCTION_SOURCES, once, and exists', () => {
    const packaged = [...Object.values(BUILT_IN_INFRA_PLUGINS), ...Object.values(BUILT_IN_PLUGINS).map((plugin) => plugin.infra)];
    const expected = packaged.flatMap((plugin) => [plugin.handler, ...(plugin.sweeper ? [plugin.sweeper] : []), ...(plugin.functions ?? [])]);
    expect([...FUNCTION_SOURCES].sort()).toEqual([...new Set(expected)].sort());
    expect(new Set(FUNCTION_SOURCES).size).toBe(FUNCTION_SOURCES.length);
    expect(FUNCTION_SOURCES).toContain('infra/search-security/handler.ts');
    for (const source of FUNCTION_SOURCES) expect(existsSync(join(PACKAGE_ROOT, source)), source).toBe(true);
  });
});

describe('a plug-in with every optional hook', () => {
  const seen: { targetId?: string; nagWriters: iam.IRole[] } = { nagWriters: [] };
  const hook: InfraPlugin<Record<string, never>, 'hook'> = {
    name: 'hook',
    mode: 'latest-state',
    handler: 'destinations/ledger-queue/handler.ts',
    constructIds: { target: 'Hook', role: 'HookRole', alarms: 'HookHealth' },
    createTarget: (_scope, id): PluginTarget => {
      seen.targetId = id;
      return {
        owned: false,
        environment: {},
        grantDeliver: () => undefined,
        alarms: (alarm) => {
          alarm('Backlog', new cloudwatch.Metric({ namespace: 'Hook', metricName: 'Backlog' }), 10, 'The hook is behind');
        },
        acknowledgeNagFindings: (writer) => {
          seen.nagWriters.push(writer);
        },
      };
    },
  };
  const app = new App({ context: { ...cdkJsonContext(), 'aws:cdk:bundling-stacks': [] } });
  const stack = new Stack(app, 'Platform', { env: { account: '123456789012', region: 'eu-west-1' } });
  const fanout = new OrderedFanout(stack, 'Fanout', { destinations: {}, plugins: [pluginDestination(hook, {})] });

  it('puts its target, role and alarms under the construct ids it names', () => {
    expect(seen.targetId).toBe('Hook');
    expect(fanout.consumer('hook').role).toBe(fanout.node.findChild('HookRole'));
    const alarm = fanout.node.findChild('HookHealth').node.findChild('Backlog').node.defaultChild as cloudwatch.CfnAlarm;
    expect(alarm.alarmName).toBe('Platform-hook-Backlog');
    expect(fanout.sweepers.hook).toBeUndefined();
  });

  it('acknowledges its nag findings once, with the consumer role', () => {
    expect(seen.nagWriters).toEqual([fanout.consumer('hook').role]);
  });

  it('by default: <Name>Target, the role inside the consumer, the alarms with the consumer alarms', () => {
    const app2 = new App({ context: { ...cdkJsonContext(), 'aws:cdk:bundling-stacks': [] } });
    const stack2 = new Stack(app2, 'Platform', { env: { account: '123456789012', region: 'eu-west-1' } });
    const plain = new OrderedFanout(stack2, 'Fanout', { destinations: {}, plugins: [pluginDestination({ ...hook, constructIds: undefined }, {})] });
    expect(seen.targetId).toBe('HookTarget');
    expect(plain.consumer('hook').role.node.path).toBe('Platform/Fanout/HookConsumer/Role');
    expect(plain.node.findChild('HookAlarms').node.tryFindChild('Backlog')).toBeDefined();
    Template.fromStack(stack2).hasResourceProperties('AWS::CloudWatch::Alarm', { AlarmName: 'Platform-hook-Backlog', Threshold: 10 });
  });
});

describe('a plug-in handler the package does not have', () => {
  // From an installed package, an app's own handler given relative is looked for in the package: say what to do.
  it('fails synth saying a handler of your own must be an absolute path', () => {
    const app = new App({ context: { ...cdkJsonContext(), 'aws:cdk:bundling-stacks': [] } });
    const stack = new Stack(app, 'Platform', { env: { account: '123456789012', region: 'eu-west-1' } });
    const missing: InfraPlugin<Record<string, never>, 'webhook'> = {
      name: 'webhook',
      mode: 'latest-state',
      handler: 'src/webhook/handler.ts',
      createTarget: () => ({ owned: false, environment: {}, grantDeliver: () => undefined }),
    };
    expect(() => new OrderedFanout(stack, 'Fanout', { destinations: {}, plugins: [pluginDestination(missing, {})] })).toThrow(
      /src\/webhook\/handler\.ts.*must be an absolute path/,
    );
  });
});
