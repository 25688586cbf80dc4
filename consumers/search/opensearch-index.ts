import type { Client } from '@opensearch-project/opensearch';
import type { DeliveryMode } from '../../shared/ordering/delivery-mode';
import type { DeliverOptions, Delivery, DeliveryResult, Destination } from '../../shared/ordering/ports';
import { settledToResult } from '../../shared/consumer/settled-to-result';
import { classifyError, describeError, isTransientOpenSearchType } from '../../shared/retry/classify-error';
import { NOT_SENT_DEADLINE } from '../../shared/retry/deadline';
import { Retrier, type ItemAnswer } from '../../shared/retry/retrier';
import { ACCOUNT_INDEX_MAPPING, ACCOUNT_INDEX_SETTINGS, toAccountDocument } from './account-document';

export interface OpenSearchIndexOptions {
  readonly client: Client;
  /** @default 'accounts' */
  readonly index?: string;
  readonly retrier?: Retrier;
  /** Items per `_bulk` request. @default 500 */
  readonly bulkSize?: number;
  /** How long a seen index is trusted to still exist before it is checked again. @default 60 s */
  readonly indexCheckMs?: number;
  /** @default 'search' */
  readonly name?: string;
  readonly clock?: () => number;
}

/**
 * The search destination: each account's latest state as one document, written by `_bulk` with
 * `version_type: external` and the account version. OpenSearch itself refuses a version that is not newer than
 * the one it holds (409), so two consumers racing on one account can never make the index go back in time.
 * Every request is aborted at its round's deadline (the earlier of the invocation's and the call's).
 */
export class OpenSearchIndex implements Destination {
  readonly name: string;
  readonly mode: DeliveryMode = 'latest-state';
  readonly index: string;
  readonly #client: Client;
  readonly #retrier: Retrier;
  readonly #bulkSize: number;
  readonly #indexCheckMs: number;
  readonly #clock: () => number;
  #indexSeenAt = -Infinity;

  constructor(options: OpenSearchIndexOptions) {
    this.name = options.name ?? 'search';
    this.index = options.index ?? 'accounts';
    this.#client = options.client;
    this.#retrier = options.retrier ?? new Retrier();
    this.#bulkSize = options.bulkSize ?? 500;
    this.#indexCheckMs = options.indexCheckMs ?? 60_000;
    this.#clock = options.clock ?? Date.now;
  }

