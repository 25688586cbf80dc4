import { App } from 'aws-cdk-lib';
import { readPipelineConfig } from './config/load-config';
import { OrderedFanoutStack } from './ordered-fanout-stack';

const app = new App();
new OrderedFanoutStack(app, app.node.tryGetContext('ordered-fanout:stack-name') ?? 'OrderedFanout', {
  config: readPipelineConfig(app),
  env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
  description: 'ordered-fanout: per-account ordered fan-out from DynamoDB through Kinesis to audit, search and fraud',
});
app.synth();
