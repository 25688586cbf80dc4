import { createHash } from 'node:crypto';
import type { PluginName } from '../../shared/config/consumer-config';
import type { DestinationName, DestinationSettings } from './pipeline-config';

/**
 * What the stack and the local pipeline both derive from a destination's settings, so the two cannot drift apart:
 * the function's environment variables and the name of its EFO consumer.
 */

/** Key prefix of the audit log. */
export const AUDIT_KEY_PREFIX = 'changes/';
/** `Source` of the fraud events. */
export const FRAUD_EVENT_SOURCE = 'ordered-fanout.accounts';

export interface ConsumerResources {
  /**
   * The pipeline the function belongs to: its Powertools service name, and so the `service` dimension of every metric
   * it publishes, which the pipeline's alarms and dashboard read (two pipelines in one account and region must not
   * share a series).
   */
  readonly pipelineName: string;
  readonly accountsTable: string;
  readonly ledgerTable: string;
  readonly deadLetterQueueUrl: string;
}

/** The consumer function's environment (the README's configuration table), plus the destination's own variables. */
export function consumerEnvironment(
  settings: DestinationSettings,
  resources: ConsumerResources,
  destinationEnvironment: Readonly<Record<string, string>>,
): Record<string, string> {
  return {
    NODE_OPTIONS: '--enable-source-maps',
    POWERTOOLS_SERVICE_NAME: resources.pipelineName,
    ACCOUNTS_TABLE_NAME: resources.accountsTable,
    LEDGER_TABLE_NAME: resources.ledgerTable,
    DEAD_LETTER_QUEUE_URL: resources.deadLetterQueueUrl,
    LEDGER_EPOCH: settings.epoch,
    ...replayWindow(settings),
    ...(settings.replayBefore !== undefined ? { EPOCH_REPLAY_BEFORE: settings.replayBefore } : {}),
    MAX_GAP_AGE_SECONDS: String(settings.maxGapAgeSeconds),
    PARKED_AGE_THRESHOLD_SECONDS: String(settings.alarms.oldestParkedAgeSeconds),
    DELIVERY_MAX_ATTEMPTS: String(settings.delivery.maxAttempts),
    DELIVERY_BASE_DELAY_MS: String(settings.delivery.baseDelayMs),
    DELIVERY_MAX_DELAY_MS: String(settings.delivery.maxDelayMs),
    ...homeLanes(settings),
    ...destinationEnvironment,
  };
}

/**
 * A home lane is a shard because Lambda runs one batch of a shard at a time. With a parallelization factor above 1 it
 * runs several side by side, one at a time per Kinesis partition key only, and the partition key of a Kinesis Data
 * Streams for DynamoDB record is DynamoDB's opaque choice: nothing ties an account to one of those batches, so
 * `in-order` runs on claims alone (every delivery claimed; two writes per account per batch).
 */
function homeLanes(settings: DestinationSettings): Record<string, string> {
  return settings.parallelizationFactor > 1 ? { IN_ORDER_HOME_LANES: 'false' } : {};
}

/**
 * A replay epoch read from a timestamp starts every account at its first change at or after that time, decided by the
 * records' own times (`EPOCH_REPLAY_FROM`). The live epoch has no window: nothing in it is ever skipped as too early.
 */
function replayWindow(settings: DestinationSettings): Record<string, string> {
  if (settings.epoch === 'live' || settings.startingPosition !== 'AT_TIMESTAMP' || !settings.startingPositionTimestamp) return {};
  return { EPOCH_REPLAY_FROM: settings.startingPositionTimestamp };
}

/**
 * Where reading starts is immutable on a mapping, and a replacement mapping from the same consumer to the same
 * function is refused. So the epoch and the starting position name a generation: changing either means a new EFO
 * consumer and, with it, a new mapping.
 */
export function consumerGeneration(settings: DestinationSettings): string {
  const position = `${settings.startingPosition}${settings.startingPositionTimestamp ? `@${settings.startingPositionTimestamp}` : ''}`;
  return createHash('sha256').update(`${settings.epoch}|${position}`).digest('hex').slice(0, 8);
}

/**
 * The EFO consumer's name: `<pipeline>-<destination>-<epoch>-<generation>`, its last 128 characters (Kinesis' limit;
 * the end is what tells a destination's generations apart).
 */
export function streamConsumerName(pipelineName: string, destination: DestinationName | PluginName, settings: DestinationSettings): string {
  return `${pipelineName}-${destination}-${settings.epoch}-${consumerGeneration(settings)}`.slice(-128);
}

/**
 * The pipeline's name read back from one of its EFO consumer names (`fanout` knows a deployed destination by its
 * consumer's ARN, not by the props it was built with); `undefined` for a name that was cut to 128 characters or was
 * not made by `streamConsumerName`.
 */
export function pipelineNameOfConsumer(consumerName: string, destination: string, epoch: string): string | undefined {
  const suffix = `-${destination}-${epoch}-`;
  const at = consumerName.lastIndexOf(suffix);
  if (at <= 0 || consumerName.length >= 128 || !/^[0-9a-f]{8}$/.test(consumerName.slice(at + suffix.length))) return undefined;
  return consumerName.slice(0, at);
}
