import {
  SubscribeToShardCommand,
  type KinesisClient,
  type StartingPosition,
  type SubscribeToShardEvent,
  type _Record,
} from '@aws-sdk/client-kinesis';
import type { KinesisRecordInput } from '../../shared/change-record/kinesis-input';
import type { EventSourceMappingSettings } from './types';
import { sleep } from './wait';
import type { ChildShard } from './shard-generations';

export interface ShardReaderOptions {
  readonly client: KinesisClient;
  readonly consumerArn: string;
  readonly shardId: string;
  readonly settings: Pick<EventSourceMappingSettings, 'startingPosition' | 'startingPositionTimestamp'>;
  /** Ends each session after this long (see `LocalEventSourceMappingOptions.subscriptionMaxMs`). */
  readonly subscriptionMaxMs?: number;
  /** Receives every record once, in sequence order, across sessions. */
  readonly onRecords: (records: KinesisRecordInput[]) => void;
  readonly onSubscribed?: () => void;
  readonly onError?: (error: unknown) => void;
  /** Stops the reader: ends the session in progress and any wait. */
  readonly signal: AbortSignal;
}

/** What the reader knows of the shard's tip, for `drain`. */
export interface ShardTip {
  /** The last record received when the tip was seen; undefined when the shard had none to give. */
  readonly lastSequenceNumber: string | undefined;
}

/** How long to wait before subscribing again while the previous session is still active on the server. */
const IN_USE_WAIT_MS = 500;
const ERROR_BACKOFF_MS = { initial: 200, max: 5_000 };

/**
 * Reads one shard through an enhanced fan-out consumer: SubscribeToShard sessions one after another, each starting
 * after the last record received (or at the mapping's starting position before any), so a session that ends (AWS and
 * kinesis-mock end them after ~5 minutes), fails or is cut short loses and repeats nothing. Records at or below the
 * last one received are dropped, should a session start earlier than asked.
 */
export class ShardReader {
  readonly shardId: string;
  readonly #options: ShardReaderOptions;
  #lastReceived: bigint | undefined;
  #continuation: bigint | undefined;
  /** Receipt times of the last two events and the last one's MillisBehindLatest. */
  #previousEventAt = -Infinity;
  #lastEventAt = -Infinity;
  #lastMillisBehind = Number.POSITIVE_INFINITY;
  /** Set when the shard's last event came (or `end` was called): it is closed (a reshard), and these are its children. */
  #children: ChildShard[] | undefined;
  #session: AbortController | undefined;

  constructor(options: ShardReaderOptions) {
    this.shardId = options.shardId;
    this.#options = options;
  }

  /** Whether the reader is done with its shard (closed by a reshard). */
  get ended(): boolean {
    return this.#children !== undefined;
  }

