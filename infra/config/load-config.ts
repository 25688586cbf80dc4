import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Construct } from 'constructs';
import { LEDGER_NAME_PATTERN } from '../../shared/ledger/ledger-table';
import { LIVE_EPOCH } from '../../shared/ordering/delivery-mode';
import { deepFreeze, DEFAULT_PIPELINE_CONFIG, destinationDefaults } from './defaults';
import { DESTINATION_NAMES, PipelineConfigError } from './pipeline-config';
import type { AuditSettings, DestinationSettings, FraudSettings, PipelineConfig, PluginConfig, SearchSettings } from './pipeline-config';

/** Context key holding the configuration: an object, or the same as a JSON string (`cdk synth -c ordered-fanout=…`). */
export const CONFIG_CONTEXT_KEY = 'ordered-fanout';
/** Context key naming a JSON configuration file, relative to the working directory; excludes `CONFIG_CONTEXT_KEY`. */
export const CONFIG_FILE_CONTEXT_KEY = 'ordered-fanout:config-file';
/** Seconds the consumer keeps back from each invocation for giving up cleanly (`RETRY_RESERVE_MS` defaults to 3000). */
export const CONSUMER_RETRY_RESERVE_SECONDS = 3;
/** The path of an error about the configuration as a whole (it is not an object, or not JSON). */
export const ROOT_PATH = '(root)';

// ---- The schema: one spec per field of PipelineConfig, checked against the types by the compiler. ----

interface IntSpec { readonly kind: 'int'; readonly min: number; readonly max: number; readonly note?: string }
interface BoolSpec { readonly kind: 'bool' }
interface EnumSpec<T extends string = string> { readonly kind: 'enum'; readonly values: readonly T[] }
interface TextSpec { readonly kind: 'text'; readonly expected: string; readonly test: (value: string) => boolean }
interface ListSpec { readonly kind: 'list'; readonly expected: string; readonly item: TextSpec }
interface ObjectSpec<T> { readonly kind: 'object'; readonly fields: { readonly [K in keyof T]-?: Spec<NonNullable<T[K]>> } }
type Spec<T> = [T] extends [boolean] ? BoolSpec
  : [T] extends [number] ? IntSpec
  : [T] extends [string] ? (string extends T ? TextSpec : EnumSpec<T>)
  : [T] extends [readonly string[]] ? ListSpec
  : ObjectSpec<T>;
type AnySpec = IntSpec | BoolSpec | EnumSpec | TextSpec | ListSpec | { readonly kind: 'object'; readonly fields: Readonly<Record<string, AnySpec>> };

const int = (min: number, max: number, note?: string): IntSpec => ({ kind: 'int', min, max, ...(note === undefined ? {} : { note }) });
const bool: BoolSpec = { kind: 'bool' };
const oneOf = <T extends string>(...values: T[]): EnumSpec<T> => ({ kind: 'enum', values });
const text = (expected: string, pattern: RegExp | ((value: string) => boolean)): TextSpec => ({
  kind: 'text',
  expected,
  test: typeof pattern === 'function' ? pattern : (value) => pattern.test(value),
});
const object = <T>(fields: ObjectSpec<T>['fields']): ObjectSpec<T> => ({ kind: 'object', fields });

