import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { readFraudSettings, type ConsumerConfig } from '../../shared/config/consumer-config';
import type { RuntimePlugin } from '../../shared/destination-plugin/runtime-plugin';
import { EventBridgeBus } from './eventbridge-bus';

/** The runtime half of the fraud destination: in-order → EventBridge, one event per account version. */
export const fraudRuntime: RuntimePlugin<NonNullable<ConsumerConfig['fraud']>> = {
  name: 'fraud',
  mode: 'in-order',
  readSettings: readFraudSettings,
  createDestination({ eventBusName, source }, { retrier, clientConfig }) {
    const client = new EventBridgeClient(clientConfig('AWS_ENDPOINT_URL_EVENTBRIDGE'));
    return { destination: new EventBridgeBus({ client, eventBusName, source, retrier }), close: () => client.destroy() };
  },
};
