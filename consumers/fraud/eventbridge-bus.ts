import { DescribeEventBusCommand, PutEventsCommand, type EventBridgeClient, type PutEventsRequestEntry } from '@aws-sdk/client-eventbridge';
import { deliverInAccountWaves } from '../../shared/destination-plugin/account-waves';
import { sendInBatches, type EntryAnswer } from '../../shared/destination-plugin/batch-calls';
import type { DeliveryMode } from '../../shared/ordering/delivery-mode';
import type { DeliverOptions, Delivery, DeliveryResult, Destination } from '../../shared/ordering/ports';
import { Retrier, type ItemAnswer } from '../../shared/retry/retrier';
import { classifyError, describeError, errorNameOf } from '../../shared/retry/classify-error';
import { toPutEventsEntry } from './fraud-event';

export interface EventBridgeBusOptions {
  readonly client: EventBridgeClient;
  readonly eventBusName: string;
  /** @default 'ordered-fanout.accounts' */
  readonly source?: string;
  readonly retrier?: Retrier;
  /** PutEvents calls in flight at once (each for different accounts). @default 4 */
  readonly concurrency?: number;
  /** @default 'fraud' */
  readonly name?: string;
  /** @default Date.now */
  readonly clock?: () => number;
}

/** How long a bus found to exist is not asked about again (a bus deleted meanwhile is found within this long). */
export const BUS_CHECK_INTERVAL_MS = 5 * 60_000;

/** PutEvents limits: 10 entries and 256 KB per call. */
export const MAX_PUT_EVENTS_ENTRIES = 10;
export const MAX_PUT_EVENTS_BYTES = 256 * 1024;

/** Per-entry error codes that a later attempt can get past; every other code is a refusal of the event itself. */
const RETRYABLE_ENTRY_ERRORS = new Set(['ThrottlingException', 'InternalFailure', 'InternalException', 'ServiceUnavailable']);

/**
 * The fraud destination: one event per account version on an EventBridge bus.
 *
 * EventBridge does not keep the order of events, even within one call, so this adapter never has two events of one
 * account in flight: a call carries at most one entry per account, and an account's next version goes out only after
 * the previous one was accepted. Failed entries of a partly failed call are retried entry by entry.
 *
 * The call's deadline (an in-order claim's end) bounds every wave, retry and request: a PutEvents still in flight then
 * is aborted, and its entries, with every later version of their accounts, answer DELIVERY_FAILED.
 */
export class EventBridgeBus implements Destination {
  readonly name: string;
  readonly mode: DeliveryMode = 'in-order';
  readonly #client: EventBridgeClient;
  readonly #eventBusName: string;
  readonly #source: string;
  readonly #retrier: Retrier;
  readonly #concurrency: number;
  readonly #clock: () => number;
  /** When the bus was last found to exist (or could not be asked about); the check running now. */
  #busSeenAt: number | undefined;
  #busCheck: Promise<string | undefined> | undefined;

  constructor(options: EventBridgeBusOptions) {
    this.name = options.name ?? 'fraud';
    this.#client = options.client;
    this.#eventBusName = options.eventBusName;
    this.#source = options.source ?? 'ordered-fanout.accounts';
    this.#retrier = options.retrier ?? new Retrier();
    this.#concurrency = options.concurrency ?? 4;
    this.#clock = options.clock ?? Date.now;
  }

