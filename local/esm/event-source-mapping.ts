import { setMaxListeners } from 'node:events';
import { ShardCheckpoint } from './esm-checkpoint';
import { ShardLanes } from './esm-lanes';
import { maxRecordAgeMs, validateOptions } from './esm-settings';
import { DEFAULT_BACKOFF } from './retry-policy';
import { ShardProcessor } from './shard-processor';
import { ShardReader } from './shard-reader';
import { firstShards, listShards, ShardGenerations, type ChildShard } from './shard-generations';
import type { LocalEventSourceMappingOptions, MappingStats } from './types';
import { Gate, sleep } from './wait';

interface Shard {
  readonly reader: ShardReader;
  readonly checkpoint: ShardCheckpoint;
  readonly tasks: Promise<void>;
}

const DRAIN_POLL_MS = 25;
/** How often the mapping lists the shards, to find a shard closed by a reshard and its children (`ShardReader.end`). */
const SHARD_SYNC_MS = 1_000;

/**
 * A local stand-in for a Lambda event source mapping on a Kinesis enhanced fan-out consumer: one SubscribeToShard
 * reader per shard and `ParallelizationFactor` in-order invokers (lanes, by partition key) per shard, shards side by
 * side, with Lambda's batching window, partial batch responses (`ReportBatchItemFailures` on),
 * `BisectBatchOnFunctionError`, `MaximumRetryAttempts`, `MaximumRecordAgeInSeconds` (checked before every
 * invocation) and an on-failure destination. Its settings are validated against the ranges AWS accepts.
 */
export class LocalEventSourceMapping {
  readonly stats: MappingStats = {
    invocations: 0,
    records: 0,
    retries: 0,
    bisections: 0,
    sentToOnFailure: 0,
    expiredBeforeInvoke: 0,
    onFailureErrors: 0,
    onFailureDropped: 0,
    checkpoints: {},
    subscriptions: 0,
  };
  readonly #options: LocalEventSourceMappingOptions;
  readonly #stop = new AbortController();
  readonly #shards = new Map<string, Shard>();
  readonly #generations = new ShardGenerations();
  /** Closed shards whose children were started (or found waiting for another parent). */
  readonly #handedOff = new Set<string>();
  /** Shards the listing showed closed, with when it first did. */
  readonly #closedSeen = new Map<string, number>();
  #sync: Promise<void> | undefined;
  #state: 'new' | 'starting' | 'running' | 'stopped' = 'new';
  #stopped: Promise<void> | undefined;
  /** `Enabled`: closed while the mapping is disabled. */
  readonly #enabled: Gate;
  /** Whether the shards were listed and their readers started (a mapping created disabled does that when enabled). */
  #begun: Promise<void> | undefined;
  #readersStarted = false;