const PARTITION = 'aws(?:-[a-z]+)*';
const REGION = '[a-z]{2}(?:-[a-z]+)+-\\d{1,2}';
const ACCOUNT = '\\d{12}';
const BUCKET_ARN = new RegExp(`^arn:${PARTITION}:s3:::[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$`);
const KMS_KEY_ARN = new RegExp(`^arn:${PARTITION}:kms:${REGION}:${ACCOUNT}:key/[A-Za-z0-9-]{1,128}$`);
const EVENT_BUS_ARN = new RegExp(`^arn:${PARTITION}:events:${REGION}:${ACCOUNT}:event-bus/[A-Za-z0-9._/-]{1,256}$`);
const DOMAIN_ARN = new RegExp(`^arn:${PARTITION}:es:${REGION}:${ACCOUNT}:domain/[a-z][a-z0-9-]{2,27}$`);
const LABEL = '[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?';
const EMAIL = new RegExp(`^(?=.{3,254}$)[A-Za-z0-9.!#$%&'*+/=?^_\`{|}~-]{1,64}@${LABEL}(?:\\.${LABEL})+$`);
const INDEX_NAME = /^(?![-_+])(?!\.\.?$)[^A-Z\\/*?"<>|,#:\s]{1,255}$/;
const INSTANCE_TYPE = /^[a-z][a-z0-9-]*\.[a-z0-9]+\.search$/;
const ISO_TIME = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(?:Z|[+-](\d{2}):(\d{2}))$/;

/** A calendar-valid ISO 8601 date and time with a time zone; `Date.parse` alone accepts February 30th. */
export function isIsoTime(value: string): boolean {
  const m = ISO_TIME.exec(value);
  if (m === null) return false;
  const [year, month, day, hour, minute, second, offsetHours, offsetMinutes] = m.slice(1).map((part) => Number(part ?? 0));
  const daysInMonth = new Date(Date.UTC(year!, month!, 0)).getUTCDate();
  return month! >= 1 && month! <= 12 && day! >= 1 && day! <= daysInMonth && hour! <= 23 && minute! <= 59 && second! <= 59
    && offsetHours! <= 23 && offsetMinutes! <= 59 && !Number.isNaN(Date.parse(value));
}

/** An `https://` origin: no credentials, path, query or fragment. */
function isHttpsOrigin(value: string): boolean {
  if (!value.startsWith('https://')) return false;
  try {
    const url = new URL(value);
    return url.hostname !== '' && url.username === '' && url.password === '' && url.pathname === '/' && !/[?#]/.test(value);
  } catch {
    return false;
  }
}

const DESTINATION_FIELDS: ObjectSpec<DestinationSettings>['fields'] = {
  enabled: bool,
  batchSize: int(1, 10_000),
  maxBatchingWindowSeconds: int(0, 300),
  parallelizationFactor: int(1, 10),
  reservedConcurrency: int(1, 1_000),
  retryAttempts: int(0, 10_000),
  maxRecordAgeSeconds: int(-1, 604_800, ' (-1: no limit; otherwise at least 60)'),
  memorySize: int(128, 10_240),
  timeoutSeconds: int(10, 900),
  delivery: object<DestinationSettings['delivery']>({ maxAttempts: int(1, 100), baseDelayMs: int(0, 60_000), maxDelayMs: int(0, 300_000) }),
  maxGapAgeSeconds: int(1, 31_622_400),
  startingPosition: oneOf('LATEST', 'TRIM_HORIZON', 'AT_TIMESTAMP'),
  startingPositionTimestamp: text('an ISO 8601 time with a time zone, e.g. "2025-01-31T12:00:00Z"', isIsoTime),
  epoch: text("1-63 letters, digits, '.', '_' or '-', starting with a letter or digit", LEDGER_NAME_PATTERN),
  replayBefore: text('an ISO 8601 time with a time zone, e.g. "2025-01-31T12:00:00Z"', isIsoTime),
  alarms: object<DestinationSettings['alarms']>({
    iteratorAgeMs: int(1, 604_800_000),
    errors: int(1, 1_000_000),
    throttles: int(1, 1_000_000),
    deadLetters: int(1, 1_000_000),
    oldestParkedAgeSeconds: int(1, 31_622_400),
    parkedTooLong: int(1, 1_000_000),
    evaluationPeriods: int(1, 1_440),
  }),
};

// `plugins` is keyed by plug-in names the schema cannot list: `Checker.plugins` checks it.
const SCHEMA: ObjectSpec<Omit<PipelineConfig, 'plugins'>> = object<Omit<PipelineConfig, 'plugins'>>({
  alarmEmails: { kind: 'list', expected: 'an array of email addresses', item: text('an email address', EMAIL) },
  accountsTable: object<PipelineConfig['accountsTable']>({
    billingMode: oneOf('PAY_PER_REQUEST', 'PROVISIONED'),
    readCapacity: int(1, 40_000),
    writeCapacity: int(1, 40_000),
  }),
  stream: object<PipelineConfig['stream']>({ mode: oneOf('ON_DEMAND', 'PROVISIONED'), shardCount: int(1, 500), retentionHours: int(24, 8_760) }),
  destinations: object<PipelineConfig['destinations']>({
    audit: object<AuditSettings>({
      ...DESTINATION_FIELDS,
      bucketArn: text('an S3 bucket ARN, arn:<partition>:s3:::<bucket>', BUCKET_ARN),
      bucketKeyArn: text('a KMS key ARN, arn:<partition>:kms:<region>:<account>:key/<id>', KMS_KEY_ARN),
      objectLockDays: int(1, 36_500),
      transitionDays: int(1, 3_650),
    }),
    search: object<SearchSettings>({
      ...DESTINATION_FIELDS,
      domainEndpoint: text('an https:// URL without path, query or credentials', isHttpsOrigin),
      domainArn: text('an OpenSearch domain ARN, arn:<partition>:es:<region>:<account>:domain/<name>', DOMAIN_ARN),
      index: text('an OpenSearch index name (lower case, no \\ / * ? " < > | , # : or space, not starting with - _ +)', INDEX_NAME),
      dataNodes: int(1, 10),
      instanceType: text('an OpenSearch instance type, <family>.<size>.search', INSTANCE_TYPE),
      masterNodes: int(0, 5, ' (0, 3 or 5)'),
      masterInstanceType: text('an OpenSearch instance type, <family>.<size>.search', INSTANCE_TYPE),
    }),
    fraud: object<FraudSettings>({
      ...DESTINATION_FIELDS,
      eventBusArn: text('an event bus ARN, arn:<partition>:events:<region>:<account>:event-bus/<name>', EVENT_BUS_ARN),
      archiveRetentionDays: int(0, 3_650, ' (0: keep forever)'),
    }),
  }),
});

/**
 * The availability zones a created search domain spreads over: OpenSearch needs the data node count to be a multiple
 * of the zone count, so 1 node → 1 zone, multiples of 3 → 3 zones (every region this stack deploys to has three), other
 * even counts → 2 zones; undefined for counts no zone layout takes (5, 7).
 */
export function searchZones(dataNodes: number): 1 | 2 | 3 | undefined {
  if (dataNodes === 1) return 1;
  if (dataNodes % 3 === 0) return 3;
  if (dataNodes % 2 === 0) return 2;
  return undefined;
}

/** Instance families whose nodes have local storage: OpenSearch refuses an EBS volume on them. */
export function hasInstanceStorage(instanceType: string): boolean {
  return /^(i3|i4g|i4i|im4gn|r6gd|r7gd)\./.test(instanceType);
}

// ---- Merging and checking ----

/** How a given value reads in an error message. */
function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return JSON.stringify(value.length > 100 ? `${value.slice(0, 100)}…` : value);
  if (typeof value === 'object') return 'an object';
  return String(value);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length]!;
}

