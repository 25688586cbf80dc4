import type { Context, KinesisStreamEvent } from 'aws-lambda';
import type { KinesisRecordInput } from '../../shared/change-record/kinesis-input';
import { localLambdaContext, toLambdaKinesisEvent } from '../lambda-event';
import type { ShardCheckpoint } from './esm-checkpoint';
import { deliverOnFailure } from './esm-on-failure-delivery';
import { buildOnFailureRecord } from './on-failure-record';
import type { RecordBuffer } from './record-buffer';
import {
  backoffMs,
  bisect,
  classifyResponse,
  expiredPrefix,
  failedCount,
  retriesExhausted,
  type Backoff,
  type InvocationOutcome,
} from './retry-policy';
import type { LocalEventSourceMappingOptions, MappingStats, OnFailureCondition } from './types';
import { sleep, type Gate } from './wait';

/** A run of consecutive records invoked together: a batch, what is left of it after a partial failure, or a half. */
interface Unit {
  records: readonly KinesisRecordInput[];
  /** Retries made of these records (see `#retryOrGiveUp`). */
  retries: number;
  /** Invocations these records went through together (what is left after a partial failure keeps the count). */
  invokes: number;
  /** The last of those invocations, if any. */
  last?: LastInvocation;
}

interface LastInvocation {
  readonly context: Context;
  readonly event: KinesisStreamEvent;
  readonly outcome: InvocationOutcome;
}

export interface ShardProcessorOptions {
  readonly shardId: string;
  /** The shard's lane this processor serves (0 with a parallelization factor of 1). */
  readonly lane: number;
  readonly region: string;
  /** The lane's records, in sequence order. */
  readonly buffer: RecordBuffer;
  /** The shard's checkpoint, shared by its lanes. */
  readonly checkpoint: ShardCheckpoint;
  readonly mapping: LocalEventSourceMappingOptions;
  /** `MaximumRecordAgeInSeconds` in ms; undefined: no limit. */
  readonly maxRecordAgeMs: number | undefined;
  readonly backoff: Backoff;
  readonly stats: MappingStats;
  readonly signal: AbortSignal;
  /** Closed while the mapping is disabled (`Enabled` false): nothing is invoked, first try or retry. */
  readonly enabled?: Gate;
}

/**
 * Delivers one lane of a shard to the function, one invocation at a time, in sequence order, as a Lambda event source
 * mapping does for each of a shard's `ParallelizationFactor` concurrent batches (a factor of 1: the whole shard). A
 * record is done once the function accepted it or it went to the on-failure destination; nothing after it in the
 * lane is invoked before that. Before every invocation, records at the head that are older than the record age limit
 * go to on-failure without being invoked, as on AWS.
 */
export class ShardProcessor {
  readonly shardId: string;
  readonly #options: ShardProcessorOptions;

  constructor(options: ShardProcessorOptions) {
    this.shardId = options.shardId;
    this.#options = options;
  }

