import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { readConsumerConfig } from '../../shared/config/consumer-config';
import type { Env } from '../../shared/config/env';
import { DESTINATION_CLIENT_DEFAULTS, endpointOptions, timeBoundRequestHandler } from '../../shared/consumer/clients';
import { createKinesisHandler } from '../../shared/consumer/kinesis-handler';
import { buildRuntime, type BuiltRuntime, type RuntimeOptions } from '../../shared/consumer/runtime';
import { EventBridgeBus } from './eventbridge-bus';

/** The fraud consumer (in-order → EventBridge), wired from environment variables. */
export function createFraudRuntime(env: Env = process.env, options: RuntimeOptions = {}): BuiltRuntime {
  const config = readConsumerConfig('fraud', env);
  const fraud = config.fraud as NonNullable<typeof config.fraud>;
  return buildRuntime(
    config,
    (retrier) => {
      const client = new EventBridgeClient({
        ...DESTINATION_CLIENT_DEFAULTS,
        region: config.region,
        requestHandler: timeBoundRequestHandler(),
        ...endpointOptions(config.endpoints.eventbridge),
      });
      return {
        destination: new EventBridgeBus({ client, eventBusName: fraud.eventBusName, source: fraud.source, retrier }),
        close: () => client.destroy(),
      };
    },
    options,
  );
}

export const handler = createKinesisHandler(() => createFraudRuntime());
