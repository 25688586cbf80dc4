import { epochNameProblem } from '../../shared/ledger/ledger-table';
import { LIVE_EPOCH } from '../../shared/ordering/delivery-mode';
import { ConfigChecker, describe, isPlainObject } from './config-checker';
import { searchZones } from './config-schema';
import type { AuditSettings, DestinationSettings, PipelineConfig, SearchSettings } from './pipeline-config';

/** What the rules need to know of the stream: its retention always; its mode and shards when it has a fixed number. */
export type StreamFacts = Pick<PipelineConfig['stream'], 'retentionHours'> & Partial<Pick<PipelineConfig['stream'], 'mode' | 'shardCount'>>;

/** Rules between fields, checked after merging: what a spec of one field cannot say. */

/** Seconds the consumer keeps back from each invocation for giving up cleanly (`RETRY_RESERVE_MS` defaults to 3000). */
export const CONSUMER_RETRY_RESERVE_SECONDS = 3;

/** Rules between fields of one destination, built-in or plug-in. */
export function checkDestination(checker: ConfigChecker, path: string, settings: DestinationSettings, stream: StreamFacts): void {
  const { delivery, timeoutSeconds, startingPosition, startingPositionTimestamp, epoch, replayBefore } = settings;
  checkRecordAge(checker, path, settings, stream.retentionHours);
  checkIteratorAgeAlarm(checker, path, settings, stream.retentionHours);
  checkConcurrency(checker, path, settings, stream);
  if (delivery.maxDelayMs < delivery.baseDelayMs) {
    checker.fail(`${path}.delivery.maxDelayMs`, `must be at least delivery.baseDelayMs (${delivery.baseDelayMs}), got ${delivery.maxDelayMs}`);
  }
  const minimumTimeout = Math.floor(CONSUMER_RETRY_RESERVE_SECONDS + delivery.maxDelayMs / 1000) + 1;
  if (timeoutSeconds < minimumTimeout) {
    const rule = `must exceed the consumer's ${CONSUMER_RETRY_RESERVE_SECONDS} s retry reserve plus one delivery.maxDelayMs backoff`;
    checker.fail(`${path}.timeoutSeconds`, `${rule} (${delivery.maxDelayMs} ms), i.e. be at least ${minimumTimeout}, got ${timeoutSeconds}`);
  }
  if (startingPosition === 'AT_TIMESTAMP' && startingPositionTimestamp === undefined) {
    checker.fail(`${path}.startingPositionTimestamp`, 'is required when startingPosition is "AT_TIMESTAMP", got nothing');
  }
  if (startingPosition !== 'AT_TIMESTAMP' && startingPositionTimestamp !== undefined) {
    const got = `got ${describe(startingPositionTimestamp)} with "${startingPosition}"`;
    checker.fail(`${path}.startingPositionTimestamp`, `is only allowed when startingPosition is "AT_TIMESTAMP", ${got}`);
  }
  checkEpoch(checker, path, settings);
  if (replayBefore !== undefined && epoch === LIVE_EPOCH.id) {
    checker.fail(`${path}.replayBefore`, `is only allowed with a replay epoch (not "${LIVE_EPOCH.id}"), got ${describe(replayBefore)} with epoch "${epoch}"`);
  }
  checkReplayFrom(checker, path, settings);
}

/** A replay window's start, when its mapping reads from earlier: only for a replay epoch read from a timestamp, not before that. */
function checkReplayFrom(checker: ConfigChecker, path: string, { replayFrom, epoch, startingPosition, startingPositionTimestamp }: DestinationSettings): void {
  if (replayFrom === undefined) return;
  if (epoch === LIVE_EPOCH.id || startingPosition !== 'AT_TIMESTAMP') {
    checker.fail(`${path}.replayFrom`, `is only allowed with a replay epoch read from "AT_TIMESTAMP", got ${describe(replayFrom)} with epoch "${epoch}" from "${startingPosition}"`);
  }
  if (startingPositionTimestamp !== undefined && Date.parse(replayFrom) < Date.parse(startingPositionTimestamp)) {
    checker.fail(`${path}.replayFrom`, `must not be before startingPositionTimestamp ${startingPositionTimestamp} (the mapping reads nothing earlier), got ${describe(replayFrom)}`);
  }
}