  deliver(deliveries: readonly Delivery[], options: DeliverOptions = {}): Promise<readonly DeliveryResult[]> {
    // Waves: the next pending version of every account, sent together; a wave starts when the last one settled.
    return deliverInAccountWaves(deliveries, this.#retrier, (wave, signal) => this.#sendWave(wave, signal), options);
  }

  /** One entry per delivery (of distinct accounts), in calls of at most 10 entries and 256 KB. */
  #sendWave(deliveries: readonly Delivery[], signal: AbortSignal | undefined): Promise<ItemAnswer<DeliveryResult>[]> {
    const limits = { maxEntries: MAX_PUT_EVENTS_ENTRIES, maxBytes: MAX_PUT_EVENTS_BYTES, concurrency: this.#concurrency };
    return sendInBatches(
      deliveries,
      signal,
      limits,
      (delivery) => {
        const entry = toPutEventsEntry(delivery, this.#eventBusName, this.#source);
        return { entry, bytes: entrySize(entry) };
      },
      (entries, abortSignal) => this.#putEvents(entries, abortSignal),
    );
  }

  /**
   * Why the bus cannot take events now, if so. It does not exist: EventBridge accepts PutEvents entries for a bus that
   * does not exist and drops them, answering as if delivered (aws/aws-cli#9186), so a mistyped `eventBusArn` or a
   * deleted bus would lose every event without a sign. Or there is no answer: the round fails as PutEvents would have.
   * Asked once per `BUS_CHECK_INTERVAL_MS` (calls at the same time share one question); not being allowed to ask
   * (another account's bus) is not a missing bus.
   */
  #busProblem(abortSignal: AbortSignal | undefined): Promise<string | undefined> | undefined {
    if (this.#busSeenAt !== undefined && this.#clock() - this.#busSeenAt < BUS_CHECK_INTERVAL_MS) return undefined;
    this.#busCheck ??= this.#client
      .send(new DescribeEventBusCommand({ Name: this.#eventBusName }), { abortSignal })
      .then(
        () => {
          this.#busSeenAt = this.#clock();
          return undefined;
        },
        (error: unknown) => {
          if (errorNameOf(error) === 'ResourceNotFoundException') {
            return `event bus ${this.#eventBusName} does not exist: EventBridge would accept and drop every event (create it, or correct destinations.fraud.eventBusArn, then fanout redrive ${this.name})`;
          }
          // No answer (timed out, unreachable, throttled): PutEvents would wait as long again, so the round fails
          // retryably now, and the next one asks again.
          if (classifyError(error) === 'retry') return `could not ask whether event bus ${this.#eventBusName} exists: ${describeError(error)}`;
          // Not allowed to ask (another account's bus), or an answer we do not know: not a missing bus.
          this.#busSeenAt = this.#clock();
          return undefined;
        },
      )
      .finally(() => {
        this.#busCheck = undefined;
      });
    return this.#busCheck;
  }

  async #putEvents(entries: PutEventsRequestEntry[], abortSignal: AbortSignal | undefined): Promise<EntryAnswer[]> {
    const problem = await this.#busProblem(abortSignal);
    // Retried, then dead-lettered as DELIVERY_FAILED (redrivable once the bus is there): never sent to be dropped.
    if (problem !== undefined) return entries.map(() => ({ retryable: true, detail: problem }));
    const { Entries: results = [] } = await this.#client.send(new PutEventsCommand({ Entries: entries }), { abortSignal });
    return entries.map((_, index) => {
      const result = results[index];
      // No result for the entry: its outcome is unknown, so it is retried (receivers drop a repeat by eventId).
      if (result === undefined) return undefined;
      if (result.EventId !== undefined && result.ErrorCode === undefined) return 'accepted';
      const code = result.ErrorCode ?? 'MissingResult';
      return { retryable: RETRYABLE_ENTRY_ERRORS.has(code), detail: `${code}: ${result.ErrorMessage ?? 'no EventId returned'}` };
    });
  }
}

/** The size EventBridge charges an entry against the 256 KB limit (its documented calculation). */
function entrySize(entry: PutEventsRequestEntry): number {
  let size = entry.Time ? 14 : 0;
  size += Buffer.byteLength(entry.Source ?? '') + Buffer.byteLength(entry.DetailType ?? '') + Buffer.byteLength(entry.Detail ?? '');
  for (const resource of entry.Resources ?? []) size += Buffer.byteLength(resource);
  return size;
}
