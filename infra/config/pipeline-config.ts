/**
 * The stack's configuration: one typed, validated object, read from `cdk.json` context (key `ordered-fanout`) or from
 * a JSON file named by the context key `ordered-fanout:config-file`. Every value has a default; a wrong value fails
 * `cdk synth` with a `PipelineConfigError` whose message names the value's path, e.g.
 * `destinations.search.batchSize: must be an integer between 1 and 10000, got 0`.
 */

export type DestinationName = 'audit' | 'search' | 'fraud';
export const DESTINATION_NAMES: readonly DestinationName[] = ['audit', 'search', 'fraud'];

export type StartingPosition = 'LATEST' | 'TRIM_HORIZON' | 'AT_TIMESTAMP';

export interface AlarmThresholds {
  /**
   * Lambda `IteratorAge` (EFO lag) maximum, ms, 1-604800000 (7 days), and below both `maxRecordAgeSeconds` (when set) and
   * the stream's retention: IteratorAge never exceeds either, so a higher threshold never fires. @default 60000
   */
  readonly iteratorAgeMs: number;
  /** Function errors per 5 minutes, 1-1000000. @default 1 */
  readonly errors: number;
  /** Function throttles per 5 minutes, 1-1000000. @default 1 */
  readonly throttles: number;
  /** Dead-letter queue depth (visible messages), 1-1000000. @default 1, i.e. any letter alarms */
  readonly deadLetters: number;
  /** Age of the oldest parked record, seconds, 1-31622400 (366 days). @default 900 */
  readonly oldestParkedAgeSeconds: number;
  /** Accounts parked longer than `oldestParkedAgeSeconds`, 1-1000 (the waiting report counts at most 1000). @default 1 */
  readonly parkedTooLong: number;
  /** Consecutive 1-minute periods before an alarm fires, 1-1440 (one day). @default 3 */
  readonly evaluationPeriods: number;
}

export interface DestinationSettings {
  /** @default true */
  readonly enabled: boolean;
  /** Records per invocation, 1-10000. @default 100 */
  readonly batchSize: number;
  /** Seconds to gather a batch, 0-300. @default 0 (Lambda's default: latency first; raise it for fewer ledger writes) */
  readonly maxBatchingWindowSeconds: number;
  /** Concurrent batches per shard, 1-10 (order per account is kept: Lambda splits by partition key). @default 1 */
  readonly parallelizationFactor: number;
  /**
   * Reserved concurrency of the function, at least 1; the ceiling is the account's quota less 100. The mapping runs at most shards × `parallelizationFactor` invocations
   * at once (plus a sweeper's one); reserving takes that many from the account's pool, and Lambda always keeps 100
   * unreserved, so a new account (quota 10) can reserve nothing. @default unset: no reservation
   */
  readonly reservedConcurrency?: number;
  /** Lambda retries of a failed batch (the event source mapping's `retryAttempts`), 0-10000. @default 10 */
  readonly retryAttempts: number;
  /**
   * Oldest record the mapping still invokes the function with, seconds: -1 (no limit) or 60-604800. Lambda checks it
   * before invoking: an older record goes to the on-failure bucket unread, so a consumer paused longer than this, or
   * a replay reaching further back, loses records to it. Must cover the replay window, and exceed `timeoutSeconds` (a
   * batch that ran out its timeout is retried only while younger than the limit). @default -1
   */
  readonly maxRecordAgeSeconds: number;
  /** Function memory, MB, 128-10240. @default 512 */
  readonly memorySize: number;
  /**
   * Function timeout, seconds, 10-900, and more than the consumer's 3 s retry reserve plus one `delivery.maxDelayMs`
   * backoff, so at least one full backoff fits before the reserve. @default 120
   */
  readonly timeoutSeconds: number;
  /**
   * The adapter's retry budget inside one invocation: `maxAttempts` 1-100 (@default 6), `baseDelayMs` 0-60000
   * (@default 100), `maxDelayMs` 0-300000 and at least `baseDelayMs` (@default 5000).
   */
  readonly delivery: { readonly maxAttempts: number; readonly baseDelayMs: number; readonly maxDelayMs: number };
  /** How long an account may wait for a missing version, seconds, 1-31622400 (366 days). @default 900 */
  readonly maxGapAgeSeconds: number;
  /** Where the EFO consumer starts reading. @default 'TRIM_HORIZON' (for every epoch, the live one included) */
  readonly startingPosition: StartingPosition;
  /**
   * ISO 8601 time with a time zone (`Z` or `±hh:mm`), e.g. `2025-01-31T12:00:00Z`; required with (and only with)
   * `AT_TIMESTAMP`.
   */
  readonly startingPositionTimestamp?: string;
  /**
   * Ledger epoch: 1-63 of `A-Za-z0-9._-`, starting with a letter or digit. Changing it replaces the destination's EFO
   * consumer and event source mapping (their logical ids contain it). @default 'live'
   */
  readonly epoch: string;
  /**
   * ISO 8601 time with a time zone; only with an epoch other than `live`. Changes created before it are delivered as
   * replays (`replay: true`), later ones as live changes: `fanout replay --apply` sets it to when it ran, so a replay
   * epoch that has caught up with the present carries on as the live feed (`EPOCH_REPLAY_BEFORE`). @default unset:
   * every delivery of a non-live epoch is a replay
   */
  readonly replayBefore?: string;
  /**
   * ISO 8601 time with a time zone; only with `AT_TIMESTAMP` and an epoch other than `live`, at or after
   * `startingPositionTimestamp`: where the replay's window starts when its mapping starts reading earlier (`fanout replay`
   * reads from `REPLAY_READ_MARGIN_SECONDS` before it, for writers whose clocks run ahead). @default
   * `startingPositionTimestamp`
   */
  readonly replayFrom?: string;
  readonly alarms: AlarmThresholds;
}