/**
 * A reservation below what the mapping runs at once (one invocation per shard and `parallelizationFactor`) throttles
 * the function all the time. Only a provisioned stream's shards are known at synth; an on-demand stream's vary.
 */
function checkConcurrency(checker: ConfigChecker, path: string, { reservedConcurrency, parallelizationFactor }: DestinationSettings, stream: StreamFacts): void {
  if (reservedConcurrency === undefined || stream.mode !== 'PROVISIONED' || stream.shardCount === undefined) return;
  const needed = stream.shardCount * parallelizationFactor;
  if (reservedConcurrency < needed) {
    checker.fail(
      `${path}.reservedConcurrency`,
      `must be at least stream.shardCount × parallelizationFactor = ${stream.shardCount} × ${parallelizationFactor} = ${needed} (the mapping runs that many invocations at once; a fanout redrive or replay needs one more), got ${reservedConcurrency}`,
    );
  }
}

/** Shards an on-demand stream has from its creation (4 MB/s of writes); it only ever has more. */
export const ON_DEMAND_INITIAL_SHARDS = 4;

/**
 * `checkConcurrency` for an on-demand stream, whose shards are known only as a floor: a reservation below
 * `ON_DEMAND_INITIAL_SHARDS` × `parallelizationFactor` throttles the mapping from the first day. Only where the
 * stream's mode is known (a stream the stack creates, or one whose mode the props give): `destinations` as resolved.
 */
export function checkOnDemandConcurrency(source: string, destinations: readonly { readonly name: string; readonly settings: DestinationSettings }[]): void {
  const checker = new ConfigChecker(source);
  for (const { name, settings } of destinations) {
    const { reservedConcurrency, parallelizationFactor } = settings;
    const needed = ON_DEMAND_INITIAL_SHARDS * parallelizationFactor;
    if (reservedConcurrency === undefined || reservedConcurrency >= needed) continue;
    checker.fail(
      `destinations.${name}.reservedConcurrency`,
      `must be at least ${ON_DEMAND_INITIAL_SHARDS} × parallelizationFactor = ${ON_DEMAND_INITIAL_SHARDS} × ${parallelizationFactor} = ${needed} on an ON_DEMAND stream (it starts with ${ON_DEMAND_INITIAL_SHARDS} shards and the mapping runs an invocation per shard and parallelizationFactor at once), got ${reservedConcurrency}`,
    );
  }
}

/**
 * An epoch other than `live` is a replay with a ledger of its own, whose accounts start at version 1 or at the
 * replay's start: it must read from where the replay starts, not from now.
 */
function checkEpoch(checker: ConfigChecker, path: string, { epoch, startingPosition, startingPositionTimestamp }: DestinationSettings): void {
  const problem = epochNameProblem(epoch);
  if (problem !== undefined) checker.fail(`${path}.epoch`, `${problem}, got ${describe(epoch)}`);
  if (epoch !== LIVE_EPOCH.id && startingPosition === 'LATEST') {
    checker.fail(
      `${path}.startingPosition`,
      `must be "TRIM_HORIZON" or "AT_TIMESTAMP" for the replay epoch "${epoch}": from "LATEST" it replays nothing, and its fresh ledger waits for every account's earlier versions, got "LATEST"`,
    );
  }
  if (startingPosition === 'AT_TIMESTAMP' && startingPositionTimestamp !== undefined && Date.parse(startingPositionTimestamp) > checker.now) {
    checker.fail(`${path}.startingPositionTimestamp`, `must not be in the future (nothing is on the stream after now to start from), got ${describe(startingPositionTimestamp)}`);
  }
}

/**
 * Lambda checks a record's age before it invokes: a replay reaching further back than `maxRecordAgeSeconds` would
 * send its oldest records to the on-failure bucket unread. So the mapping's limit must cover the replay window.
 */