/** The known key `key` was probably meant as: same but for case, else the nearest within a third of its length. */
function suggest(key: string, known: readonly string[]): string | undefined {
  const sameCase = known.find((candidate) => candidate.toLowerCase() === key.toLowerCase());
  if (sameCase !== undefined) return sameCase;
  const ranked = known.map((candidate) => ({ candidate, distance: editDistance(key.toLowerCase(), candidate.toLowerCase()) }));
  ranked.sort((a, b) => a.distance - b.distance);
  const best = ranked[0];
  return best !== undefined && best.distance <= Math.max(1, Math.floor(key.length / 3)) ? best.candidate : undefined;
}

const join = (path: string, key: string): string => (path === '' ? key : `${path}.${key}`);

class Checker {
  constructor(
    private readonly source: string,
    private readonly now: number,
  ) {}

  fail(path: string, message: string): never {
    throw new PipelineConfigError(path, `${message} (from ${this.source})`);
  }

  /** `raw` merged over `base` (a valid default, or undefined for an unset optional field), checked against `spec`. */
  value(spec: AnySpec, base: unknown, raw: unknown, path: string): unknown {
    if (raw === undefined) return base;
    const got = `got ${describe(raw)}`;
    switch (spec.kind) {
      case 'object':
        return this.object(spec.fields, isPlainObject(base) ? base : {}, raw, path);
      case 'bool':
        if (typeof raw !== 'boolean') this.fail(path, `must be true or false, ${got}`);
        return raw;
      case 'int':
        if (typeof raw !== 'number' || !Number.isInteger(raw) || raw < spec.min || raw > spec.max) {
          this.fail(path, `must be an integer between ${spec.min} and ${spec.max}${spec.note ?? ''}, ${got}`);
        }
        return raw;
      case 'enum':
        if (typeof raw !== 'string' || !spec.values.includes(raw)) this.fail(path, `must be one of ${spec.values.map((v) => `"${v}"`).join(', ')}, ${got}`);
        return raw;
      case 'text':
        if (typeof raw !== 'string' || !spec.test(raw)) this.fail(path, `must be ${spec.expected}, ${got}`);
        return raw;
      case 'list': {
        if (!Array.isArray(raw)) this.fail(path, `must be ${spec.expected}, ${got}`);
        const items = raw.map((item: unknown, i) => this.value(spec.item, undefined, item ?? null, `${path}[${i}]`));
        items.forEach((item, i) => {
          const first = items.indexOf(item);
          if (first < i) this.fail(`${path}[${i}]`, `must not repeat ${path}[${first}], got ${describe(item)} twice`);
        });
        return items;
      }
    }
  }