/** A destination resource: created by the stack, or imported (a neighbouring team's) by ARN or endpoint. */
export interface AuditSettings extends DestinationSettings {
  /** Import this bucket instead of creating one: `arn:<partition>:s3:::<bucket>`. */
  readonly bucketArn?: string;
  /**
   * With `bucketArn`: the KMS key the imported bucket encrypts with by default (SSE-KMS), possibly in the owner's
   * account, `arn:<partition>:kms:<region>:<account>:key/<id>`. Our role gets `kms:GenerateDataKey` on it; the key's
   * owner must allow our role in the key policy too. @default unset: the bucket uses SSE-S3 (or its owner grants)
   */
  readonly bucketKeyArn?: string;
  /** Object Lock default retention (governance mode) of a created bucket, days, 1-36500. @default 2555 (7 years) */
  readonly objectLockDays: number;
  /**
   * Days after which a created bucket moves objects over 128 KB to Glacier Instant Retrieval (smaller ones stay: it
   * bills an object as 128 KB at least), 1-3650. @default 90
   */
  readonly transitionDays: number;
}

export interface SearchSettings extends DestinationSettings {
  /**
   * Import this domain (both required together): its `https://` endpoint (a bare origin: no path, query or
   * credentials) and its ARN, `arn:<partition>:es:<region>:<account>:domain/<name>`.
   */
  readonly domainEndpoint?: string;
  readonly domainArn?: string;
  /** An OpenSearch index name: lower case, 1-255 characters, no `\ / * ? " < > | , # :` or space. @default 'accounts' */
  readonly index: string;
  /**
   * Data nodes of a created domain, 1-10. Zone awareness follows from it (`searchZones`): 1 node, 1 zone; a multiple
   * of 3, 3 zones; else a multiple of 2, 2 zones; other counts (5, 7) are refused, as OpenSearch needs the node count
   * to be a multiple of the zone count. @default 2
   */
  readonly dataNodes: number;
  /**
   * `<family>.<size>.search`, e.g. `r6g.large.search`. Families with local storage (i3, i4g, i4i, im4gn, r6gd, r7gd)
   * get no EBS volume. @default 't3.small.search' (not for production: burstable, 20 GiB)
   */
  readonly instanceType: string;
  /** Dedicated cluster-manager (master) nodes of a created domain: 0, 3 or 5. @default 0 */
  readonly masterNodes: number;
  /** Instance type of the dedicated masters, `<family>.<size>.search`; only with `masterNodes`. @default 'm6g.large.search' */
  readonly masterInstanceType: string;
}

export interface FraudSettings extends DestinationSettings {
  /** Import this bus instead of creating one: `arn:<partition>:events:<region>:<account>:event-bus/<name>`. */
  readonly eventBusArn?: string;
  /** Archive retention of a created bus, days, 1-3650 (0: keep forever). @default 365 */
  readonly archiveRetentionDays: number;
}

/**
 * A plug-in destination of the configuration (`plugins.<name>`), e.g.
 * `"plugins": { "ledger-queue": { "options": { "maxReceiveCount": 3 }, "settings": { "batchSize": 50 } } }`.
 */
export interface PluginConfig {
  /** The plug-in's own options (its `InfraPlugin`'s `Options`): checked by its `parseOptions` where the stack resolves it. @default {} */
  readonly options: Readonly<Record<string, unknown>>;
  /** The settings every destination has, merged over the same defaults and checked like `destinations.<d>`. */
  readonly settings: DestinationSettings;
}

export interface PipelineConfig {
  /** Emails subscribed to the alarm topic, each distinct. @default [] */
  readonly alarmEmails: readonly string[];
  readonly accountsTable: {
    /** @default 'PAY_PER_REQUEST' */
    readonly billingMode: 'PAY_PER_REQUEST' | 'PROVISIONED';
    /** With PROVISIONED, 1-40000 (checked, and ignored, with PAY_PER_REQUEST too). @default 5 */
    readonly readCapacity: number;
    /** With PROVISIONED, 1-40000 (checked, and ignored, with PAY_PER_REQUEST too). @default 5 */
    readonly writeCapacity: number;
  };
  readonly stream: {
    /** @default 'ON_DEMAND' */
    readonly mode: 'ON_DEMAND' | 'PROVISIONED';
    /** With PROVISIONED, 1-500 (checked, and ignored, with ON_DEMAND too). @default 2 */
    readonly shardCount: number;
    /** Hours, 24-8760. @default 8760 (365 days) */
    readonly retentionHours: number;
  };
  readonly destinations: {
    readonly audit: AuditSettings;
    readonly search: SearchSettings;
    readonly fraud: FraudSettings;
  };
  /**
   * Plug-in destinations by plug-in name, each fed like a built-in; the app resolves the names (the bundled app: the
   * plug-ins of `destinations/registry.ts`). @default none (the key is absent)
   */
  readonly plugins?: Readonly<Record<string, PluginConfig>>;
}

export class PipelineConfigError extends Error {
  constructor(
    readonly path: string,
    message: string,
  ) {
    super(`${path}: ${message}`);
    this.name = 'PipelineConfigError';
  }
}
