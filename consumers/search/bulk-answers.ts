import type { Delivery, DeliveryResult } from '../../shared/ordering/ports';
import { classifyError, describeError, httpStatusOf, isTransientOpenSearchType, openSearchErrorTypeOf } from '../../shared/retry/classify-error';
import type { ItemAnswer } from '../../shared/retry/retrier';

/**
 * What OpenSearch's answers mean for a delivery, for a `_bulk` item and for a whole request.
 *
 * Only a refusal of the document itself is REJECTED (dead-lettered at once): a mapping or parsing error, an invalid
 * request. Everything that lifts without the document changing is retried, and when retries run out the delivery
 * fails with DELIVERY_FAILED (redrivable): back-pressure (429 `rejected_execution_exception`, its Elasticsearch name
 * `es_rejected_execution_exception`, `circuit_breaking_exception`), 5xx, write blocks (403 or, at the disk flood
 * stage, 429 `cluster_block_exception`), and what an operator must fix (access denied, a missing or closed index).
 */

export interface BulkItem {
  readonly status?: number;
  readonly result?: string;
  readonly error?: { readonly type?: string; readonly reason?: string };
}

/**
 * An access denial (401; 403 that is not a write block: `security_exception` of fine-grained access control, or the
 * domain's IAM answer `{"Message":"User: ... is not authorized to perform: es:ESHttpPost"}`) is not this document's
 * fault: every document would be refused the same way until an operator fixes a policy. Dead-lettering them all as
 * REJECTED would turn a configuration slip into a flood of letters that look final, so they are retried and their
 * detail says loudly what is wrong (it reaches the failure logs and any DELIVERY_FAILED letter).
 */
export const ACCESS_DENIED = 'ACCESS DENIED by OpenSearch (an operator must fix the IAM, domain access or fine-grained access control policy)';

/** Types an operator fixes (re-create or reopen the index) and that say nothing against the document. */
const OPERATOR_TYPES = new Set(['index_not_found_exception', 'index_closed_exception']);

function isAccessDenied(status: number, type: string | undefined): boolean {
  return (status === 401 || status === 403) && !isTransientOpenSearchType(type);
}

/** Whether an answer says that the index is missing, so that the adapter checks it (and creates it) again. */
export function isIndexMissing(type: string | undefined): boolean {
  return type === 'index_not_found_exception';
}

/** What one `_bulk` item's answer means for its delivery. */
export function answerFor(container: Record<string, BulkItem | undefined>, delivery: Delivery): ItemAnswer<DeliveryResult> {
  const item = Object.values(container)[0] ?? {};
  const status = item.status ?? 0;
  const type = item.error?.type;
  const detail = `${type ?? `HTTP ${status}`}: ${item.error?.reason ?? item.result ?? ''}`.slice(0, 1_000);
  if (status >= 200 && status < 300) return { kind: 'done', result: { status: 'delivered' } };
  // A delete of a document that is not there still records its version, which is all a REMOVE must achieve.
  if (status === 404 && item.result === 'not_found') return { kind: 'done', result: { status: 'delivered' } };
  if (status === 409) return { kind: 'done', result: conflictResult(item.error?.reason, delivery.record.version) };
  if (status === 429 || status >= 500 || status === 0 || status === 408) return { kind: 'retry', detail };
  // A write block (403 cluster_block_exception) lifts when the cluster recovers: not a refusal of this document.
  if (isTransientOpenSearchType(type)) return { kind: 'retry', detail };
  if (isAccessDenied(status, type)) return { kind: 'retry', detail: `${ACCESS_DENIED}: ${detail}`.slice(0, 1_000) };
  if (type !== undefined && OPERATOR_TYPES.has(type)) return { kind: 'retry', detail };
  return { kind: 'reject', detail };
}

/**
 * What a whole request's failure means for each of its items; undefined for the unexpected (a bug of ours, which
 * must propagate). 413 and 400 are not decided here: the adapter splits the request first (see `OpenSearchIndex`).
 */
export function requestAnswer(error: unknown): Exclude<ItemAnswer<never>, { kind: 'done' }> | undefined {
  const status = httpStatusOf(error);
  const type = openSearchErrorTypeOf(error);
  const detail = describeResponse(error);
  if (status !== undefined && isAccessDenied(status, type)) return { kind: 'retry', detail: `${ACCESS_DENIED}: ${detail}`.slice(0, 1_000) };
  if (type !== undefined && OPERATOR_TYPES.has(type)) return { kind: 'retry', detail };
  const kind = classifyError(error);
  return kind === 'unexpected' ? undefined : { kind, detail };
}

/**
 * `describeError`, plus the message of an answer that is not OpenSearch's own error body: Amazon OpenSearch Service's
 * front end answers `{"Message": "..."}` (a 413, an IAM denial), which the client reports only as "Response Error".
 */
export function describeResponse(error: unknown): string {
  const base = describeError(error);
  const body = (error as { meta?: { body?: unknown } } | null)?.meta?.body;
  let message: unknown;
  if (typeof body === 'string') message = body;
  else if (typeof body === 'object' && body !== null && !('error' in body)) {
    message = (body as { Message?: unknown; message?: unknown }).Message ?? (body as { message?: unknown }).message;
  }
  return typeof message === 'string' && message !== '' ? `${base}: ${message}`.slice(0, 1_000) : base;
}

const CONFLICT = /current version \[(\d+)\] is higher or equal to the one provided \[(\d+)\]/;

/** 409 with an equal version: the index already holds this version. With a higher one: this version is stale. */
function conflictResult(reason: string | undefined, version: number): DeliveryResult {
  const match = reason === undefined ? null : CONFLICT.exec(reason);
  if (match && Number(match[1]) === version) return { status: 'duplicate' };
  return { status: 'stale' };
}
