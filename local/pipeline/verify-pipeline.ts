import { countVersions } from '../../shared/ordering/version-ranges';
import { GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import { readConsumerConfig } from '../../shared/config/consumer-config';
import { DynamoDBLedger } from '../../shared/ledger/dynamodb-ledger';
import type { DeliveryMode } from '../../shared/ordering/delivery-mode';
import { METRIC_NAMES } from '../../shared/observability/telemetry';
import type { HeldVersion } from '../plugins/local-plugin';
import { checkDestination, type DestinationCheck, type Truth } from '../verify';
import type { AnyDestination, LocalEnvironment } from './environment';
import type { FunctionMetrics } from './function-metrics';
import type { Accepted } from './read-back';
import { deliveryLatencies, percentile, summarize, type LatencySummary } from './delivery-latency';
import type { StageBreakdown } from './stage-clock';

/** One destination's line of the report: the stable `--json` keys. */
export interface DestinationSummary {
  readonly delivered: number;
  readonly duplicatesSkipped: number;
  readonly stale: number;
  readonly healed: number;
  readonly parked: number;
  readonly deadLettered: number;
  readonly orderViolations: number;
  readonly missing: number;
  readonly recordsPerSecond: number;
  readonly latencyMs: { readonly p50: number; readonly p99: number };
}

/** What else was found, for people: not part of the stable keys. */
export interface DestinationDetails extends DestinationCheck {
  readonly ok: boolean;
  /** Accounts still waiting in the ledger for a missing version. */
  readonly waitingAccounts: number;
  /** Accounts whose current state (`currentState`, e.g. search's documents) is not the table's final version and balance. */
  readonly finalStateMismatches: number;
  readonly retries: number;
  readonly quarantined: number;
  readonly failedRecords: number;
  /** Commit → delivery of the changes made after the warm-up (`WARM_UP_MS`); latest-state: freshness. */
  readonly warmLatencyMs: LatencySummary;
  /** Where the warm changes' time goes, stage by stage (added by the pipeline, which timed the stages). */
  readonly stagesMs?: StageBreakdown;
}

export interface VerifyInput {
  readonly env: LocalEnvironment;
  readonly destination: AnyDestination;
  readonly mode: DeliveryMode;
  readonly epoch: string;
  /** Accepted deliveries in arrival order, read back from the destination. */
  readonly accepted: readonly Accepted[];
  readonly truth: Truth;
  /** What the destination holds now per account, when its stand-in can say (`currentState`: search's documents). */
  readonly documents?: ReadonlyMap<string, HeldVersion>;
  readonly metrics: FunctionMetrics;
  /** When each change was made in DynamoDB, µs, by `<account>#<version>`. */
  readonly createdAtMicros: ReadonlyMap<string, number>;
  /** Per account, the versions dropped before the stream on purpose (`--permanent-gap-rate`): absent is not missing. */
  readonly dropped?: ReadonlyMap<string, ReadonlySet<number>>;
}

/** Checks one destination from what was read back from it, the ledger and its dead-letter queue. */
export async function verifyDestination(input: VerifyInput): Promise<{ summary: DestinationSummary; details: DestinationDetails }> {
  const { env, destination, mode, accepted, truth, metrics } = input;
  // The read-back allows what the consumer's own commit mode may re-deliver after a crash, read from the same
  // environment the function runs with.
  const { inOrderCommit } = readConsumerConfig(destination, env.functionEnvironment(destination));
  const check = checkDestination(destination, mode, accepted, truth, input.dropped, inOrderCommit);
  const { parked, waitingAccounts } = await readParked(env, destination, input.epoch);
  const deadLettered = await queueDepth(env, destination);

  let finalStateMismatches = 0;
  if (input.documents) {
    for (const [accountId, final] of truth.finalVersions) {
      const document = input.documents.get(accountId);
      if (document?.version !== final || document.balance !== truth.history.get(accountId)?.get(final)) finalStateMismatches += 1;
    }
  }

  const latencies = deliveryLatencies(accepted, input.createdAtMicros, mode === 'latest-state');
  const first = accepted.reduce((min, { at }) => Math.min(min, at), Infinity);
  const last = accepted.reduce((max, { at }) => Math.max(max, at), 0);
  const seconds = Math.max(0.001, (last - first) / 1000);

  const summary: DestinationSummary = {
    delivered: accepted.length,
    duplicatesSkipped: metrics.total(destination, METRIC_NAMES.duplicates),
    stale: metrics.total(destination, METRIC_NAMES.stale),
    healed: mode === 'latest-state' ? metrics.total(destination, METRIC_NAMES.healed) : check.healed,
    parked,
    deadLettered,
    orderViolations: check.orderViolations,
    missing: check.missing + finalStateMismatches,
    recordsPerSecond: accepted.length === 0 ? 0 : Math.round(accepted.length / seconds),
    latencyMs: { p50: percentile(latencies.all, 0.5), p99: percentile(latencies.all, 0.99) },
  };
  const ok =
    summary.missing === 0 && summary.orderViolations === 0 && parked === 0 && check.unexpected === 0 && check.contentMismatches === 0;
  return {
    summary,
    details: {
      ...check,
      ok,
      waitingAccounts,
      finalStateMismatches,
      retries: metrics.total(destination, METRIC_NAMES.retries),
      quarantined: metrics.total(destination, METRIC_NAMES.quarantined),
      failedRecords: metrics.total(destination, METRIC_NAMES.failed),
      warmLatencyMs: summarize(latencies.warm),
    },
  };
}

/** Records still parked in the destination's ledger, and the accounts waiting for them. */
export async function readParked(env: LocalEnvironment, destination: AnyDestination, epoch: string): Promise<{ parked: number; waitingAccounts: number }> {
  const ledger = new DynamoDBLedger({ client: env.dynamodb, tableName: env.resources.ledgerTable, destination, epoch });
  const accounts: string[] = [];
  for await (const { accountId } of ledger.waiting()) accounts.push(accountId);
  // The watermarks list their parked versions as ranges: counting them reads no parked record.
  const watermarks = await ledger.load(accounts);
  let parked = 0;
  for (const watermark of watermarks.values()) parked += countVersions(watermark.parked);
  return { parked, waitingAccounts: accounts.length };
}

async function queueDepth(env: LocalEnvironment, destination: AnyDestination): Promise<number> {
  const { Attributes } = await env.sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: env.resources.deadLetterQueues[destination],
      AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
    }),
  );
  return Number(Attributes?.ApproximateNumberOfMessages ?? 0) + Number(Attributes?.ApproximateNumberOfMessagesNotVisible ?? 0);
}

