import { ListShardsCommand, type KinesisClient } from '@aws-sdk/client-kinesis';
import { RecordBuffer } from './record-buffer';
import { DEFAULT_BACKOFF } from './retry-policy';
import { ShardProcessor } from './shard-processor';
import { ShardReader } from './shard-reader';
import type { EventSourceMappingSettings, LocalEventSourceMappingOptions, MappingStats } from './types';
import { sleep } from './wait';

interface Shard {
  readonly reader: ShardReader;
  readonly processor: ShardProcessor;
  readonly tasks: Promise<void>;
}

const DRAIN_POLL_MS = 25;

/**
 * A local stand-in for a Lambda event source mapping on a Kinesis enhanced fan-out consumer: one SubscribeToShard
 * reader and one in-order invoker per shard (parallelization factor 1), shards side by side, with Lambda's batching
 * window, partial batch responses (`ReportBatchItemFailures` on), `BisectBatchOnFunctionError`,
 * `MaximumRetryAttempts`, `MaximumRecordAgeInSeconds` and an on-failure destination.
 */
export class LocalEventSourceMapping {
  readonly stats: MappingStats = {
    invocations: 0,
    records: 0,
    retries: 0,
    bisections: 0,
    sentToOnFailure: 0,
    checkpoints: {},
    subscriptions: 0,
  };
  readonly #options: LocalEventSourceMappingOptions;
  readonly #stop = new AbortController();
  readonly #shards = new Map<string, Shard>();
  #state: 'new' | 'starting' | 'running' | 'stopped' = 'new';
  #stopped: Promise<void> | undefined;

  constructor(options: LocalEventSourceMappingOptions) {
    validateSettings(options.settings);
    this.#options = options;
  }

  /** Lists the shards, subscribes to each from the starting position and begins delivering. */
  async start(): Promise<void> {
    if (this.#state !== 'new') throw new Error(`the mapping was already ${this.#state === 'stopped' ? 'stopped' : 'started'}`);
    this.#state = 'starting';
    const shardIds = await listShardIds(this.#options.client, this.#options.streamArn);
    if (this.#stop.signal.aborted) return;
    const region = this.#options.streamArn.split(':')[3] || 'us-east-1';
    for (const shardId of shardIds) {
      const buffer = new RecordBuffer();
      const reader = new ShardReader({
        client: this.#options.client,
        consumerArn: this.#options.consumerArn,
        shardId,
        settings: this.#options.settings,
        ...(this.#options.subscriptionMaxMs !== undefined ? { subscriptionMaxMs: this.#options.subscriptionMaxMs } : {}),
        onRecords: (records) => buffer.push(records),
        onSubscribed: () => {
          this.stats.subscriptions += 1;
        },
        onError: (error) => this.#options.onSubscriptionError?.(shardId, error),
        signal: this.#stop.signal,
      });
      const processor = new ShardProcessor({
        shardId,
        region,
        buffer,
        mapping: this.#options,
        backoff: this.#options.retryBackoff ?? DEFAULT_BACKOFF,
        stats: this.stats,
        signal: this.#stop.signal,
      });
      const tasks = Promise.all([reader.run(), processor.run()]).then(() => undefined);
      this.#shards.set(shardId, { reader, processor, tasks });
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
        if (target !== undefined && !shard.processor.reached(target)) caughtUp = false;
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

function validateSettings(settings: EventSourceMappingSettings): void {
  const { batchSize, maxBatchingWindowMs, retryAttempts, startingPosition, startingPositionTimestamp } = settings;
  if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > 10_000) {
    throw new RangeError(`batchSize must be an integer from 1 to 10000, not ${batchSize}`);
  }
  if (!(maxBatchingWindowMs >= 0)) throw new RangeError(`maxBatchingWindowMs must be 0 or more, not ${maxBatchingWindowMs}`);
  if (!Number.isInteger(retryAttempts)) throw new RangeError(`retryAttempts must be an integer, not ${retryAttempts}`);
  if (startingPosition === 'AT_TIMESTAMP' && startingPositionTimestamp === undefined) {
    throw new RangeError('startingPositionTimestamp is required with AT_TIMESTAMP');
  }
}
