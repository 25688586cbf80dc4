/**
 * Fault injection of the OpenSearch stand-in: which requests and `_bulk` items fail, and how, drawn from a seeded PRNG.
 * The PRNG draws only for faults that are on, in a fixed order (slow, unavailable, throttle, write block, scripted; per
 * item: throttle, write block, flood stage, scripted), so a profile replays the same way from its seed.
 */
import { prng } from '../../prng';
import { checkSlow } from '../hold';
import type { BulkActionName } from './bulk';
import {
  clusterReadOnly, indexBlocked, itemRejected, OpenSearchError, requestRejected, serviceUnavailable,
} from './errors';

export interface OpenSearchFaults {
  /** Fraction 0..1 of HTTP requests (any route except GET/HEAD /) answered 429 as a whole (OpenSearch's real 429 body: rejected_execution_exception). */
  throttleRate?: number;
  /** Fraction 0..1 of individual `_bulk` items answered with status 429 inside an otherwise 200 response (errors: true). */
  itemThrottleRate?: number;
  /** Fraction 0..1 of requests answered 503 (a 5xx). */
  unavailableRate?: number;
  /**
   * Fraction 0..1 of document writes refused as a whole with 403 `cluster_block_exception`: a `_bulk` with the
   * cluster's read-only block (`blocked by: [FORBIDDEN/6/cluster read-only (api)];`: OpenSearch reports index blocks
   * per item in a `_bulk`), a single-document write with its index's write block (`FORBIDDEN/8/index write (api)`).
   */
  writeBlockRate?: number;
  /** Fraction 0..1 of `_bulk` items failing 403 `cluster_block_exception`: `index [i] blocked by: [FORBIDDEN/8/index write (api)];`. */
  itemWriteBlockRate?: number;
  /**
   * Fraction 0..1 of `_bulk` index/create/update items failing 429 `cluster_block_exception`, the disk flood-stage
   * block (`TOO_MANY_REQUESTS/12/disk usage exceeded flood-stage watermark, index has read-only-allow-delete block`).
   * Deletes pass, as that block allows them.
   */
  itemFloodStageRate?: number;
  /**
   * Fraction 0..1 of requests that are not reads (not GET/HEAD, `_search`, `_count`, `_mget`, `_msearch`,
   * `_refresh`) held `slowMs` before they are handled. A request whose client disconnects while held (a client abort or
   * time-out at a deadline) is dropped unhandled: nothing of it is applied.
   */
  slowRate?: number;
  /** @default 90000 (longer than a claim's default 60 s) */
  slowMs?: number;
  /**
   * An answer of your choosing for `rate` (default 1) of `_bulk` and document-write requests, for what the seeded
   * faults do not cover: an access denial, a gateway's 502/504. With `type`, OpenSearch's error body; without, the
   * Amazon OpenSearch Service front end's `{"Message": reason}` (as an IAM denial or a 413 comes).
   */
  requestError?: ScriptedError;
  /** An error of your choosing for `rate` (default 1) of `_bulk` items (OpenSearch's item error: `type` is required). */
  itemError?: ScriptedError & { type: string };
  /** Seed of the fault PRNG, so runs are reproducible. @default 1 */
  seed?: number;
}

export interface ScriptedError {
  status: number;
  type?: string;
  reason?: string;
  /** Fraction 0..1 of the requests (or items) it answers. @default 1 */
  rate?: number;
}

/** An answer that is not OpenSearch's error body: what a front end or gateway says (`{"Message": ...}`). */
export class FrontEndError extends Error {
  constructor(
    readonly status: number,
    readonly body: { readonly Message: string },
  ) {
    super(body.Message);
    this.name = 'FrontEndError';
  }
}

/** What a request is, as far as faults care. */
export type RequestKind = 'root' | 'read' | 'bulk' | 'document-write' | 'other-write';

const READ_ENDPOINTS = new Set(['_search', '_count', '_mget', '_msearch', '_refresh']);
const DOCUMENT_ENDPOINTS = new Set(['_doc', '_create', '_update']);

export function requestKind(method: string, segments: readonly string[]): RequestKind {
  const read = method === 'GET' || method === 'HEAD';
  if (segments.length === 0 && read) return 'root';
  if (read || segments.some((segment) => READ_ENDPOINTS.has(segment))) return 'read';
  if (segments.includes('_bulk')) return 'bulk';
  if (DOCUMENT_ENDPOINTS.has(segments[1] ?? '')) return 'document-write';
  return 'other-write';
}