  object(fields: Readonly<Record<string, AnySpec>>, base: Record<string, unknown>, raw: unknown, path: string): Record<string, unknown> {
    if (!isPlainObject(raw)) this.fail(path === '' ? ROOT_PATH : path, `must be an object, got ${describe(raw)}`);
    const known = Object.keys(fields);
    for (const key of Object.keys(raw)) {
      if (Object.hasOwn(fields, key)) continue;
      const guess = suggest(key, known);
      this.fail(join(path, key), guess === undefined ? `unknown setting; expected one of ${known.join(', ')}` : `unknown setting; did you mean ${guess}?`);
    }
    const merged: Record<string, unknown> = {};
    for (const [key, spec] of Object.entries(fields)) {
      const value = this.value(spec, base[key], raw[key], join(path, key));
      if (value !== undefined) merged[key] = value;
    }
    return merged;
  }

  /** Rules between fields of one destination, checked after merging. */
  destination(path: string, settings: DestinationSettings, retentionHours: number): void {
    const { delivery, timeoutSeconds, startingPosition, startingPositionTimestamp, epoch, replayBefore } = settings;
    this.recordAge(path, settings, retentionHours);
    if (delivery.maxDelayMs < delivery.baseDelayMs) {
      this.fail(`${path}.delivery.maxDelayMs`, `must be at least delivery.baseDelayMs (${delivery.baseDelayMs}), got ${delivery.maxDelayMs}`);
    }
    const minimumTimeout = Math.floor(CONSUMER_RETRY_RESERVE_SECONDS + delivery.maxDelayMs / 1000) + 1;
    if (timeoutSeconds < minimumTimeout) {
      const rule = `must exceed the consumer's ${CONSUMER_RETRY_RESERVE_SECONDS} s retry reserve plus one delivery.maxDelayMs backoff`;
      this.fail(`${path}.timeoutSeconds`, `${rule} (${delivery.maxDelayMs} ms), i.e. be at least ${minimumTimeout}, got ${timeoutSeconds}`);
    }
    if (startingPosition === 'AT_TIMESTAMP' && startingPositionTimestamp === undefined) {
      this.fail(`${path}.startingPositionTimestamp`, 'is required when startingPosition is "AT_TIMESTAMP", got nothing');
    }
    if (startingPosition !== 'AT_TIMESTAMP' && startingPositionTimestamp !== undefined) {
      const got = `got ${describe(startingPositionTimestamp)} with "${startingPosition}"`;
      this.fail(`${path}.startingPositionTimestamp`, `is only allowed when startingPosition is "AT_TIMESTAMP", ${got}`);
    }
    if (replayBefore !== undefined && epoch === LIVE_EPOCH.id) {
      this.fail(`${path}.replayBefore`, `is only allowed with a replay epoch (not "${LIVE_EPOCH.id}"), got ${describe(replayBefore)} with epoch "${epoch}"`);
    }
  }