function checkRecordAge(checker: ConfigChecker, path: string, settings: DestinationSettings, retentionHours: number): void {
  const { maxRecordAgeSeconds: maxAge, startingPosition, startingPositionTimestamp, epoch, replayBefore } = settings;
  if (maxAge >= 0 && maxAge < 60) {
    checker.fail(`${path}.maxRecordAgeSeconds`, `must be -1 (no limit) or between 60 and 604800, as Lambda allows, got ${maxAge}`);
  }
  if (maxAge === -1) return;
  if (maxAge <= settings.timeoutSeconds) {
    checker.fail(
      `${path}.maxRecordAgeSeconds`,
      `must be more than timeoutSeconds (${settings.timeoutSeconds}): Lambda retries a failed batch only while its records are younger than the limit, so a batch whose invocation ran out its timeout would go to the on-failure bucket unretried (retryAttempts never spent); use -1 (no limit) or more than ${settings.timeoutSeconds}, got ${maxAge}`,
    );
  }
  let window: number | undefined;
  let what = '';
  if (startingPosition === 'AT_TIMESTAMP' && startingPositionTimestamp !== undefined) {
    window = Math.ceil((replayAppliedAt(checker.now, replayBefore) - Date.parse(startingPositionTimestamp)) / 1000);
    what = `the replay from ${startingPositionTimestamp} reaches ${window} s back`;
  } else if (startingPosition === 'TRIM_HORIZON' && epoch !== LIVE_EPOCH.id) {
    window = retentionHours * 3600;
    what = `the replay from TRIM_HORIZON reaches the stream's retention, ${window} s back`;
  }
  if (window !== undefined && window > maxAge) {
    checker.fail(`${path}.maxRecordAgeSeconds`, `must cover the replay window (${what}; Lambda would send older records to the on-failure bucket unread): use -1 (no limit), got ${maxAge}`);
  }
}

/**
 * Lambda's `IteratorAge` is the age of the last record of a batch it sends to the function. It never sends a record
 * older than `maxRecordAgeSeconds` (discarded before invoking), and Kinesis keeps none older than the stream's
 * retention: an IteratorAge alarm whose threshold is at or above either can never fire, however far behind the
 * consumer falls (its records then go to the on-failure bucket, or expire, unannounced by this alarm).
 */
function checkIteratorAgeAlarm(checker: ConfigChecker, path: string, { maxRecordAgeSeconds, alarms }: DestinationSettings, retentionHours: number): void {
  const retentionMs = retentionHours * 3_600_000;
  if (maxRecordAgeSeconds !== -1 && alarms.iteratorAgeMs >= maxRecordAgeSeconds * 1000) {
    checker.fail(
      `${path}.alarms.iteratorAgeMs`,
      `must be below maxRecordAgeSeconds × 1000 = ${maxRecordAgeSeconds * 1000} ms: Lambda discards older records before it invokes, so IteratorAge (the age of the last record sent) never exceeds the limit and the alarm would never fire, got ${alarms.iteratorAgeMs}`,
    );
  }
  if (alarms.iteratorAgeMs >= retentionMs) {
    checker.fail(
      `${path}.alarms.iteratorAgeMs`,
      `must be below the stream's retention, stream.retentionHours × 3600000 = ${retentionMs} ms: Kinesis deletes older records, so IteratorAge never exceeds it and the alarm would never fire, got ${alarms.iteratorAgeMs}`,
    );
  }
}

/**
 * When the replay's mapping was created, as far as the configuration tells: `replayBefore`, which `fanout replay`
 * sets to the time it applied the replay, else now. The window only matters to the deploy that creates the mapping;
 * measured from now, it grew with every day, and a routine deploy `maxRecordAgeSeconds` after a replay was refused,
 * although the mapping had long read its start (changing the start to get past it would have replayed again).
 */
function replayAppliedAt(now: number, replayBefore: string | undefined): number {
  const applied = replayBefore === undefined ? Number.NaN : Date.parse(replayBefore);
  return Number.isFinite(applied) ? Math.min(now, applied) : now;
}

