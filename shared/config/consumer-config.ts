import type { DeliveryMode, Epoch, InOrderCommit } from '../ordering/delivery-mode';
import { LIVE_EPOCH } from '../ordering/delivery-mode';
import { epochNameProblem } from '../ledger/ledger-table';
import { shortestClaimTtlMs } from '../ordering/delivery-right';
import { isIsoTime } from './formats';
import type { RetryPolicy } from '../retry/retrier';
import { boolean, ConfigurationError, integer, oneOf, optionalString, requiredString, url, type Env } from './env';
import { HOME_LANES, homeLanesOf, type HomeLanes } from '../consumer/lanes';

export type DestinationName = 'audit' | 'search' | 'fraud';

/**
 * The built-ins' modes, for what names them without loading their runtime halves (each pulls in its service's SDK):
 * a construct built without a mode, and a local state file or stack from before modes were recorded. Their runtime
 * halves say the same (a test holds them to it); a plug-in's mode is its runtime half's alone.
 */
export const DESTINATION_MODES: Readonly<Record<DestinationName, DeliveryMode>> = {
  audit: 'every-version',
  search: 'latest-state',
  fraud: 'in-order',
};

/**
 * Everything one consumer reads from its environment. The CDK stack sets these variables on each function; the local
 * pipeline sets the same ones, plus endpoint overrides, so both run the same handler code.
 */
export interface ConsumerConfig {
  /**
   * The destination's name, built-in or plug-in. Its own settings (bucket, endpoint, queue...) are not here: its runtime
   * half's `readSettings` reads them, for the built-ins as for any plug-in.
   */
  readonly destination: DestinationName | PluginName;
  readonly region: string;
  readonly accountsTable: string;
  readonly ledgerTable: string;
  readonly deadLetterQueueUrl: string;
  readonly epoch: Epoch;
  readonly maxGapAgeMs: number;
  readonly parkedAgeThresholdMs: number;
  readonly claimTtlMs: number;
  readonly inOrderCommit: InOrderCommit;
  /** In-order: the batches' lanes (see `HomeLanes`), so accounts are delivered from their home lane without a claim. */
  readonly homeLanes: HomeLanes;
  /** The mapping's `parallelizationFactor`, which names `partition-key` lanes. */
  readonly parallelizationFactor: number;
  /** latest-state (search): leave stale refusal to the index and use no ledger on the stream path. */
  readonly destinationEnforced: boolean;
  readonly accountConcurrency: number;
  readonly retry: RetryPolicy;
  readonly retryReserveMs: number;
  /** Local emulator endpoints; unset on AWS. */
  readonly endpoints: { readonly dynamodb?: string; readonly sqs?: string; readonly s3?: string; readonly eventbridge?: string };
  readonly s3ForcePathStyle: boolean;
}

/** A plug-in destination's name: any string that is not a built-in's (`string & {}` keeps the built-ins' completion). */
export type PluginName = string & {};