const RATES = [
  'throttleRate', 'itemThrottleRate', 'unavailableRate', 'writeBlockRate', 'itemWriteBlockRate', 'itemFloodStageRate',
] as const;

type Rates = Record<(typeof RATES)[number], number>;

/** One fault profile with its PRNG; counts what it injects through `count`. */
export class FaultDice {
  readonly #rates: Rates;
  readonly #slow: { slowRate: number; slowMs: number };
  readonly #random: () => number;
  readonly #requestError: Required<ScriptedError> | undefined;
  readonly #itemError: Required<ScriptedError> | undefined;

  constructor(
    faults: OpenSearchFaults,
    private readonly count: (stat: string) => void,
  ) {
    this.#rates = Object.fromEntries(RATES.map((name) => [name, checkRate(name, faults[name])])) as Rates;
    this.#slow = checkSlow(faults.slowRate, faults.slowMs);
    this.#random = prng(faults.seed ?? 1);
    this.#requestError = checkScripted('requestError', faults.requestError);
    this.#itemError = checkScripted('itemError', faults.itemError);
  }

  #scripted(spec: Required<ScriptedError> | undefined, stat: string): Required<ScriptedError> | undefined {
    if (spec === undefined || !this.#draw(spec.rate)) return undefined;
    this.count(stat);
    return spec;
  }

  #draw(rate: number): boolean {
    return rate > 0 && this.#random() < rate;
  }

  /** How long to hold this request before handling it (0: not at all). */
  holdMs(kind: RequestKind): number {
    if (kind === 'root' || kind === 'read' || !this.#draw(this.#slow.slowRate)) return 0;
    this.count('held');
    return this.#slow.slowMs;
  }

  /** The error that refuses the whole request, if any. `index` is the path's first segment (for a document write). */
  requestFault(kind: RequestKind, index: string | undefined, bytes: number): OpenSearchError | FrontEndError | undefined {
    if (kind === 'root') return undefined;
    if (this.#draw(this.#rates.unavailableRate)) {
      this.count('unavailable');
      return serviceUnavailable();
    }
    if (this.#draw(this.#rates.throttleRate)) {
      this.count('throttled');
      return requestRejected(bytes);
    }
    if ((kind === 'bulk' || kind === 'document-write') && this.#draw(this.#rates.writeBlockRate)) {
      this.count('writeBlocked');
      return kind === 'bulk' ? clusterReadOnly() : indexBlocked(index ?? '', 'index-write');
    }
    const scripted = kind === 'bulk' || kind === 'document-write' ? this.#scripted(this.#requestError, 'scriptedErrors') : undefined;
    if (scripted === undefined) return undefined;
    return scripted.type === ''
      ? new FrontEndError(scripted.status, { Message: scripted.reason })
      : new OpenSearchError(scripted.status, scripted.type, scripted.reason);
  }

  /** The error that fails one `_bulk` item, if any. */
  itemFault(index: string, action: BulkActionName): OpenSearchError | undefined {
    if (this.#draw(this.#rates.itemThrottleRate)) {
      this.count('itemThrottled');
      return itemRejected(index);
    }
    if (this.#draw(this.#rates.itemWriteBlockRate)) {
      this.count('itemWriteBlocked');
      return indexBlocked(index, 'index-write');
    }
    if (action !== 'delete' && this.#draw(this.#rates.itemFloodStageRate)) {
      this.count('itemFloodBlocked');
      return indexBlocked(index, 'flood-stage');
    }
    const scripted = this.#scripted(this.#itemError, 'itemScriptedErrors');
    return scripted === undefined ? undefined : new OpenSearchError(scripted.status, scripted.type, scripted.reason);
  }
}

function checkRate(name: string, rate: number | undefined): number {
  if (rate === undefined) return 0;
  if (!Number.isFinite(rate) || rate < 0 || rate > 1) throw new RangeError(`${name} must be within 0..1, got ${rate}`);
  return rate;
}

function checkScripted(name: string, spec: ScriptedError | undefined): Required<ScriptedError> | undefined {
  if (spec === undefined) return undefined;
  if (!Number.isInteger(spec.status) || spec.status < 400 || spec.status > 599) {
    throw new RangeError(`${name}.status must be an HTTP error status (400-599), got ${spec.status}`);
  }
  return {
    status: spec.status,
    type: spec.type ?? '',
    reason: spec.reason ?? `injected ${spec.status}`,
    rate: checkRate(`${name}.rate`, spec.rate ?? 1),
  };
}
