import type { FraudSettings } from '../../infra/config/pipeline-config';
import { FraudBus } from '../../infra/constructs/fraud-bus';
import type { InfraPlugin } from '../../infra/plugins/infra-plugin';

/**
 * The infrastructure half of the fraud destination (EventBridge, `in-order`): a `FraudBus`, created with its archive,
 * or imported by `eventBusArn`. Its options are its settings (`destinations.fraud`, as `parsePipelineConfig` checked
 * them).
 */
export const fraudInfra: InfraPlugin<FraudSettings, 'fraud'> = {
  name: 'fraud',
  mode: 'in-order',
  handler: 'consumers/fraud/handler.ts',
  sweeper: 'consumers/fraud/sweeper.ts',
  // The ids the construct gave these before fraud was a plug-in: a deployed stack updates in place.
  constructIds: { target: 'FraudBus', role: 'FraudConsumerRole' },
  createTarget: (scope, id, { options }) => new FraudBus(scope, id, { settings: options }),
};
