import type { FraudEventDetail } from '../../consumers/fraud/fraud-event';
import { FRAUD_EVENT_SOURCE } from '../../infra/config/consumer-environment';
import type { FraudSettings } from '../../infra/config/pipeline-config';
import type { LocalPlugin } from '../../local/plugins/local-plugin';
import { startEventBridgeStandIn, type EventBridgeFaults } from '../../local/standins/eventbridge/server';
import { faultProfile, injectedOf, ratedFault, slowFault, type DestinationFaultKinds } from '../../local/standins/fault-spec';

/** What the EventBridge stand-in can do to fraud's PutEvents calls for `--destination-faults`. */
const FRAUD_FAULTS: DestinationFaultKinds = {
  kinds: {
    throttle: ratedFault('throttleRate', 'PutEvents calls answered ThrottlingException (HTTP 400)'),
    '500': ratedFault('callFailureRate', 'PutEvents calls answered InternalException (HTTP 500)', { callError: 'InternalException' }),
    partial: ratedFault('entryFailureRate', 'PutEvents entries failing ThrottlingException or InternalFailure', {
      entryErrorCode: ['ThrottlingException', 'InternalFailure'],
    }),
    slow: slowFault('PutEvents calls'),
  },
  all: 'throttle:0.05,500:0.05,partial:0.05,slow:0.01@20000',
};

/**
 * The fraud bus on an EventBridge stand-in of its own (no EventBridge runs on this project's machines), read back
 * from what the stand-in received on the bus, in arrival order: its own log, so no call a fault could refuse.
 */
export const fraudLocal: LocalPlugin<FraudSettings> = {
  faults: FRAUD_FAULTS,
  async start({ suffix }) {
    const bus = `ordered-fanout-fraud${suffix}`;
    const eventBridge = await startEventBridgeStandIn({ buses: [bus] });
    return {
      environment: { FRAUD_EVENT_BUS_NAME: bus, FRAUD_EVENT_SOURCE, AWS_ENDPOINT_URL_EVENTBRIDGE: eventBridge.endpoint },
      endpoints: { eventbridge: eventBridge.endpoint },
      resource: `fraud bus ${bus}`,
      readBack: async () =>
        eventBridge.events(bus).map((event) => {
          const detail = event.detail as FraudEventDetail;
          return {
            accountId: detail.accountId,
            version: detail.version,
            healed: detail.healed,
            ...(detail.newBalance === null ? {} : { balance: detail.newBalance }),
            at: event.receivedAt,
          };
        }),
      failCalls: (rate, seed) => eventBridge.setFaults({ callFailureRate: rate, callError: 'InternalException', seed }),
      injectFaults: (rules, seed) => eventBridge.setFaults(faultProfile(FRAUD_FAULTS.kinds, rules, seed) as EventBridgeFaults),
      injectedCounts: () => injectedOf(eventBridge.stats, ['failedCalls', 'failedEntries', 'heldCalls', 'abandonedCalls']),
      stop: () => eventBridge.stop(),
    };
  },
};
