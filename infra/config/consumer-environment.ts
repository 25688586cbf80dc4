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
 * runs several side by side, one at a time per Kinesis partition key: the lane is then the shard and the partition key
 * (`partition-key`). DynamoDB chooses that key: should an account's changes come with another, its new lane parks
 * until the old one's home is fenced off; nothing is lost or reordered (see `laneOptions`).
 */
function homeLanes(settings: DestinationSettings): Record<string, string> {
  const factor = settings.parallelizationFactor;
  return factor > 1 ? { IN_ORDER_HOME_LANES: 'partition-key', PARALLELIZATION_FACTOR: String(factor) } : {};
}

/**
 * A replay epoch read from a timestamp starts every account at its first change at or after its window's start
 * (`replayFrom`, else where the mapping starts reading), decided by the records' own times (`EPOCH_REPLAY_FROM`). The live epoch has no window: nothing in it is ever skipped as too early.
 */
function replayWindow(settings: DestinationSettings): Record<string, string> {
  if (settings.epoch === 'live' || settings.startingPosition !== 'AT_TIMESTAMP' || !settings.startingPositionTimestamp) return {};
  return { EPOCH_REPLAY_FROM: settings.replayFrom ?? settings.startingPositionTimestamp };
}

/**
 * How long before a replay's start `fanout replay` has its mapping start reading. The engine judges the window by each
 * change's own time (the writer's `updated_at`), Kinesis starts an `AT_TIMESTAMP` mapping by arrival time: a change
 * stamped by a writer whose clock runs ahead can arrive before the time it carries, and a mapping started at the
 * window's start would never read it (the account then waited a gap age for it and was baselined past it). What the
 * margin adds is read and skipped as before the window.
 */
export const REPLAY_READ_MARGIN_SECONDS = 300;

/** Where a replay from `from` starts reading (ISO 8601): `REPLAY_READ_MARGIN_SECONDS` before it. */
export function replayReadStart(from: string): string {
  return new Date(Date.parse(from) - REPLAY_READ_MARGIN_SECONDS * 1000).toISOString();
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

/** Kinesis' limit on an EFO consumer's name (RegisterStreamConsumer: 1-128 characters of `[a-zA-Z0-9_.-]`). */
export const STREAM_CONSUMER_NAME_LIMIT = 128;

/** Hex characters of a SHA-256: a generation (`consumerGeneration`), and what stands for a shortened part's cut. */
const DIGEST_CHARS = 8;
const GENERATION_PATTERN = /^[0-9a-f]{8}$/;

/**
 * The EFO consumer's name: `<pipeline>-<destination>-<epoch>-<generation>`. Kinesis takes at most 128 characters, so a
 * longer one (a long pipeline name with a long epoch, such as a replay's default `replay-<from>-<now>`) is shortened
 * as `consumerNameStem` says: it stays unique, ends in the generation, and still tells its pipeline. Names that fit
 * are never changed (a changed name replaces the deployed consumer).
 */
export function streamConsumerName(pipelineName: string, destination: DestinationName | PluginName, settings: DestinationSettings): string {
  return `${consumerNameStem(pipelineName, destination, settings.epoch)}-${consumerGeneration(settings)}`;
}

/**
 * What a consumer name has before its generation: `<pipeline>-<destination>-<epoch>` when the whole name fits in 128
 * characters. Otherwise the destination (at most 30 characters, `DESTINATION_NAME_PATTERN`) stays whole and the
 * pipeline and the epoch share the rest (at least 87 characters): each part keeps its whole value up to half of it (the
 * shorter part gives what it leaves over to the other), and a part that does not fit keeps its first characters
 * followed by `_` and 8 hex characters of its whole value's SHA-256, so the name is exactly 128 characters. A replay's
 * default epoch (40 characters) always stays whole. The same inputs give the same name; two names that differ only in
 * what was cut differ in that part's digest (and a different epoch also in the generation); and the pipeline is told
 * by shortening a candidate name the same way (`pipelineNameOfConsumer`). A pipeline name that is still a CDK token
 * has no length yet: its name is left whole, as `checkPipelineName` leaves it, for CloudFormation to check at deploy.
 */
export function consumerNameStem(pipelineName: string, destination: string, epoch: string): string {
  const whole = `${pipelineName}-${destination}-${epoch}`;
  if (whole.length + 1 + DIGEST_CHARS <= STREAM_CONSUMER_NAME_LIMIT || pipelineName.includes('${Token[')) return whole;
  const room = STREAM_CONSUMER_NAME_LIMIT - destination.length - DIGEST_CHARS - 3;
  if (room < 4 * (DIGEST_CHARS + 2)) throw new RangeError(`destination "${destination}" is too long to name an EFO consumer after it`);
  const half = Math.floor(room / 2);
  const keptEpoch = shortened(epoch, Math.max(half, room - pipelineName.length));
  return `${shortened(pipelineName, room - keptEpoch.length)}-${destination}-${keptEpoch}`;
}

/** `value` if it has at most `room` characters, else its first characters, `_` and its digest: `room` characters. */
function shortened(value: string, room: number): string {
  if (value.length <= room) return value;
  return `${value.slice(0, room - DIGEST_CHARS - 1)}_${createHash('sha256').update(value).digest('hex').slice(0, DIGEST_CHARS)}`;
}

/**
 * The pipeline's name read back from one of its EFO consumer names (`fanout` knows a deployed destination by its
 * consumer's ARN, not by the props it was built with), given the destination and the epoch the consumer was made for.
 * The first of `candidates` (names the pipeline may have, such as its stack's) whose consumer names this would be;
 * else the name read off a consumer name that was not shortened (under 128 characters: one of exactly 128 may have
 * been, and then its start is not the whole pipeline name); else `undefined`, also for a name not made by
 * `streamConsumerName` (or cut to its last 128 characters, as versions before shortening did).
 */
export function pipelineNameOfConsumer(consumerName: string, destination: string, epoch: string, candidates: readonly string[] = []): string | undefined {
  const generation = (stem: string) => consumerName.startsWith(`${stem}-`) && GENERATION_PATTERN.test(consumerName.slice(stem.length + 1));
  const known = candidates.find((candidate) => candidate.length > 0 && generation(consumerNameStem(candidate, destination, epoch)));
  if (known !== undefined) return known;
  const suffix = `-${destination}-${epoch}-`;
  const at = consumerName.lastIndexOf(suffix);
  if (at <= 0 || consumerName.length >= STREAM_CONSUMER_NAME_LIMIT || !GENERATION_PATTERN.test(consumerName.slice(at + suffix.length))) return undefined;
  return consumerName.slice(0, at);
}
