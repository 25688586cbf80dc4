import { App } from 'aws-cdk-lib';
import { BUILT_IN_PLUGINS } from '../destinations/registry';
import { readPipelineConfig } from './config/load-config';
import { OrderedFanoutStack } from './ordered-fanout-stack';

const app = new App();
new OrderedFanoutStack(app, app.node.tryGetContext('ordered-fanout:stack-name') ?? 'OrderedFanout', {
  config: readPipelineConfig(app),
  // The configuration's `plugins` section names plug-ins of the same registry `npm start -- --destinations` uses.
  pluginRegistry: Object.fromEntries(Object.entries(BUILT_IN_PLUGINS).map(([name, plugin]) => [name, plugin.infra])),
  env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
  description: 'ordered-fanout: per-account ordered fan-out from DynamoDB through Kinesis to audit, search and fraud',
});
app.synth();
