import { setMaxListeners } from 'node:events';
import { ListShardsCommand, type KinesisClient } from '@aws-sdk/client-kinesis';
import { ShardCheckpoint } from './esm-checkpoint';
import { ShardLanes } from './esm-lanes';
import { maxRecordAgeMs, validateOptions } from './esm-settings';
import { DEFAULT_BACKOFF } from './retry-policy';
import { ShardProcessor } from './shard-processor';
import { ShardReader } from './shard-reader';
import type { LocalEventSourceMappingOptions, MappingStats } from './types';
import { sleep } from './wait';

interface Shard {
  readonly reader: ShardReader;
  readonly checkpoint: ShardCheckpoint;
  readonly tasks: Promise<void>;
}

const DRAIN_POLL_MS = 25;

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
  #state: 'new' | 'starting' | 'running' | 'stopped' = 'new';
  #stopped: Promise<void> | undefined;

  constructor(options: LocalEventSourceMappingOptions) {
    validateOptions(options);
    this.#options = options;
    // Every shard's reader and every lane waits on the one stop signal: up to 10 lanes a shard, many shards.
    setMaxListeners(0, this.#stop.signal);
  }

  /** Lists the shards, subscribes to each from the starting position and begins delivering. */
  async start(): Promise<void> {
    if (this.#state !== 'new') throw new Error(`the mapping was already ${this.#state === 'stopped' ? 'stopped' : 'started'}`);
    this.#state = 'starting';
    const shardIds = await listShardIds(this.#options.client, this.#options.streamArn);
    if (this.#stop.signal.aborted) return;
    const region = this.#options.streamArn.split(':')[3] || 'us-east-1';
    const factor = this.#options.settings.parallelizationFactor ?? 1;
    for (const shardId of shardIds) {
      const checkpoint = new ShardCheckpoint((sequenceNumber) => {
        this.stats.checkpoints[shardId] = sequenceNumber;
      });
      const lanes = new ShardLanes(factor, checkpoint);
      const reader = new ShardReader({
        client: this.#options.client,
        consumerArn: this.#options.consumerArn,
        shardId,
        settings: this.#options.settings,
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
          }),
      );
      const tasks = Promise.all([reader.run(), ...processors.map((processor) => processor.run())]).then(() => undefined);
      this.#shards.set(shardId, { reader, checkpoint, tasks });
    }
    this.#state = 'running';
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
    for (;;) {
      let caughtUp = this.#state === 'running';
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
      await Promise.all([...this.#shards.values()].map((shard) => shard.tasks));
    })();
    return this.#stopped;
  }
}

async function listShardIds(client: KinesisClient, streamArn: string): Promise<string[]> {
  const ids: string[] = [];
  let nextToken: string | undefined;
  do {
    const page = await client.send(
      new ListShardsCommand(nextToken === undefined ? { StreamARN: streamArn } : { NextToken: nextToken }),
    );
    for (const shard of page.Shards ?? []) if (shard.ShardId !== undefined) ids.push(shard.ShardId);
    nextToken = page.NextToken;
  } while (nextToken !== undefined);
  return ids;
}
