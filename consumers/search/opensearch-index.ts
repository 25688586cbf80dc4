import type { Client } from '@opensearch-project/opensearch';
import type { DeliveryMode } from '../../shared/ordering/delivery-mode';
import type { DeliverOptions, Delivery, DeliveryResult, Destination } from '../../shared/ordering/ports';
import { settledToResult } from '../../shared/consumer/settled-to-result';
import { httpStatusOf, openSearchErrorTypeOf } from '../../shared/retry/classify-error';
import { NOT_SENT_DEADLINE } from '../../shared/retry/deadline';
import { Retrier, type ItemAnswer } from '../../shared/retry/retrier';
import { ACCOUNT_INDEX_MAPPING, ACCOUNT_INDEX_SETTINGS } from './account-document';
import { answerFor, describeResponse, isIndexMissing, requestAnswer, type BulkItem } from './bulk-answers';
import { chunkBySize } from '../../shared/async/chunk-by-size';
import { bulkEntry, DEFAULT_MAX_BULK_BYTES, type BulkEntry } from './bulk-body';

export interface OpenSearchIndexOptions {
  readonly client: Client;
  /** @default 'accounts' */
  readonly index?: string;
  readonly retrier?: Retrier;
  /** Items per `_bulk` request. @default 500 */
  readonly bulkSize?: number;
  /**
   * Bytes per `_bulk` request body, counted exactly (action lines and newlines included); a single document larger than
   * this is rejected. Keep it below the domain's `http.max_content_length` (10 MiB on small instance types).
   * @default 5 MiB
   */
  readonly maxBulkBytes?: number;
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
  readonly #maxBulkBytes: number;
  readonly #indexCheckMs: number;
  readonly #clock: () => number;
  #indexSeenAt = -Infinity;