  async deliver(deliveries: readonly Delivery[], options: DeliverOptions = {}): Promise<readonly DeliveryResult[]> {
    if (deliveries.length === 0) return [];
    const settled = await this.#retrier.settle(
      deliveries,
      async (pending, _attempt, { deadline }) => {
        const ready = await this.#ensureIndex(deadline);
        if (ready !== undefined) return pending.map(() => ready);
        const answers: ItemAnswer<DeliveryResult>[] = [];
        for (let start = 0; start < pending.length; start += this.#bulkSize) {
          answers.push(...(await this.#bulk(pending.slice(start, start + this.#bulkSize), deadline)));
        }
        return answers;
      },
      { deadline: options.deadline },
    );
    return settled.map(settledToResult);
  }

  /**
   * Sends one request so that it cannot outlive `deadline`: the client's per-request time-out catches a silent
   * server, and an abort at the deadline catches one that answers too slowly. Undefined when no time is left.
   */
  #bounded<T>(deadline: number | undefined, call: (options: { requestTimeout?: number }) => Abortable<T>): Promise<T> | undefined {
    if (deadline === undefined) return call({});
    const left = deadline - Date.now();
    if (left <= 0) return undefined;
    const request = call({ requestTimeout: Math.min(left, this.#client.transport.requestTimeout || left) });
    const timer = setTimeout(() => request.abort(), left);
    return request.finally(() => clearTimeout(timer));
  }

  /** Creates the index with its mapping if it is missing; answers for every item when that fails. */
  async #ensureIndex(deadline: number | undefined): Promise<ItemAnswer<DeliveryResult> | undefined> {
    if (this.#clock() - this.#indexSeenAt < this.#indexCheckMs) return undefined;
    try {
      const exists = await this.#bounded(deadline, (options) => this.#client.indices.exists({ index: this.index }, options));
      if (exists === undefined) return { kind: 'retry', detail: NOT_SENT_DEADLINE };
      if (!exists.body) {
        const created = await this.#bounded(deadline, (options) =>
          this.#client.indices.create(
            { index: this.index, body: { settings: ACCOUNT_INDEX_SETTINGS, mappings: ACCOUNT_INDEX_MAPPING } },
            options,
          ),
        );
        if (created === undefined) return { kind: 'retry', detail: NOT_SENT_DEADLINE };
      }
    } catch (error) {
      // Another consumer created it between our check and our create.
      if (!String((error as { body?: { error?: { type?: unknown } } }).body?.error?.type).includes('resource_already_exists')) {
        const kind = classifyError(error);
        if (kind === 'unexpected') throw error;
        return { kind, detail: `index ${this.index}: ${describeError(error)}` };
      }
    }
    this.#indexSeenAt = this.#clock();
    return undefined;
  }

  async #bulk(deliveries: readonly Delivery[], deadline: number | undefined): Promise<ItemAnswer<DeliveryResult>[]> {
    const body: Record<string, unknown>[] = [];
    for (const delivery of deliveries) {
      const { accountId, version } = delivery.record;
      const target = { _index: this.index, _id: accountId, version, version_type: 'external' };
      const document = toAccountDocument(delivery);
      if (document === undefined) body.push({ delete: target });
      else body.push({ index: target }, document);
    }
    let items: readonly Record<string, BulkItem | undefined>[];
    try {
      const response = await this.#bounded(deadline, (options) => this.#client.bulk({ body }, options));
      if (response === undefined) return deliveries.map(() => ({ kind: 'retry', detail: NOT_SENT_DEADLINE }));
      items = (response.body as { items?: Record<string, BulkItem | undefined>[] }).items ?? [];
    } catch (error) {
      const kind = classifyError(error);
      if (kind === 'unexpected') throw error;
      const detail = describeError(error);
      return deliveries.map(() => ({ kind, detail }));
    }
    if (items.length !== deliveries.length) {
      return deliveries.map(() => ({ kind: 'retry', detail: `_bulk answered ${items.length} items for ${deliveries.length}` }));
    }
    return items.map((item, index) => answerFor(item, deliveries[index] as Delivery));
  }
}

/** What the OpenSearch client returns for a request: a promise that can be aborted. */
type Abortable<T> = Promise<T> & { abort(): unknown };

interface BulkItem {
  readonly status?: number;
  readonly result?: string;
  readonly error?: { readonly type?: string; readonly reason?: string };
}

/** What one `_bulk` item's status means for the delivery. */
export function answerFor(container: Record<string, BulkItem | undefined>, delivery: Delivery): ItemAnswer<DeliveryResult> {
  const item = Object.values(container)[0] ?? {};
  const status = item.status ?? 0;
  const detail = `${item.error?.type ?? `HTTP ${status}`}: ${item.error?.reason ?? item.result ?? ''}`.slice(0, 1_000);
  if (status >= 200 && status < 300) return { kind: 'done', result: { status: 'delivered' } };
  // A delete of a document that is not there still records its version, which is all a REMOVE must achieve.
  if (status === 404 && item.result === 'not_found') return { kind: 'done', result: { status: 'delivered' } };
  if (status === 409) return { kind: 'done', result: conflictResult(item.error?.reason, delivery.record.version) };
  if (status === 429 || status >= 500 || status === 0) return { kind: 'retry', detail };
  // A write block (403 cluster_block_exception) lifts when the cluster recovers: not a refusal of this document.
  if (isTransientOpenSearchType(item.error?.type)) return { kind: 'retry', detail };
  return { kind: 'reject', detail };
}

const CONFLICT = /current version \[(\d+)\] is higher or equal to the one provided \[(\d+)\]/;

/** 409 with an equal version: the index already holds this version. With a higher one: this version is stale. */
function conflictResult(reason: string | undefined, version: number): DeliveryResult {
  const match = reason === undefined ? null : CONFLICT.exec(reason);
  if (match && Number(match[1]) === version) return { status: 'duplicate' };
  return { status: 'stale' };
}