  /** Takes batches until the signal aborts; returns after the invocation in flight. Never rejects. */
  async run(): Promise<void> {
    const { buffer, mapping, signal } = this.#options;
    const { batchSize, maxBatchingWindowMs } = mapping.settings;
    for (;;) {
      await this.#options.enabled?.whenOpen(signal);
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
      // A mapping disabled meanwhile invokes nothing more, retries included, until it is enabled again.
      await this.#options.enabled?.whenOpen(signal);
      if (signal.aborted) return; // not checkpointed: a later mapping reads these again
      if (!(await this.#discardExpired(unit))) return;
      if (unit.records.length === 0) {
        queue.shift();
        continue;
      }
      const last = await this.#invoke(unit);
      unit.last = last;
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
        // They keep the parent's last invocation: should they expire before their own, that is the response to report.
        const half = (records: KinesisRecordInput[]): Unit => ({ records, retries: unit.retries, invokes: 0, last });
        queue.splice(0, 1, half(first), half(second));
        await sleep(backoffMs(1, this.#options.backoff), signal);
        continue;
      }
      if (await this.#retryOrGiveUp(unit)) queue.shift();
    }
  }

  /**
   * Before an invocation: sends the records at the head of `unit` that are past the record age limit to on-failure
   * (`RecordAgeExceeded`) and leaves the rest in `unit`. Returns false when the mapping stopped first.
   */
  async #discardExpired(unit: Unit): Promise<boolean> {
    const { mapping, region, stats } = this.#options;
    const count = expiredPrefix(unit.records, this.#options.maxRecordAgeMs);
    if (count === 0) return true;
    const expired = unit.records.slice(0, count);
    const gaveUp = await this.#giveUp(expired, 'RecordAgeExceeded', {
      invokeCount: unit.invokes,
      invoked: unit.last !== undefined,
      context: unit.last?.context ?? localLambdaContext(mapping.functionName, mapping.invocationTimeoutMs ?? 60_000),
      // The payload is the event these records make on their own, so it matches the failure record's batch info.
      event: toLambdaKinesisEvent(expired, { region, streamArn: mapping.streamArn }),
      functionError: unit.last?.outcome.kind === 'failed' && unit.last.outcome.functionError,
    });
    if (!gaveUp) return false;
    if (unit.last === undefined) stats.expiredBeforeInvoke += count;
    unit.records = unit.records.slice(count);
    return true;
  }

  /**
   * After a failed invocation of `unit`: either waits and lets it be retried (returns false), or, once the retries
   * are used up, sends it to the on-failure destination and checkpoints past it (returns true). The record age limit
   * is not checked here: `#discardExpired` checks it before the retry, as before every invocation.
   */
  async #retryOrGiveUp(unit: Unit): Promise<boolean> {
    const { mapping, signal, stats } = this.#options;
    const last = unit.last;
    if (!retriesExhausted(unit.retries, mapping.settings.retryAttempts) || last === undefined) {
      unit.retries += 1;
      stats.retries += 1;
      await sleep(backoffMs(unit.retries, this.#options.backoff), signal);
      return false;
    }
    return this.#giveUp(unit.records, 'RetryAttemptsExhausted', {
      invokeCount: Math.max(1, unit.invokes),
      context: last.context,
      event: last.event,
      functionError: last.outcome.kind === 'failed' && last.outcome.functionError,
    });
  }

  /**
   * Sends `records` to the on-failure destination and checkpoints past them, also when the destination would not take
   * them (dropped and counted: see `deliverOnFailure`). False when the mapping stopped first (no checkpoint).
   */
  async #giveUp(
    records: readonly KinesisRecordInput[],
    condition: OnFailureCondition,
    last: { invokeCount: number; invoked?: boolean; context: Context; event: KinesisStreamEvent; functionError: boolean },
  ): Promise<boolean> {
    const { mapping, signal, stats } = this.#options;
    const record = buildOnFailureRecord({ records, shardId: this.shardId, streamArn: mapping.streamArn, condition, ...last });
    const delivery = await deliverOnFailure(record, mapping, stats, this.#options.backoff, signal);
    if (delivery === 'stopped') return false;
    this.#done(records, delivery === 'delivered' ? 'sent-to-on-failure' : 'dropped');
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
      mapping.onInvoke?.(unit.records, Date.now());
      outcome = classifyResponse(unit.records, await mapping.invoke(event, context));
    } catch (caught) {
      threw = true;
      error = caught;
      outcome = { kind: 'failed', functionError: true };
    }
    try {
      mapping.onBatch?.({
        shardId: this.shardId,
        lane: this.#options.lane,
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

  #done(records: readonly KinesisRecordInput[], how: 'delivered' | 'sent-to-on-failure' | 'dropped'): void {
    if (records.length === 0) return;
    this.#options.checkpoint.complete(records);
    if (how === 'delivered') this.#options.stats.records += records.length;
    else if (how === 'sent-to-on-failure') this.#options.stats.sentToOnFailure += records.length;
    // Dropped records are counted by `deliverOnFailure` (stats.onFailureDropped).
  }
}