  /**
   * Lambda checks a record's age before it invokes: a replay reaching further back than `maxRecordAgeSeconds` would
   * send its oldest records to the on-failure bucket unread. So the mapping's limit must cover the replay window.
   */
  recordAge(path: string, settings: DestinationSettings, retentionHours: number): void {
    const { maxRecordAgeSeconds: maxAge, startingPosition, startingPositionTimestamp, epoch } = settings;
    if (maxAge >= 0 && maxAge < 60) {
      this.fail(`${path}.maxRecordAgeSeconds`, `must be -1 (no limit) or between 60 and 604800, as Lambda allows, got ${maxAge}`);
    }
    if (maxAge === -1) return;
    let window: number | undefined;
    let what = '';
    if (startingPosition === 'AT_TIMESTAMP' && startingPositionTimestamp !== undefined) {
      window = Math.ceil((this.now - Date.parse(startingPositionTimestamp)) / 1000);
      what = `the replay from ${startingPositionTimestamp} reaches ${window} s back`;
    } else if (startingPosition === 'TRIM_HORIZON' && epoch !== LIVE_EPOCH.id) {
      window = retentionHours * 3600;
      what = `the replay from TRIM_HORIZON reaches the stream's retention, ${window} s back`;
    }
    if (window !== undefined && window > maxAge) {
      this.fail(`${path}.maxRecordAgeSeconds`, `must cover the replay window (${what}; Lambda would send older records to the on-failure bucket unread): use -1 (no limit), got ${maxAge}`);
    }
  }

  /** OpenSearch's own rules between the sizes of a created domain, refused here rather than by a failed deploy. */
  searchDomain(path: string, settings: SearchSettings): void {
    if (settings.domainArn !== undefined) return;
    const { dataNodes, masterNodes, instanceType } = settings;
    if (searchZones(dataNodes) === undefined) {
      this.fail(`${path}.dataNodes`, `must be 1, or a multiple of 2 or 3 (the node count must be a multiple of the availability zones it spreads over), got ${dataNodes}`);
    }
    if (![0, 3, 5].includes(masterNodes)) this.fail(`${path}.masterNodes`, `must be 0, 3 or 5 (a cluster-manager quorum), got ${masterNodes}`);
    // The stack always encrypts at rest and node to node (fine-grained access control needs both); t2 supports neither.
    for (const [field, type] of [['instanceType', instanceType], ['masterInstanceType', settings.masterInstanceType]] as const) {
      if (type.startsWith('t2.')) this.fail(`${path}.${field}`, `must not be a t2 type (no encryption at rest, which the domain always has), got ${describe(type)}`);
    }
  }

  /** `plugins`: per name, its options (any JSON object, the plug-in's) and its settings, checked like a built-in's. */
  plugins(raw: unknown, retentionHours: number): Record<string, PluginConfig> {
    if (!isPlainObject(raw)) this.fail('plugins', `must be an object of plug-in destinations by name, got ${describe(raw)}`);
    return Object.fromEntries(
      Object.entries(raw).map(([name, entry]) => {
        const path = `plugins.${name}`;
        if ((DESTINATION_NAMES as readonly string[]).includes(name)) this.fail(path, `is a built-in destination: configure it under destinations.${name}`);
        const { options = {}, settings: rawSettings, ...unknown } = isPlainObject(entry) ? entry : this.fail(path, `must be an object, got ${describe(entry)}`);
        for (const key of Object.keys(unknown)) {
          const guess = suggest(key, ['options', 'settings']);
          this.fail(join(path, key), guess === undefined ? 'unknown setting; expected one of options, settings' : `unknown setting; did you mean ${guess}?`);
        }
        if (!isPlainObject(options)) this.fail(`${path}.options`, `must be an object, got ${describe(options)}`);
        const settings = this.object(DESTINATION_FIELDS, destinationDefaults() as unknown as Record<string, unknown>, rawSettings ?? {}, `${path}.settings`);
        this.destination(`${path}.settings`, settings as unknown as DestinationSettings, retentionHours);
        return [name, { options, settings: settings as unknown as DestinationSettings }];
      }),
    );
  }

  audit(path: string, { bucketArn, bucketKeyArn }: AuditSettings): void {
    if (bucketKeyArn !== undefined && bucketArn === undefined) {
      this.fail(`${path}.bucketKeyArn`, `is only for an imported bucket (set bucketArn; a created bucket has its own key), got ${describe(bucketKeyArn)}`);
    }
  }

  search(path: string, { domainEndpoint, domainArn }: SearchSettings): void {
    if (domainEndpoint !== undefined && domainArn === undefined) {
      this.fail(`${path}.domainArn`, `is required with domainEndpoint (both or neither), got nothing`);
    }
    if (domainArn !== undefined && domainEndpoint === undefined) {
      this.fail(`${path}.domainEndpoint`, `is required with domainArn (both or neither), got nothing`);
    }
  }
}