  constructor(options: LocalEventSourceMappingOptions) {
    validateOptions(options);
    this.#options = options;
    this.#enabled = new Gate(options.settings.enabled !== false);
    // Every shard's reader and every lane waits on the one stop signal: up to 10 lanes a shard, many shards.
    setMaxListeners(0, this.#stop.signal);
  }

  /**
   * Lists the shards, subscribes to each from the starting position and begins delivering. A mapping created disabled
   * (`enabled: false`) reads and invokes nothing until `setEnabled(true)`, as AWS's.
   */
  async start(): Promise<void> {
    if (this.#state !== 'new') throw new Error(`the mapping was already ${this.#state === 'stopped' ? 'stopped' : 'started'}`);
    this.#state = 'starting';
    if (this.#enabled.open) await this.#begin();
    if (this.#stop.signal.aborted) return;
    this.#state = 'running';
  }

  /** Whether the mapping is enabled (Lambda's `Enabled`). */
  get enabled(): boolean {
    return this.#enabled.open;
  }

  /**
   * Lambda's UpdateEventSourceMapping `Enabled`: false stops the processing of records after the invocation in flight
   * (a batch being retried waits too); true resumes it after the last record processed, or, for a mapping that was
   * never enabled, starts reading from its starting position.
   */
  async setEnabled(enabled: boolean): Promise<void> {
    this.#enabled.set(enabled);
    if (enabled && this.#state === 'running') await this.#begin();
  }

  #begin(): Promise<void> {
    this.#begun ??= (async () => {
      const listed = await listShards(this.#options.client, this.#options.streamArn);
      if (this.#stop.signal.aborted) return;
      for (const shardId of firstShards(listed, this.#options.settings.startingPosition)) this.#startShard(shardId, this.#options.settings);
      this.#sync = this.#syncShardsUntilStopped();
      this.#readersStarted = true;
    })();
    return this.#begun;
  }

  /** One shard's reader and lanes; `settings` gives its starting position (a reshard's child: TRIM_HORIZON). */
  #startShard(shardId: string, settings: LocalEventSourceMappingOptions['settings']): void {
    if (this.#stop.signal.aborted || this.#shards.has(shardId)) return;
    this.#generations.started(shardId);
    const region = this.#options.streamArn.split(':')[3] || 'us-east-1';
    const factor = this.#options.settings.parallelizationFactor ?? 1;
    const checkpoint = new ShardCheckpoint((sequenceNumber) => {
      this.stats.checkpoints[shardId] = sequenceNumber;
    });
    const lanes = new ShardLanes(factor, checkpoint);
    const reader = new ShardReader({
      client: this.#options.client,
      consumerArn: this.#options.consumerArn,
      shardId,
      settings,
      ...(this.#options.subscriptionMaxMs !== undefined ? { subscriptionMaxMs: this.#options.subscriptionMaxMs } : {}),
      onRecords: (records) => {
        this.#options.onReceived?.(records, Date.now());
        lanes.push(records);
      },
      onSubscribed: () => {
        this.stats.subscriptions += 1;
      },
      onError: (error) => this.#options.onSubscriptionError?.(shardId, error),
      signal: this.#stop.signal,
    });
    const processors = lanes.buffers.map(
      (buffer, lane) =>
        new ShardProcessor({
          shardId,
          lane,
          region,
          buffer,
          checkpoint,
          mapping: this.#options,
          maxRecordAgeMs: maxRecordAgeMs(this.#options),
          backoff: this.#options.retryBackoff ?? DEFAULT_BACKOFF,
          stats: this.stats,
          signal: this.#stop.signal,
          enabled: this.#enabled,
        }),
    );
    const read = reader.run().then((children) => this.#handOff(shardId, reader, checkpoint, children));
    const tasks = Promise.all([read, ...processors.map((processor) => processor.run())]).then(() => undefined);
    this.#shards.set(shardId, { reader, checkpoint, tasks });
  }

  /**
   * A shard closed by a reshard: once every record read from it has settled (delivered or sent to on-failure), as
   * Lambda finishes a parent before its children, the children whose parents have all finished start from their start.
   */
  async #handOff(shardId: string, reader: ShardReader, checkpoint: ShardCheckpoint, children: readonly ChildShard[]): Promise<void> {
    if (children.length === 0) return;
    const last = reader.lastReceived;
    while (last !== undefined && !checkpoint.reached(last) && !this.#stop.signal.aborted) await sleep(DRAIN_POLL_MS, this.#stop.signal);
    if (this.#stop.signal.aborted) return;
    const childSettings = { ...this.#options.settings, startingPosition: 'TRIM_HORIZON' as const };
    for (const child of this.#generations.finished(shardId, children)) this.#startShard(child, childSettings);
    this.#handedOff.add(shardId);
  }

  async #syncShardsUntilStopped(): Promise<void> {
    while (!this.#stop.signal.aborted) {
      await sleep(SHARD_SYNC_MS, this.#stop.signal);
      if (!this.#stop.signal.aborted) await this.#syncShards();
    }
  }

  /**
   * Ends the reading of every started shard the listing shows closed once its reader has caught up since (nothing more
   * can come), handing it its children: what AWS's last event of a closed shard does, and kinesis-mock's does not.
   */
  async #syncShards(): Promise<void> {
    let listed;
    try {
      listed = await listShards(this.#options.client, this.#options.streamArn);
    } catch (error) {
      this.#options.onSubscriptionError?.('(ListShards)', error);
      return;
    }
    for (const shard of listed) {
      const started = this.#shards.get(shard.shardId);
      if (shard.open || started === undefined || started.reader.ended) continue;
      const seen = this.#closedSeen.get(shard.shardId) ?? Date.now();
      this.#closedSeen.set(shard.shardId, seen);
      if (started.reader.tipSince(seen) === undefined) continue;
      started.reader.end(listed.filter((child) => child.parents.includes(shard.shardId)).map(({ shardId, parents }) => ({ shardId, parents })));
    }
  }

  /**
   * Resolves once every shard has delivered (or sent to on-failure) everything the stream held when `drain` was
   * called, or when `timeoutMs` passes; returns whether it caught up. A shard's tip is read from the subscription
   * itself (see `ShardReader.tipSince`), so a drain takes at least two subscription events (~2 s on kinesis-mock).
   */
  async drain(timeoutMs: number): Promise<boolean> {
    if (this.#state === 'new') throw new Error('start the mapping before draining it');
    const since = Date.now();
    const deadline = since + timeoutMs;
    const targets = new Map<string, string | undefined>();
    // What was put may be on shards a reshard made: know which shards are closed before judging any caught up.
    await this.#syncShards();
    for (;;) {
      // A closed shard whose children have not started yet: what they hold is not read yet.
      // A shard a reshard closed holds up the drain until its children started: what they hold is not read before.
      // A disabled mapping delivers nothing: it never catches up (nor does one not begun yet).
      let caughtUp = this.#state === 'running' && this.#enabled.open && this.#readersStarted && [...this.#shards].every(([id, shard]) => this.#handedOff.has(id) || !(shard.reader.ended || this.#closedSeen.has(id)));
      for (const [shardId, shard] of this.#shards) {
        if (!targets.has(shardId)) {
          const tip = shard.reader.tipSince(since);
          if (tip === undefined) {
            caughtUp = false;
            continue;
          }
          targets.set(shardId, tip.lastSequenceNumber);
        }
        const target = targets.get(shardId);
        if (target !== undefined && !shard.checkpoint.reached(target)) caughtUp = false;
      }
      if (caughtUp) return true;
      if (Date.now() >= deadline || this.#stop.signal.aborted) return false;
      await sleep(Math.min(DRAIN_POLL_MS, deadline - Date.now()), this.#stop.signal);
    }
  }

  /** Ends the subscriptions and waits for the invocation (or on-failure delivery) in flight. Idempotent. */
  stop(): Promise<void> {
    this.#stopped ??= (async () => {
      this.#state = 'stopped';
      this.#stop.abort();
      await Promise.all([this.#sync, ...[...this.#shards.values()].map((shard) => shard.tasks)]);
    })();
    return this.#stopped;
  }
}