  /**
   * Ends a closed shard's reading when the stream does not say so itself: AWS's last event of a closed shard names its
   * children, kinesis-mock's does not (it keeps sending empty events), so the mapping, having listed the shard as closed
   * and seen the reader caught up since, ends it with the children the listing gives.
   */
  end(children: readonly ChildShard[]): void {
    if (this.#children !== undefined) return;
    this.#children = [...children];
    this.#session?.abort();
  }

  /** The sequence number of the last record received, if any. */
  get lastReceived(): string | undefined {
    return this.#lastReceived?.toString();
  }

  /**
   * The shard's tip as seen after `since`: known once two events arrived after `since` and the later one says the
   * reader is not behind. The later event was produced after the earlier one was received, so after `since`: every
   * record the shard held at `since` was in it or before it.
   */
  tipSince(since: number): ShardTip | undefined {
    // A closed shard was read to its end: nothing more will come.
    if (this.#children !== undefined) return { lastSequenceNumber: this.lastReceived };
    if (this.#previousEventAt < since || this.#lastMillisBehind > 0) return undefined;
    return { lastSequenceNumber: this.lastReceived };
  }

  /**
   * Reads until the signal aborts (then resolves with no children) or the shard ends, closed by a reshard: then it
   * resolves with the shard's children, which Lambda reads next. Never rejects.
   */
  async run(): Promise<readonly ChildShard[]> {
    const { signal } = this.#options;
    let failures = 0;
    while (!signal.aborted && this.#children === undefined) {
      const session = new AbortController();
      this.#session = session;
      const endSession = (): void => session.abort();
      signal.addEventListener('abort', endSession, { once: true });
      let timer: ReturnType<typeof setTimeout> | undefined;
      let events = 0;
      try {
        const response = await this.#options.client.send(
          new SubscribeToShardCommand({
            ConsumerARN: this.#options.consumerArn,
            ShardId: this.shardId,
            StartingPosition: this.#position(),
          }),
          { abortSignal: session.signal },
        );
        this.#options.onSubscribed?.();
        if (this.#options.subscriptionMaxMs !== undefined) timer = setTimeout(endSession, this.#options.subscriptionMaxMs);
        for await (const event of response.EventStream ?? []) {
          if (event.SubscribeToShardEvent === undefined) throw streamError(event);
          this.#accept(event.SubscribeToShardEvent);
          events += 1;
          failures = 0;
          if (this.#children !== undefined) break;
        }
        // The server ended the session; one that gave nothing at all counts as a failure, so as not to spin.
        if (events === 0) {
          failures += 1;
          await sleep(backoff(failures), signal);
        }
      } catch (error) {
        if (signal.aborted) break;
        if (session.signal.aborted) continue; // our own session limit: subscribe again right away
        if (errorName(error) === 'ResourceInUseException') {
          // A previous session (ours, cut short) is still active on the server for a moment.
          await sleep(IN_USE_WAIT_MS, signal);
          continue;
        }
        failures += 1;
        this.#options.onError?.(error);
        await sleep(backoff(failures), signal);
      } finally {
        if (timer !== undefined) clearTimeout(timer);
        signal.removeEventListener('abort', endSession);
      }
    }
    return signal.aborted ? [] : (this.#children ?? []);
  }

  #position(): StartingPosition {
    const after = maxOf(this.#lastReceived, this.#continuation);
    if (after !== undefined) return { Type: 'AFTER_SEQUENCE_NUMBER', SequenceNumber: after.toString() };
    const { startingPosition, startingPositionTimestamp } = this.#options.settings;
    if (startingPosition === 'AT_TIMESTAMP') return { Type: 'AT_TIMESTAMP', Timestamp: startingPositionTimestamp };
    return { Type: startingPosition };
  }

  #accept(event: SubscribeToShardEvent): void {
    const fresh: KinesisRecordInput[] = [];
    for (const record of event.Records ?? []) {
      if (record.SequenceNumber === undefined) continue;
      const sequence = BigInt(record.SequenceNumber);
      if (this.#lastReceived !== undefined && sequence <= this.#lastReceived) continue;
      this.#lastReceived = sequence;
      fresh.push(toRecordInput(record, this.shardId));
    }
    if (event.ContinuationSequenceNumber !== undefined && event.ContinuationSequenceNumber !== null && event.ContinuationSequenceNumber !== '') {
      this.#continuation = maxOf(this.#continuation, BigInt(event.ContinuationSequenceNumber));
    } else if ((event.ChildShards?.length ?? 0) > 0) {
      // The shard's last event: no continuation, and the children to go on with.
      this.#children = (event.ChildShards ?? []).flatMap((child) =>
        child.ShardId === undefined ? [] : [{ shardId: child.ShardId, parents: child.ParentShards ?? [] }],
      );
    }
    if (fresh.length > 0) this.#options.onRecords(fresh);
    this.#previousEventAt = this.#lastEventAt;
    this.#lastEventAt = Date.now();
    this.#lastMillisBehind = event.MillisBehindLatest ?? 0;
  }
}

function toRecordInput(record: _Record, shardId: string): KinesisRecordInput {
  return {
    data: Buffer.from(record.Data ?? new Uint8Array()).toString('base64'),
    sequenceNumber: record.SequenceNumber ?? '',
    shardId,
    partitionKey: record.PartitionKey ?? '',
    approximateArrivalTimestamp: (record.ApproximateArrivalTimestamp ?? new Date()).getTime() / 1000,
  };
}

function maxOf(a: bigint | undefined, b: bigint | undefined): bigint | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return a > b ? a : b;
}

function backoff(failures: number): number {
  return Math.min(ERROR_BACKOFF_MS.max, ERROR_BACKOFF_MS.initial * 2 ** Math.max(0, failures - 1));
}

function errorName(error: unknown): string | undefined {
  return typeof error === 'object' && error !== null && 'name' in error ? String(error.name) : undefined;
}

/** An exception member of the event stream (ResourceInUseException, InternalFailureException, KMS…). */
function streamError(event: object): Error {
  for (const [name, value] of Object.entries(event)) {
    if (value === undefined) continue;
    const message = typeof value === 'object' && value !== null && 'message' in value ? String(value.message) : name;
    const error = new Error(message);
    error.name = name === '$unknown' ? 'UnknownStreamEvent' : name;
    return error;
  }
  return new Error('empty SubscribeToShard event');
}