  constructor(options: OpenSearchIndexOptions) {
    this.name = options.name ?? 'search';
    this.index = options.index ?? 'accounts';
    this.#client = options.client;
    this.#retrier = options.retrier ?? new Retrier();
    this.#bulkSize = options.bulkSize ?? 500;
    this.#maxBulkBytes = options.maxBulkBytes ?? DEFAULT_MAX_BULK_BYTES;
    if (!Number.isSafeInteger(this.#maxBulkBytes) || this.#maxBulkBytes < 1) {
      throw new RangeError(`maxBulkBytes must be a positive integer, got ${this.#maxBulkBytes}`);
    }
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
        const answers = new Array<ItemAnswer<DeliveryResult>>(pending.length);
        const entries: Entry[] = [];
        pending.forEach((delivery, position) => {
          const entry = bulkEntry({ delivery, position }, this.index, this.#maxBulkBytes);
          if (entry.kind === 'refused') answers[position] = { kind: 'reject', detail: entry.detail };
          else entries.push(entry);
        });
        for (const chunk of chunkBySize(entries, this.#bulkSize, this.#maxBulkBytes)) {
          const chunkAnswers = await this.#send(chunk, deadline);
          chunk.forEach((entry, i) => {
            answers[entry.item.position] = chunkAnswers[i] as ItemAnswer<DeliveryResult>;
          });
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
      if (exists.body) {
        const problem = await this.#mappingProblem(deadline);
        if (problem !== undefined) return { kind: 'retry', detail: problem };
      } else {
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
      if (openSearchErrorTypeOf(error) !== 'resource_already_exists_exception') {
        const answer = requestAnswer(error);
        if (answer === undefined) throw error;
        // Creating the index sends our settings and mapping, never a document: a refusal of it (a 400 for the cluster's
        // shard limit, say) is the cluster's to lift, so the waiting documents are retried, never REJECTED.
        return { kind: 'retry', detail: `index ${this.index}: ${answer.detail}` };
      }
    }
    this.#indexSeenAt = this.#clock();
    return undefined;
  }

  /**
   * What is wrong with the index's mapping for this adapter, or undefined. OpenSearch creates a missing index on a
   * write (`action.auto_create_index`, on by default) with dynamic mapping: after the index was deleted, a write that
   * came before this check made one where `account_id` is `text` (exact lookups by account miss) and new attributes
   * are mapped as they come. Deliveries into it are failed (retried, then dead-lettered, with this detail) until an
   * operator deletes it and this adapter creates it as it should be, rather than filling it unnoticed.
   */
  async #mappingProblem(deadline: number | undefined): Promise<string | undefined> {
    const got = await this.#bounded(deadline, (options) => this.#client.indices.get({ index: this.index }, options));
    if (got === undefined) return NOT_SENT_DEADLINE;
    const index = Object.values((got.body ?? {}) as Record<string, { mappings?: { dynamic?: unknown; properties?: Record<string, { type?: unknown }> } }>)[0];
    const mappings = index?.mappings;
    const accountId = mappings?.properties?.account_id?.type;
    if (accountId === 'keyword' && String(mappings?.dynamic) === 'false') return undefined;
    return `index ${this.index} exists with a mapping this adapter did not create (account_id ${String(accountId ?? 'unmapped')}, dynamic ${String(mappings?.dynamic ?? 'true')}): OpenSearch made it on a write after the index was deleted; delete it again and this adapter creates it with its mapping, then redrive the dead letters`;
  }

  /** Sends one `_bulk` of `chunk`; answers per entry, in order. */
  async #send(chunk: readonly Entry[], deadline: number | undefined): Promise<ItemAnswer<DeliveryResult>[]> {
    // The body goes as a string, which the client sends as it is (no re-serialising): its size is what was counted.
    const body = chunk.map((entry) => entry.text).join('') as unknown as Parameters<Client['bulk']>[0]['body'];
    let items: readonly Record<string, BulkItem | undefined>[];
    try {
      const response = await this.#bounded(deadline, (options) => this.#client.bulk({ body }, options));
      if (response === undefined) return chunk.map(() => ({ kind: 'retry', detail: NOT_SENT_DEADLINE }));
      items = (response.body as { items?: Record<string, BulkItem | undefined>[] }).items ?? [];
    } catch (error) {
      return this.#refusedWhole(chunk, error, deadline);
    }
    if (items.length !== chunk.length) {
      return chunk.map(() => ({ kind: 'retry', detail: `_bulk answered ${items.length} items for ${chunk.length}` }));
    }
    return items.map((item, i) => {
      if (isIndexMissing(Object.values(item)[0]?.error?.type)) this.#indexSeenAt = -Infinity;
      return answerFor(item, (chunk[i] as Entry).item.delivery);
    });
  }

  /**
   * A `_bulk` refused as a whole. A 413 (the body is over the cluster's limit, which may be below ours) or a 400 (one
   * item's validation error fails the whole request) can be caused by one item: the request is split in halves until
   * the items at fault are alone, so that the others are delivered and only those are rejected, without blocking the
   * shard. Anything else answers for every item alike.
   */
  async #refusedWhole(chunk: readonly Entry[], error: unknown, deadline: number | undefined): Promise<ItemAnswer<DeliveryResult>[]> {
    const status = httpStatusOf(error);
    if (status === 413 || status === 400) {
      if (chunk.length > 1) {
        const half = Math.ceil(chunk.length / 2);
        return [...(await this.#send(chunk.slice(0, half), deadline)), ...(await this.#send(chunk.slice(half), deadline))];
      }
      const detail =
        status === 413
          ? `the cluster refused a _bulk of this one document (${(chunk[0] as Entry).bytes} bytes) as too large: ${describeResponse(error)}`
          : describeResponse(error);
      return [{ kind: 'reject', detail: detail.slice(0, 1_000) }];
    }
    if (isIndexMissing(openSearchErrorTypeOf(error))) this.#indexSeenAt = -Infinity;
    const answer = requestAnswer(error);
    if (answer === undefined) throw error;
    return chunk.map(() => answer);
  }
}

type Entry = Extract<BulkEntry<{ readonly delivery: Delivery; readonly position: number }>, { kind: 'entry' }>;

/** What the OpenSearch client returns for a request: a promise that can be aborted. */
type Abortable<T> = Promise<T> & { abort(): unknown };
