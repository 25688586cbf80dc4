import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { parsePipelineConfig } from '../../infra/config/load-config';
import { OrderedFanoutStack, type OrderedFanoutStackProps } from '../../infra/ordered-fanout-stack';
import { cdkJsonContext } from './cdk-context';

/**
 * Synthesizes the stack with `raw` as its configuration (merged over the defaults). Bundling is skipped (an empty
 * `aws:cdk:bundling-stacks`) so assertions stay fast; `cdk-synth.test.ts` bundles for real. `pluginRegistry`: the
 * plug-ins the configuration's `plugins` may name.
 */
export function synth(
  raw: unknown = {},
  options: { bundle?: boolean; pluginRegistry?: OrderedFanoutStackProps['pluginRegistry'] } = {},
): { app: App; stack: OrderedFanoutStack; template: Template } {
  const app = new App({ context: { ...cdkJsonContext(), ...(options.bundle ? {} : { 'aws:cdk:bundling-stacks': [] }) } });
  const stack = new OrderedFanoutStack(app, 'OrderedFanout', {
    config: parsePipelineConfig(raw, 'test'),
    env: { account: '123456789012', region: 'eu-west-1' },
    ...(options.pluginRegistry ? { pluginRegistry: options.pluginRegistry } : {}),
  });
  return { app, stack, template: Template.fromStack(stack) };
}
