import { PutEventsCommand, type EventBridgeClient, type PutEventsRequestEntry } from '@aws-sdk/client-eventbridge';
import { mapLimited } from '../../shared/async/limited';
import { deliverInAccountWaves } from '../../shared/destination-plugin/account-waves';
import type { DeliveryMode } from '../../shared/ordering/delivery-mode';
import type { DeliverOptions, Delivery, DeliveryResult, Destination } from '../../shared/ordering/ports';
import { classifyError, describeError } from '../../shared/retry/classify-error';
import { NOT_SENT_DEADLINE } from '../../shared/retry/deadline';
import { Retrier, type ItemAnswer } from '../../shared/retry/retrier';
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
}

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

  constructor(options: EventBridgeBusOptions) {
    this.name = options.name ?? 'fraud';
    this.#client = options.client;
    this.#eventBusName = options.eventBusName;
    this.#source = options.source ?? 'ordered-fanout.accounts';
    this.#retrier = options.retrier ?? new Retrier();
    this.#concurrency = options.concurrency ?? 4;
  }

  deliver(deliveries: readonly Delivery[], options: DeliverOptions = {}): Promise<readonly DeliveryResult[]> {
    // Waves: the next pending version of every account, sent together; a wave starts when the last one settled.
    return deliverInAccountWaves(deliveries, this.#retrier, (wave, signal) => this.#sendWave(wave, signal), options);
  }

  /** One entry per delivery (of distinct accounts), in calls of at most 10 entries and 256 KB. */
  async #sendWave(deliveries: readonly Delivery[], signal: AbortSignal | undefined): Promise<ItemAnswer<DeliveryResult>[]> {
    const entries = deliveries.map((delivery) => toPutEventsEntry(delivery, this.#eventBusName, this.#source));
    const answers = new Array<ItemAnswer<DeliveryResult>>(entries.length);
    const calls: number[][] = [];
    let call: number[] = [];
    let bytes = 0;
    entries.forEach((entry, index) => {
      const size = entrySize(entry);
      if (size > MAX_PUT_EVENTS_BYTES) {
        answers[index] = { kind: 'reject', detail: `event of ${size} bytes exceeds the ${MAX_PUT_EVENTS_BYTES}-byte PutEvents limit` };
        return;
      }
      if (call.length === MAX_PUT_EVENTS_ENTRIES || bytes + size > MAX_PUT_EVENTS_BYTES) {
        calls.push(call);
        call = [];
        bytes = 0;
      }
      call.push(index);
      bytes += size;
    });
    if (call.length > 0) calls.push(call);
    await mapLimited(calls, this.#concurrency, async (indexes) => {
      const callAnswers = await this.#putEvents(
        indexes.map((index) => entries[index] as PutEventsRequestEntry),
        signal,
      );
      indexes.forEach((index, position) => {
        answers[index] = callAnswers[position] as ItemAnswer<DeliveryResult>;
      });
    });
    return answers;
  }

  async #putEvents(entries: readonly PutEventsRequestEntry[], signal: AbortSignal | undefined): Promise<ItemAnswer<DeliveryResult>[]> {
    // Calls queued behind the concurrency limit may reach their turn after the deadline.
    if (signal?.aborted) return entries.map(() => ({ kind: 'retry', detail: NOT_SENT_DEADLINE }));
    try {
      const response = await this.#client.send(new PutEventsCommand({ Entries: [...entries] }), { abortSignal: signal });
      const results = response.Entries ?? [];
      return entries.map((_, index) => {
        const result = results[index];
        if (result?.EventId !== undefined && result.ErrorCode === undefined) {
          return { kind: 'done', result: { status: 'delivered' } };
        }
        const code = result?.ErrorCode ?? 'MissingResult';
        const detail = `${code}: ${result?.ErrorMessage ?? 'no EventId returned'}`;
        return { kind: RETRYABLE_ENTRY_ERRORS.has(code) || result === undefined ? 'retry' : 'reject', detail };
      });
    } catch (error) {
      const kind = classifyError(error);
      if (kind === 'unexpected') throw error;
      const detail = describeError(error);
      return entries.map(() => ({ kind, detail }));
    }
  }
}

/** The size EventBridge charges an entry against the 256 KB limit (its documented calculation). */
function entrySize(entry: PutEventsRequestEntry): number {
  let size = entry.Time ? 14 : 0;
  size += Buffer.byteLength(entry.Source ?? '') + Buffer.byteLength(entry.DetailType ?? '') + Buffer.byteLength(entry.Detail ?? '');
  for (const resource of entry.Resources ?? []) size += Buffer.byteLength(resource);
  return size;
}
