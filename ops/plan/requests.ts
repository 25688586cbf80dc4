import { line, SECONDS_PER_MONTH, type CostLine } from './kinesis';
import { LIMITS, PRICE_REGION } from './prices';

/** What a destination's own service is asked, per second and per month, and what that costs. */
export interface DestinationRequests {
  readonly what: string;
  readonly perSecond: number;
  readonly perMonth: number;
  readonly lines: CostLine[];
  readonly note: string;
  /** A quota of the service that more shards do not lift, counted in the unit of `perSecond`. */
  readonly quota?: { readonly name: string; readonly capacity: number; readonly source: string };
}

/** The load one destination's writer puts on its service. */
export interface RequestLoad {
  readonly name: string;
  readonly writesPerSecond: number;
  readonly versionsPerAccountPerBatch: number;
  readonly distinctAccountsPerBatch: number;
  readonly itemBytes: number;
}

/** An EventBridge entry: the new image plus about this much envelope (source, detail-type, account, version). */
const EVENT_ENVELOPE_BYTES = 512;
/** A ledger-queue message: the new image as JSON plus about this much envelope (format, eventId, versions, flags, epoch). */
const QUEUE_MESSAGE_ENVELOPE_BYTES = 300;
/** SQS bills each 64 KB chunk of a call's payload as one request. */
const SQS_BILLING_CHUNK_BYTES = 65_536;

const perMonth = (perSecond: number): number => perSecond * SECONDS_PER_MONTH;

/**
 * How each shipped destination's writer calls its service. Keyed by destination because the calls are the service's,
 * not the mode's (fraud and ledger-queue are both in-order, and call EventBridge and SQS). A destination without a
 * model is still planned (stream, ledger, Lambda); only its own requests are left out, and the plan says so.
 */
const REQUEST_MODELS: Readonly<Record<string, (load: RequestLoad) => DestinationRequests>> = {
  audit: ({ name, writesPerSecond: w }) => ({
    what: 'S3 PUT (one object per version)',
    perSecond: w,
    perMonth: perMonth(w),
    lines: [line(`${name}: S3 PUTs`, perMonth(w), 's3PutThousand', 1e3)],
    note: 'storage, lifecycle and Object Lock not modelled',
  }),
  search: ({ writesPerSecond: w, versionsPerAccountPerBatch: v }) => ({
    what: 'OpenSearch _bulk documents (one per account per batch)',
    perSecond: w / v,
    perMonth: perMonth(w / v),
    lines: [],
    note: "no per-request charge; the domain's instance-hours are not modelled",
  }),
  fraud: ({ name, writesPerSecond: w, itemBytes }) => {
    const chunks = Math.ceil((itemBytes + EVENT_ENVELOPE_BYTES) / 65_536);
    return {
      what: `EventBridge PutEvents entries (one per version, 10 per call${chunks > 1 ? `, ${chunks} × 64 KB chunks` : ''})`,
      perSecond: w,
      perMonth: perMonth(w),
      lines: [line(`${name}: EventBridge custom events`, perMonth(w) * chunks, 'eventBridgeCustomEventMillion', 1e6)],
      note: `${(w / 10).toFixed(0)} PutEvents calls/s`,
      quota: {
        name: `${name}: EventBridge PutEvents (${PRICE_REGION} default 10,000/s, counted per entry to be safe)`,
        capacity: LIMITS.eventBridgePutEventsPerSecond.value,
        source: LIMITS.eventBridgePutEventsPerSecond.source,
      },
    };
  },
  'ledger-queue': ({ name, writesPerSecond: w, distinctAccountsPerBatch, itemBytes }) => {
    const messageBytes = itemBytes + QUEUE_MESSAGE_ENVELOPE_BYTES;
    // A call carries at most one version per account (account waves), so no more entries than the batch has accounts.
    const entries = Math.max(1, Math.min(LIMITS.sqsBatchEntries.value, Math.floor(LIMITS.sqsBatchBytes.value / messageBytes), Math.round(distinctAccountsPerBatch)));
    const calls = w / entries;
    const billedPerCall = Math.ceil((entries * messageBytes) / SQS_BILLING_CHUNK_BYTES);
    return {
      what: `SQS FIFO SendMessageBatch calls (${entries} messages of about ${messageBytes} B per call, one version per account per call)`,
      perSecond: calls,
      perMonth: perMonth(calls),
      lines: [line(`${name}: SQS FIFO requests`, perMonth(calls) * billedPerCall, 'sqsFifoRequestMillion', 1e6)],
      note: `${billedPerCall} billed request(s) per call (64 KB chunks); the ledger service's receives and deletes are not modelled`,
      quota: {
        name: `${name}: SQS FIFO SendMessageBatch (${PRICE_REGION} high throughput, 70,000 requests/s per action)`,
        capacity: LIMITS.sqsFifoHighThroughputRequestsPerSecond.value,
        source: LIMITS.sqsFifoHighThroughputRequestsPerSecond.source,
      },
    };
  },
};

export function destinationRequests(load: RequestLoad): DestinationRequests {
  const model = Object.hasOwn(REQUEST_MODELS, load.name) ? REQUEST_MODELS[load.name] : undefined;
  if (model) return model(load);
  return { what: 'its own service', perSecond: 0, perMonth: 0, lines: [], note: `not modelled (ops/plan/requests.ts has no model for ${load.name})` };
}