/**
 * Merges `raw` (a partial, JSON-shaped configuration, or undefined) over `DEFAULT_PIPELINE_CONFIG` and checks every
 * value. Objects merge field by field; arrays replace. Throws the first `PipelineConfigError` found; its message names
 * `source`. Returns a deeply frozen configuration.
 */
export function parsePipelineConfig(raw: unknown, source: string, now: number = Date.now()): PipelineConfig {
  const checker = new Checker(source, now);
  const { plugins, ...rest } = isPlainObject(raw) ? raw : { plugins: undefined };
  const defaults = DEFAULT_PIPELINE_CONFIG as unknown as Record<string, unknown>;
  const merged = checker.object(SCHEMA.fields, defaults, isPlainObject(raw) ? rest : raw === undefined ? {} : raw, '');
  const config = merged as unknown as PipelineConfig;
  for (const name of DESTINATION_NAMES) checker.destination(`destinations.${name}`, config.destinations[name], config.stream.retentionHours);
  checker.search('destinations.search', config.destinations.search);
  checker.audit('destinations.audit', config.destinations.audit);
  checker.searchDomain('destinations.search', config.destinations.search);
  return deepFreeze(plugins === undefined ? config : { ...config, plugins: checker.plugins(plugins, config.stream.retentionHours) });
}

/**
 * A plug-in destination's settings (those every destination has), merged over the defaults and checked as a built-in's
 * are: a wrong value fails synth with `destinations.<name>.<field>: ...`. Returns them deeply frozen.
 */
export function parseDestinationSettings(raw: unknown, name: string, source: string, retentionHours: number, now: number = Date.now()): DestinationSettings {
  const checker = new Checker(source, now);
  const path = `destinations.${name}`;
  const settings = checker.object(DESTINATION_FIELDS, destinationDefaults() as unknown as Record<string, unknown>, raw === undefined ? {} : raw, path);
  checker.destination(path, settings as unknown as DestinationSettings, retentionHours);
  return deepFreeze(settings as unknown as DestinationSettings);
}

const reasonOf = (error: unknown): string => (error instanceof Error ? error.message : String(error));

function parseJson(text: string, source: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new PipelineConfigError(ROOT_PATH, `must be valid JSON, got ${describe(text)} (${reasonOf(error)}) (from ${source})`);
  }
}

/**
 * The configuration of the app `scope` belongs to: the context value `ordered-fanout` (an object, or a JSON string),
 * or the JSON file named by the context value `ordered-fanout:config-file` (relative to `process.cwd()`); setting both
 * is an error, setting neither gives the defaults.
 */
export function readPipelineConfig(scope: Construct): PipelineConfig {
  const inline: unknown = scope.node.tryGetContext(CONFIG_CONTEXT_KEY);
  const file: unknown = scope.node.tryGetContext(CONFIG_FILE_CONTEXT_KEY);
  const contextSource = `CDK context "${CONFIG_CONTEXT_KEY}"`;
  if (file === undefined) {
    return parsePipelineConfig(typeof inline === 'string' ? parseJson(inline, contextSource) : inline, contextSource);
  }
  const fileSource = `CDK context "${CONFIG_FILE_CONTEXT_KEY}"`;
  if (inline !== undefined) {
    const message = `must not be set together with context "${CONFIG_CONTEXT_KEY}" (set one or the other), got both`;
    throw new PipelineConfigError(CONFIG_FILE_CONTEXT_KEY, `${message} (from ${fileSource})`);
  }
  if (typeof file !== 'string' || file.trim() === '') {
    throw new PipelineConfigError(CONFIG_FILE_CONTEXT_KEY, `must be the path of a JSON file, got ${describe(file)} (from ${fileSource})`);
  }
  const fullPath = resolve(process.cwd(), file);
  let content: string;
  try {
    content = readFileSync(fullPath, 'utf8');
  } catch (error) {
    const reason = reasonOf(error);
    throw new PipelineConfigError(CONFIG_FILE_CONTEXT_KEY, `must name a readable file, got ${describe(file)} (${reason}) (from ${fileSource})`);
  }
  const source = `config file "${fullPath}", named by ${fileSource}`;
  return parsePipelineConfig(parseJson(content, source), source);
}
