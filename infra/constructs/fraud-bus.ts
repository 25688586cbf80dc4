import { Duration } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { FRAUD_EVENT_SOURCE } from '../config/consumer-environment';
import type { FraudSettings } from '../config/pipeline-config';
import type { DestinationTarget } from './destination-target';


/** The fraud destination's event bus: created with an archive of our events (replayable), or imported by ARN. */
export class FraudBus extends Construct implements DestinationTarget {
  readonly bus: events.IEventBus;
  readonly owned: boolean;
  readonly environment: Readonly<Record<string, string>>;

  constructor(scope: Construct, id: string, props: { readonly settings: FraudSettings }) {
    super(scope, id);
    const { settings } = props;
    this.owned = settings.eventBusArn === undefined;
    if (settings.eventBusArn !== undefined) {
      this.bus = events.EventBus.fromEventBusArn(this, 'Imported', settings.eventBusArn);
    } else {
      const bus = new events.EventBus(this, 'Bus', { description: 'Account change events, each account in version order' });
      bus.archive('Archive', {
        description: 'Every event ordered-fanout put on this bus',
        eventPattern: { source: [FRAUD_EVENT_SOURCE] },
        ...(settings.archiveRetentionDays > 0 ? { retention: Duration.days(settings.archiveRetentionDays) } : {}),
      });
      this.bus = bus;
    }
    // The ARN, not the name: it works for a bus in another account too.
    this.environment = { FRAUD_EVENT_BUS_NAME: this.bus.eventBusArn, FRAUD_EVENT_SOURCE };
  }

  /**
   * `events:PutEvents` on this bus only, and `events:DescribeEventBus` on it: EventBridge accepts and drops events for
   * a bus that does not exist, so the consumer asks whether it does (`EventBridgeBus`).
   */
  grantDeliver(grantee: iam.IGrantable): void {
    this.bus.grantPutEventsTo(grantee);
    iam.Grant.addToPrincipal({ grantee, actions: ['events:DescribeEventBus'], resourceArns: [this.bus.eventBusArn] });
  }
}
