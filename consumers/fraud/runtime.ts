import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { formatted, requiredString } from '../../shared/config/env';
import type { RuntimePlugin } from '../../shared/destination-plugin/runtime-plugin';
import { EventBridgeBus } from './eventbridge-bus';

export interface FraudRuntimeSettings {
  /** Bus name or ARN. */
  readonly eventBusName: string;
  /** The events' `Source`. */
  readonly source: string;
}

/** The runtime half of the fraud destination: in-order → EventBridge, one event per account version. */
export const fraudRuntime: RuntimePlugin<FraudRuntimeSettings> = {
  name: 'fraud',
  mode: 'in-order',
  readSettings: (env) => ({
    eventBusName: requiredString(env, 'FRAUD_EVENT_BUS_NAME'),
    source: formatted(env, 'FRAUD_EVENT_SOURCE', isEventSource, 'an EventBridge event source of 1-256 characters, not starting with "aws." (reserved for AWS services)') ?? 'ordered-fanout.accounts',
  }),
  createDestination({ eventBusName, source }, { retrier, clientConfig }) {
    const client = new EventBridgeClient(busClientConfig(eventBusName, clientConfig('AWS_ENDPOINT_URL_EVENTBRIDGE')));
    return { destination: new EventBridgeBus({ client, eventBusName, source, retrier }), close: () => client.destroy() };
  },
};

/**
 * The client of the bus's own region: an imported bus (`eventBusArn`) may be in another region than the function, and
 * PutEvents goes to the regional endpoint of the bus it names (EventBridge sends to another region only through a
 * rule's target).
 */
export function busClientConfig(eventBusName: string, config: Record<string, unknown>): Record<string, unknown> {
  const region = eventBusName.startsWith('arn:') ? eventBusName.split(':')[3] : undefined;
  return region ? { ...config, region } : config;
}

/** EventBridge refuses a `Source` over 256 characters, and one starting with `aws.` from anyone but AWS. */
function isEventSource(value: string): boolean {
  return value.length <= 256 && !value.startsWith('aws.');
}
