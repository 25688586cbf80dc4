import type { DeliveryMode } from '../shared/ordering/delivery-mode';
import type {
  DeadLetter,
  DeadLetterQueue,
  DeliverOptions,
  Delivery,
  DeliveryResult,
  Destination,
} from '../shared/ordering/ports';

/** One delivery as the destination accepted it, in arrival order. */
export interface ReceivedChange {
  readonly accountId: string;
  readonly version: number;
  readonly healed: boolean;
  /** The balance of the delivered new image; absent for a tombstone. */
  readonly balance?: number;
}

/**
 * An in-memory destination that remembers every delivery it accepted, in arrival order: the stand-in of `npm start`
 * and of the tests until the real destinations exist. In `latest-state` mode it behaves like an externally
 * versioned index: a version not above the stored one is refused as stale (two engines racing on one account make
 * these, by design: see LatestStateRun).
 */
export class RecordingDestination implements Destination {
  readonly received: ReceivedChange[] = [];
  readonly calls: number[] = [];
  /** Each call's deadline (`DeliverOptions.deadline`), in call order. */
  readonly deadlines: (number | undefined)[] = [];
  /** Deliveries refused as stale (`latest-state`). */
  refusedStale = 0;
  private readonly stored = new Map<string, number>();
  /** Return a result to override the normal answer for one delivery (fault injection). */
  intercept: ((delivery: Delivery) => DeliveryResult | undefined) | undefined;
  /** Called after a call's deliveries were applied and before it answers: throw here to simulate a crash. */
  afterDelivery: ((deliveries: readonly Delivery[]) => void) | undefined;

  constructor(
    readonly name: string,
    readonly mode: DeliveryMode,
  ) {}

  async deliver(deliveries: readonly Delivery[], options?: DeliverOptions): Promise<readonly DeliveryResult[]> {
    this.calls.push(deliveries.length);
    this.deadlines.push(options?.deadline);
    // in-order, as the port requires: nothing of an account is sent after one of its versions failed in this call.
    const stopped = new Set<string>();
    const results = deliveries.map((delivery): DeliveryResult => {
      const { accountId, version } = delivery.record;
      if (stopped.has(accountId)) return { status: 'failed', reason: 'DELIVERY_FAILED', detail: `not sent: an earlier version of ${accountId} than ${version} failed`, attempts: 0 };
      const result = this.deliverOne(delivery);
      if (result.status === 'failed' && this.mode === 'in-order') stopped.add(accountId);
      return result;
    });
    this.afterDelivery?.(deliveries);
    return results;
  }

  private deliverOne(delivery: Delivery): DeliveryResult {
    const injected = this.intercept?.(delivery);
    if (injected) return injected;
    const { accountId, version } = delivery.record;
    if (this.mode === 'latest-state') {
      const current = this.stored.get(accountId) ?? 0;
      if (version <= current) {
        this.refusedStale += 1;
        return { status: 'stale' };
      }
      this.stored.set(accountId, version);
    }
    const balance = delivery.record.newImage?.balance;
    this.received.push({ accountId, version, healed: delivery.healed, ...(balance === undefined ? {} : { balance }) });
    return { status: 'delivered' };
  }

  /** Versions received for one account, in arrival order. */
  versionsOf(accountId: string): number[] {
    return this.received.filter((entry) => entry.accountId === accountId).map((entry) => entry.version);
  }
}

export class RecordingDeadLetterQueue implements DeadLetterQueue {
  readonly letters: DeadLetter[] = [];
  /** When set, letters are refused (the queue answers false for each). */
  refuse = false;

  async send(letters: readonly DeadLetter[]): Promise<readonly boolean[]> {
    if (this.refuse) return letters.map(() => false);
    this.letters.push(...letters);
    return letters.map(() => true);
  }
}
