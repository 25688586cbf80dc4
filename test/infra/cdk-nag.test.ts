import { App, Validations } from 'aws-cdk-lib';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { AwsSolutionsChecks } from 'cdk-nag';
import { describe, expect, it } from 'vitest';
import { parsePipelineConfig } from '../../infra/config/load-config';
import type { PluginTarget } from '../../infra/plugins/infra-plugin';
import { OrderedFanoutStack } from '../../infra/ordered-fanout-stack';
import { cdkJsonContext } from './cdk-context';

const IMPORTED = {
  destinations: {
    audit: { bucketArn: 'arn:aws:s3:::audit-team-log' },
    search: {
      domainEndpoint: 'https://search-accounts-abc.eu-west-1.es.amazonaws.com',
      domainArn: 'arn:aws:es:eu-west-1:123456789012:domain/accounts',
    },
    fraud: { eventBusArn: 'arn:aws:events:eu-west-1:210987654321:event-bus/fraud' },
  },
};

/** Synthesizes with the AwsSolutions pack as a validation plugin: any unacknowledged finding makes synth throw. */
function synthWithNag(raw: unknown, extend?: (stack: OrderedFanoutStack) => void): void {
  const app = new App({ context: { ...cdkJsonContext(), 'aws:cdk:bundling-stacks': [] } });
  const stack = new OrderedFanoutStack(app, 'OrderedFanout', {
    config: parsePipelineConfig(raw, 'test'),
    env: { account: '123456789012', region: 'eu-west-1' },
  });
  extend?.(stack);
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  app.synth();
}

describe('cdk-nag AwsSolutions', () => {
  it('finds nothing unacknowledged in the default stack (destinations created)', () => {
    expect(() => synthWithNag({})).not.toThrow();
  });

  it('finds nothing unacknowledged with the destinations imported', () => {
    expect(() => synthWithNag(IMPORTED)).not.toThrow();
  });

  it('fails synthesis on a finding nobody acknowledged (here: an unencrypted queue without SSL enforcement)', () => {
    expect(() => synthWithNag({}, (stack) => new sqs.Queue(stack, 'Careless', { encryption: sqs.QueueEncryption.UNENCRYPTED }))).toThrow(
      /AwsSolutions/,
    );
  });

  it('gives every acknowledgement a reason', async () => {
    const { acknowledgeNagFindings } = await import('../../infra/nag-suppressions');
    const seen: { id: string; reason: string }[] = [];
    const app = new App({ context: { ...cdkJsonContext(), 'aws:cdk:bundling-stacks': [] } });
    const stack = new OrderedFanoutStack(app, 'OrderedFanout', { config: parsePipelineConfig({}, 'test'), env: { account: '123456789012', region: 'eu-west-1' } });
    const original = Validations.prototype.acknowledge;
    Validations.prototype.acknowledge = function (this: Validations, ack: { id: string; reason: string }) {
      seen.push(ack);
      return original.call(this, ack);
    };
    try {
      acknowledgeNagFindings({
        stack,
        consumers: Object.values(stack.consumers),
        changeStream: stack.node.findChild('ChangeStream').node.findChild('Stream'),
      });
      // The destinations' own findings: the audit bucket's and the search domain's, through their targets.
      for (const [name, target] of Object.entries(stack.pipeline.targets)) {
        (target as PluginTarget).acknowledgeNagFindings?.(stack.pipeline.consumer(name).role);
      }
    } finally {
      Validations.prototype.acknowledge = original;
    }
    expect(seen.length).toBeGreaterThan(10);
    for (const { id, reason } of seen) {
      expect(id).toMatch(/^AwsSolutions-/);
      expect(reason.length, id).toBeGreaterThan(30);
    }
  });
});