/** OpenSearch's own rules between the sizes of a created domain, refused here rather than by a failed deploy. */
export function checkSearchDomain(checker: ConfigChecker, path: string, settings: SearchSettings): void {
  if (settings.domainArn !== undefined) return;
  const { dataNodes, masterNodes, instanceType } = settings;
  if (searchZones(dataNodes) === undefined) {
    checker.fail(`${path}.dataNodes`, `must be 1, or a multiple of 2 or 3 (the node count must be a multiple of the availability zones it spreads over), got ${dataNodes}`);
  }
  if (![0, 3, 5].includes(masterNodes)) checker.fail(`${path}.masterNodes`, `must be 0, 3 or 5 (a cluster-manager quorum), got ${masterNodes}`);
  // The stack always encrypts at rest and node to node (fine-grained access control needs both); t2 supports neither.
  for (const [field, type] of [['instanceType', instanceType], ['masterInstanceType', settings.masterInstanceType]] as const) {
    if (type.startsWith('t2.')) checker.fail(`${path}.${field}`, `must not be a t2 type (no encryption at rest, which the domain always has), got ${describe(type)}`);
  }
}

export function checkAudit(checker: ConfigChecker, path: string, { bucketArn, bucketKeyArn }: AuditSettings): void {
  if (bucketKeyArn !== undefined && bucketArn === undefined) {
    checker.fail(`${path}.bucketKeyArn`, `is only for an imported bucket (set bucketArn; a created bucket has its own key), got ${describe(bucketKeyArn)}`);
  }
}

export function checkSearch(checker: ConfigChecker, path: string, { domainEndpoint, domainArn }: SearchSettings): void {
  if (domainEndpoint !== undefined && domainArn === undefined) {
    checker.fail(`${path}.domainArn`, `is required with domainEndpoint (both or neither), got nothing`);
  }
  if (domainArn !== undefined && domainEndpoint === undefined) {
    checker.fail(`${path}.domainEndpoint`, `is required with domainArn (both or neither), got nothing`);
  }
  const endpointRegion = domainEndpoint === undefined ? undefined : awsEndpointRegion(domainEndpoint);
  const arnRegion = domainArn?.split(':')[3];
  // Requests are signed for the ARN's region: a domain's own endpoint in another region refuses every one of them.
  if (endpointRegion !== undefined && arnRegion !== undefined && endpointRegion !== arnRegion) {
    checker.fail(`${path}.domainArn`, `is in ${arnRegion} but domainEndpoint ${domainEndpoint} is in ${endpointRegion}: name the same domain in both`);
  }
}

/** The region of an OpenSearch Service endpoint (`search-<name>-<id>.<region>.es.amazonaws.com`); a custom endpoint has none. */
function awsEndpointRegion(endpoint: string): string | undefined {
  return /\.([a-z]{2}(?:-[a-z]+)+-\d)\.es\.amazonaws\.com(?:\.cn)?$/.exec(new URL(endpoint).hostname)?.[1];
}

/** Settings of a resource the stack creates, and the setting that imports one instead (then they would do nothing). */
const CREATED_ONLY: Readonly<Record<'audit' | 'search' | 'fraud', { readonly importedBy: string; readonly fields: readonly string[] }>> = {
  audit: { importedBy: 'bucketArn', fields: ['objectLockDays', 'transitionDays'] },
  search: { importedBy: 'domainArn', fields: ['dataNodes', 'instanceType', 'masterNodes', 'masterInstanceType'] },
  fraud: { importedBy: 'eventBusArn', fields: ['archiveRetentionDays'] },
};

/**
 * Settings given that would be ignored: a created resource's settings next to an import, and dedicated masters' type
 * without dedicated masters. Read from what was given (`raw`), as the defaults fill in every field.
 */
export function checkIgnoredSettings(checker: ConfigChecker, raw: unknown): void {
  const destinations = isPlainObject(raw) && isPlainObject(raw.destinations) ? raw.destinations : {};
  for (const [name, { importedBy, fields }] of Object.entries(CREATED_ONLY)) {
    const given = destinations[name];
    if (!isPlainObject(given)) continue;
    const path = `destinations.${name}`;
    if (given[importedBy] !== undefined) {
      for (const field of fields) {
        if (given[field] !== undefined) checker.fail(`${path}.${field}`, `is a setting of a created ${name} resource, ignored with ${importedBy} (an imported one is configured by its owner), got ${describe(given[field])}`);
      }
    } else if (name === 'search' && given.masterInstanceType !== undefined && (given.masterNodes ?? 0) === 0) {
      checker.fail(`${path}.masterInstanceType`, `is only used with dedicated masters (masterNodes 3 or 5), got ${describe(given.masterInstanceType)} with none`);
    }
  }
}
