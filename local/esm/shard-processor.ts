import type { Context, KinesisStreamEvent } from 'aws-lambda';
import type { KinesisRecordInput } from '../../shared/change-record/decode';
import { localLambdaContext, toLambdaKinesisEvent } from '../lambda-event';
import { buildOnFailureRecord } from './on-failure-record';
import type { RecordBuffer } from './record-buffer';
import {
  backoffMs,
  bisect,
  classifyResponse,
  failedCount,
  recordAgeExceeded,
  retriesExhausted,
  type Backoff,
  type InvocationOutcome,
} from './retry-policy';
import type { LocalEventSourceMappingOptions, MappingStats, OnFailureCondition } from './types';
import { sleep } from './wait';

/** A run of consecutive records invoked together: a batch, what is left of it after a partial failure, or a half. */
interface Unit {
  records: readonly KinesisRecordInput[];
  /** Retries made of these records (see `#retryOrGiveUp`). */
  retries: number;
  /** Invocations these records went through together (what is left after a partial failure keeps the count). */
  invokes: number;
}

interface LastInvocation {
  readonly context: Context;
  readonly event: KinesisStreamEvent;
  readonly outcome: InvocationOutcome;
}

export interface ShardProcessorOptions {
  readonly shardId: string;
  readonly region: string;
  readonly buffer: RecordBuffer;
  readonly mapping: LocalEventSourceMappingOptions;
  readonly backoff: Backoff;
  readonly stats: MappingStats;
  readonly signal: AbortSignal;
}

/**
 * Delivers one shard's records to the function, one invocation at a time, in sequence order, as a Lambda event source
 * mapping does with a parallelization factor of 1. Its checkpoint moves past a record once the function accepted it
 * or it went to the on-failure destination; nothing after a record is invoked before that.
 */
export class ShardProcessor {
  readonly shardId: string;
  readonly #options: ShardProcessorOptions;
  #checkpoint: bigint | undefined;

  constructor(options: ShardProcessorOptions) {
    this.shardId = options.shardId;
    this.#options = options;
  }

  /** True when every record up to `sequenceNumber` is done with (delivered or sent to on-failure). */
  reached(sequenceNumber: string): boolean {
    return this.#checkpoint !== undefined && this.#checkpoint >= BigInt(sequenceNumber);
  }

  /** Takes batches until the signal aborts; returns after the invocation in flight. Never rejects. */
  async run(): Promise<void> {
    const { buffer, mapping, signal } = this.#options;
    const { batchSize, maxBatchingWindowMs } = mapping.settings;
    for (;;) {
      const batch = await buffer.next(batchSize, maxBatchingWindowMs, signal);
      if (batch === undefined) return;
      await this.#process(batch);
    }
  }

  async #process(batch: readonly KinesisRecordInput[]): Promise<void> {
    const { mapping, signal, stats } = this.#options;
    // Units still to do, in sequence order: bisected halves go first-half-first.
    const queue: Unit[] = [{ records: batch, retries: 0, invokes: 0 }];
    for (let unit = queue[0]; unit !== undefined; unit = queue[0]) {
      if (signal.aborted) return; // not checkpointed: a later mapping reads these again
      const last = await this.#invoke(unit);
      const { outcome } = last;
      if (outcome.kind === 'success') {
        this.#done(unit.records, 'delivered');
        queue.shift();
        continue;
      }
      if (outcome.kind === 'partial' && outcome.fromIndex > 0) {
        this.#done(unit.records.slice(0, outcome.fromIndex), 'delivered');
        unit.records = unit.records.slice(outcome.fromIndex);
      }
      if (outcome.kind === 'failed' && outcome.functionError && mapping.settings.bisectBatchOnError && unit.records.length > 1) {
        // Splitting does not consume the retry quota: the halves carry the retries made so far, nothing more.
        const [first, second] = bisect(unit.records);
        stats.bisections += 1;
        queue.splice(0, 1, { records: first, retries: unit.retries, invokes: 0 }, { records: second, retries: unit.retries, invokes: 0 });
        await sleep(backoffMs(1, this.#options.backoff), signal);
        continue;
      }
      if (await this.#retryOrGiveUp(unit, last)) queue.shift();
    }
  }

  /**
   * After a failed invocation of `unit`: either waits and lets it be retried (returns false), or sends it to the
   * on-failure destination and checkpoints past it (returns true). Retries stop at `retryAttempts`, or earlier when
   * the oldest record is older than `maxRecordAgeSeconds`.
   */
  async #retryOrGiveUp(unit: Unit, last: LastInvocation): Promise<boolean> {
    const { mapping, signal, stats } = this.#options;
    const { retryAttempts, maxRecordAgeSeconds } = mapping.settings;
    let condition: OnFailureCondition | undefined;
    if (retriesExhausted(unit.retries, retryAttempts)) condition = 'RetryAttemptsExhausted';
    else if (recordAgeExceeded(unit.records, maxRecordAgeSeconds)) condition = 'RecordAgeExceeded';
    if (condition === undefined) {
      unit.retries += 1;
      stats.retries += 1;
      await sleep(backoffMs(unit.retries, this.#options.backoff), signal);
      return false;
    }
    const record = buildOnFailureRecord({
      records: unit.records,
      shardId: this.shardId,
      streamArn: mapping.streamArn,
      condition,
      invokeCount: Math.max(1, unit.invokes),
      context: last.context,
      event: last.event,
      functionError: last.outcome.kind === 'failed' && last.outcome.functionError,
    });
    // The destination must take it before the checkpoint moves: a rejection is retried until it does.
    for (let attempt = 1; ; attempt += 1) {
      if (signal.aborted) return false;
      try {
        await mapping.onFailure(record);
        break;
      } catch {
        await sleep(backoffMs(attempt, this.#options.backoff), signal);
      }
    }
    this.#done(unit.records, 'sent-to-on-failure');
    return true;
  }

  async #invoke(unit: Unit): Promise<LastInvocation> {
    const { mapping, region, stats } = this.#options;
    const event = toLambdaKinesisEvent(unit.records, { region, streamArn: mapping.streamArn });
    const context = localLambdaContext(mapping.functionName, mapping.invocationTimeoutMs ?? 60_000);
    unit.invokes += 1;
    stats.invocations += 1;
    const started = performance.now();
    let outcome: InvocationOutcome;
    let error: unknown;
    let threw = false;
    try {
      outcome = classifyResponse(unit.records, await mapping.invoke(event, context));
    } catch (caught) {
      threw = true;
      error = caught;
      outcome = { kind: 'failed', functionError: true };
    }
    try {
      mapping.onBatch?.({
        shardId: this.shardId,
        records: unit.records.length,
        failed: failedCount(outcome, unit.records.length),
        attempt: unit.invokes,
        durationMs: performance.now() - started,
        ...(threw ? { error } : {}),
      });
    } catch {
      // A progress callback must not stop the shard.
    }
    return { context, event, outcome };
  }

  #done(records: readonly KinesisRecordInput[], how: 'delivered' | 'sent-to-on-failure'): void {
    const last = records[records.length - 1];
    if (last === undefined) return;
    this.#checkpoint = BigInt(last.sequenceNumber);
    this.#options.stats.checkpoints[this.shardId] = last.sequenceNumber;
    if (how === 'delivered') this.#options.stats.records += records.length;
    else this.#options.stats.sentToOnFailure += records.length;
  }
}