export function readConsumerConfig(destination: DestinationName | PluginName, env: Env): ConsumerConfig {
  const epochId = optionalString(env, 'LEDGER_EPOCH') ?? LIVE_EPOCH.id;
  const epochProblem = epochNameProblem(epochId);
  if (epochProblem !== undefined) throw new ConfigurationError('LEDGER_EPOCH', `${epochProblem}, got "${epochId}"`);
  const live = epochId === LIVE_EPOCH.id;
  if (optionalString(env, 'EPOCH_BASELINE') === 'first-seen') {
    throw new ConfigurationError(
      'EPOCH_BASELINE',
      'first-seen was removed (it started each account at whatever arrived first): set EPOCH_REPLAY_FROM to the replay\'s start instead',
    );
  }
  // The only baseline left: history starts at version 1 unless EPOCH_REPLAY_FROM opens a window.
  oneOf(env, 'EPOCH_BASELINE', ['from-version-1'], 'from-version-1');
  const baseDelayMs = integer(env, 'DELIVERY_BASE_DELAY_MS', 100, { min: 0, max: 60_000 });
  const retryReserveMs = integer(env, 'RETRY_RESERVE_MS', 3_000, { min: 0, max: 600_000 });
  const claimTtlMs = integer(env, 'CLAIM_TTL_SECONDS', 60, { min: 1, max: 3_600 }) * 1000;
  const shortest = shortestClaimTtlMs(engineReserveMs(retryReserveMs));
  if (claimTtlMs < shortest) {
    throw new ConfigurationError(
      'CLAIM_TTL_SECONDS',
      `must be at least ${Math.ceil(shortest / 1000)} with RETRY_RESERVE_MS ${retryReserveMs} (twice the reserve: a delivery starts under a claim only with the reserve left to deliver and the reserve kept for its commit), got ${claimTtlMs / 1000}`,
    );
  }
  const replay = boolean(env, 'EPOCH_REPLAY', !live);
  if (!replay && optionalString(env, 'EPOCH_REPLAY_BEFORE') !== undefined) {
    throw new ConfigurationError('EPOCH_REPLAY_BEFORE', `marks changes as a replay: only with a replay epoch (EPOCH_REPLAY=true; on by default for an epoch other than "${LIVE_EPOCH.id}")`);
  }
  return {
    destination,
    region: optionalString(env, 'AWS_REGION') ?? optionalString(env, 'AWS_DEFAULT_REGION') ?? 'us-east-1',
    accountsTable: requiredString(env, 'ACCOUNTS_TABLE_NAME'),
    ledgerTable: requiredString(env, 'LEDGER_TABLE_NAME'),
    deadLetterQueueUrl: requiredString(env, 'DEAD_LETTER_QUEUE_URL'),
    epoch: {
      id: epochId,
      replay,
      ...isoMicros(env, 'EPOCH_REPLAY_FROM', 'from'),
      ...isoMicros(env, 'EPOCH_REPLAY_BEFORE', 'replayBefore'),
    },
    maxGapAgeMs: integer(env, 'MAX_GAP_AGE_SECONDS', 900, { min: 1, max: 366 * 86_400 }) * 1000,
    parkedAgeThresholdMs: integer(env, 'PARKED_AGE_THRESHOLD_SECONDS', 900, { min: 1, max: 366 * 86_400 }) * 1000,
    claimTtlMs,
    inOrderCommit: oneOf<InOrderCommit>(env, 'IN_ORDER_COMMIT', ['per-version', 'per-batch'], 'per-batch'),
    homeLanes: homeLanes(env),
    parallelizationFactor: integer(env, 'PARALLELIZATION_FACTOR', 1, { min: 1, max: 10 }),
    destinationEnforced: boolean(env, 'DESTINATION_ENFORCED', false),
    accountConcurrency: integer(env, 'ACCOUNT_CONCURRENCY', 64, { min: 1, max: 1_000 }),
    retry: {
      maxAttempts: integer(env, 'DELIVERY_MAX_ATTEMPTS', 6, { min: 1, max: 100 }),
      baseDelayMs,
      maxDelayMs: integer(env, 'DELIVERY_MAX_DELAY_MS', Math.max(5_000, baseDelayMs), { min: baseDelayMs, max: 300_000 }),
    },
    retryReserveMs,
    endpoints: {
      dynamodb: url(env, 'AWS_ENDPOINT_URL_DYNAMODB'),
      sqs: url(env, 'AWS_ENDPOINT_URL_SQS'),
      s3: url(env, 'AWS_ENDPOINT_URL_S3'),
      eventbridge: url(env, 'AWS_ENDPOINT_URL_EVENTBRIDGE'),
    },
    s3ForcePathStyle: boolean(env, 'S3_FORCE_PATH_STYLE', false),
  };
}

/** `IN_ORDER_HOME_LANES`: a `HomeLanes`, in any case; its first, boolean spellings too (true or 1 is `shard`, false or 0 `none`). */
function homeLanes(env: Env): HomeLanes {
  const raw = optionalString(env, 'IN_ORDER_HOME_LANES')?.toLowerCase();
  if (raw === undefined || (HOME_LANES as readonly string[]).includes(raw)) return homeLanesOf(raw as HomeLanes | undefined);
  if (['true', '1', 'false', '0'].includes(raw)) return homeLanesOf(raw === 'true' || raw === '1');
  throw new ConfigurationError('IN_ORDER_HOME_LANES', `must be one of ${HOME_LANES.join(', ')} (or true, false), got "${raw}"`);
}

/**
 * The engine's reserve for a consumer: the adapters send nothing within the retry reserve of the deadline, so the
 * engine starts nothing there either; never under a second, the time a commit needs.
 */
export function engineReserveMs(retryReserveMs: number): number {
  return Math.max(1_000, retryReserveMs);
}

/**
 * An ISO time variable as microseconds: `EPOCH_REPLAY_FROM` (the replay's start: changes before it are outside the
 * epoch's window) and `EPOCH_REPLAY_BEFORE` (only changes created before it are delivered as replays).
 */
function isoMicros<K extends 'from' | 'replayBefore'>(env: Env, name: string, key: K): Partial<Record<K, number>> {
  const raw = optionalString(env, name);
  if (raw === undefined) return {};
  const ms = isIsoTime(raw) ? Date.parse(raw) : Number.NaN;
  if (!Number.isFinite(ms)) {
    throw new ConfigurationError(name, `must be an ISO 8601 time with a time zone, e.g. 2026-11-23T10:15:30Z, got "${raw}"`);
  }
  return { [key]: ms * 1000 } as Partial<Record<K, number>>;
}
