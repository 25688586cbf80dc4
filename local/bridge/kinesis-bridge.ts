import { setTimeout as sleep } from 'node:timers/promises';
import { historyOf, readFinalVersions, type Truth } from '../verify';
import {
  type BridgedChange,
  type BridgeStats,
  type DroppedChange,
  chunkDelayMs,
  chunkSeed,
  type DrainResult,
  type KinesisBridgeOptions,
} from './kinesis-bridge-options';
import { shardEntries, StreamCapture, type Capture } from './capture';
import { CarriedChanges } from './carried-changes';
import { applyChaos } from './chaos';
import { defaultBackoffMs, listOpenShards, putInOrder, type ShardRange } from './kinesis-put';
import { DynamoDBStreamReader, latestStreamArn, type StreamPosition, type StreamRecord } from './stream-reader';
import { PermanentGaps } from './permanent-gaps';

/** Pause after a poll that brought nothing new: short, as DynamoDB's own replication to Kinesis is continuous. */
export const DEFAULT_POLL_INTERVAL_MS = 20;
/** Chunks captured but not yet put beyond which the bridge stops reading until the puts catch up. */
const MAX_QUEUED_CHUNKS = 16;

export type { BridgeChaos, BridgedChange, BridgeStats, DrainResult, DroppedChange, KinesisBridgeOptions } from './kinesis-bridge-options';
export { chunkDelayMs, chunkSeed } from './kinesis-bridge-options';

/** The counters the bridge keeps itself; `dropped` is the permanent gaps' own count. */
type Stats = { -readonly [K in Exclude<keyof BridgeStats, 'dropped'>]: BridgeStats[K] };

/**
 * The change-capture bridge of the local pipeline. DynamoDB Local has no Kinesis streaming destination, so this reads
 * the table's DynamoDB stream continuously and puts every change on a Kinesis stream in the exact
 * Kinesis-for-DynamoDB JSON (no DynamoDB sequence number, microsecond creation time), with seeded chaos.
 *
 * Chaos is applied per polled chunk with `applyChaos` (seed of chunk n: `chunkSeed(seed, n)`), so duplicates trail
 * their original and displaced records move only within their chunk; chunks themselves go out in capture order. The
 * chunking follows the timing of polls, so a run replays exactly only for the same chunks. Each account has a home
 * shard (`shardOfKey` of its partition key); every record is routed with an `ExplicitHashKey` inside the shard the
 * chaos placed it on, and each shard's records are put in their placed order.
 *
 * Nothing is dropped silently: a failed poll rereads the DynamoDB stream from TRIM_HORIZON (or `resumeFrom`) and skips the event ids
 * already captured (the reader's position after a half-finished poll cannot be trusted), a failed put is retried with
 * backoff until it succeeds or the bridge is stopped, and whatever is left is counted in `stats` and logged.
 */
export class KinesisBridge {
  readonly #options: KinesisBridgeOptions;
  readonly #log: (message: string) => void;
  readonly #pollIntervalMs: number;
  readonly #stop = new AbortController();
  readonly #stats: Stats = {
    captured: 0,
    put: 0,
    duplicates: 0,
    crossShardDuplicates: 0,
    displaced: 0,
    delayed: 0,
    putRetries: 0,
    retryDuplicates: 0,
    pollErrors: 0,
    putErrors: 0,
    unconvertible: 0,
    abandoned: 0,
  };
  readonly #capture: StreamCapture;
  readonly #carried = new CarriedChanges();
  readonly #gaps: PermanentGaps;
  #shards: readonly ShardRange[] = [];
  #chunks = 0;
  #loop: Promise<void> | undefined;
  #running = false;
  /**
   * Chunks captured and not yet put, in capture order: while one is put, the next poll already runs (DynamoDB streams
   * to Kinesis continuously too), and a chunk is put only after the one before it. Its duplicates may still be on
   * their way after every version is, so a drain waits for this to empty.
   */
  #queued = 0;
  #putting: Promise<void> = Promise.resolve();
  /** Where a restarted bridge may resume: the stream position after the last chunk that is wholly on Kinesis. */
  #checkpoint: StreamPosition;
  /** Set once a chunk was not wholly put (stopped, or an unexpected error): the checkpoint stays before it. */
  #incomplete = false;

  constructor(options: KinesisBridgeOptions) {
    const { maxDelayMs = 0 } = options.chaos;
    if (!(Number.isFinite(maxDelayMs) && maxDelayMs >= 0)) throw new RangeError(`maxDelayMs ${maxDelayMs} must be >= 0`);
    this.#options = options;
    this.#log = options.log ?? (() => undefined);
    this.#pollIntervalMs = options.pollIntervalMs ?? DEFAULT_POLL_INTERVAL_MS;
    this.#gaps = new PermanentGaps(options.chaos.permanentGapRate ?? 0, options.chaos.seed);
    this.#checkpoint = options.resumeFrom ?? {};
    this.#capture = new StreamCapture(options.accountsTable, (eventId, error) => {
      this.#stats.unconvertible += 1;
      this.#log(`bridge: cannot forward stream record ${eventId ?? '(no eventID)'}: ${describe(error)}`);
    });
  }

  get stats(): BridgeStats {
    return { ...this.#stats, dropped: this.#gaps.count };
  }

  get changes(): ReadonlyArray<BridgedChange> {
    return this.#carried.changes;
  }

  /** The changes dropped on purpose (`permanentGapRate`), in capture order. */
  get dropped(): ReadonlyArray<DroppedChange> {
    return this.#gaps.dropped;
  }

  /**
   * Where a new bridge on the same table should resume (`resumeFrom`) after this one stops: the DynamoDB stream
   * position after the last chunk that got wholly onto Kinesis. Chunks still queued or abandoned at the stop are after
   * it, so they are read and put again: nothing is lost, at worst a change is on the stream twice.
   */
  get checkpoint(): StreamPosition {
    return this.#checkpoint;
  }

  /** The Kinesis shards records are routed to, ordered by hash key range (known once the bridge has started). */
  get shardIds(): readonly string[] {
    return this.#shards.map((shard) => shard.shardId);
  }

  /** Begins polling in the background. */
  start(): void {
    if (this.#loop) throw new Error('the bridge has been started already');
    this.#running = true;
    this.#loop = this.#run()
      .catch((error: unknown) => this.#log(`bridge: stopped by an unexpected error: ${describe(error)}`))
      .finally(() => {
        this.#running = false;
      });
  }

  /** Ends the loop (a put in flight is abandoned and counted) and waits for it. */
  async stop(): Promise<void> {
    this.#stop.abort();
    await this.#loop;
  }

  /**
   * Waits until every change of the table (versions 1..final of every account, read back from the table) is on the
   * stream at least once, or was dropped on purpose (`permanentGapRate`), or the timeout passes, or the bridge is not
   * running. Complete also means idle: no chunk is still being put, so a duplicate copy is never abandoned by a stop
   * that follows.
   */
  async drain(timeoutMs: number): Promise<DrainResult> {
    const deadline = Date.now() + timeoutMs;
    let result: DrainResult = { complete: false, expected: 0, missing: 0 };
    for (;;) {
      try {
        result = this.#carried.coverage(await readFinalVersions(this.#options.dynamodb, this.#options.accountsTable), this.#gaps);
        if (result.complete && this.#queued === 0) return result;
      } catch (error) {
        this.#log(`bridge: could not read the final versions: ${describe(error)}`);
      }
      const left = deadline - Date.now();
      if (left <= 0 || !this.#running) return result;
      await sleep(Math.min(this.#pollIntervalMs, left));
    }
  }

  /**
   * What the table's stream carried, decoded through the consumers' decoder: the truth to verify destinations against.
   * Changes dropped on purpose are part of it (they happened in the table; the stream just never got them).
   */
  truth(finalVersions: ReadonlyMap<string, number>): Truth & { captured: { accountId: string; version: number }[] } {
    const payloads = [...this.#carried.payloads, ...this.#gaps.payloads];
    return historyOf(payloads, finalVersions, this.#options.accountsTable);
  }

  async #run(): Promise<void> {
    const { dynamodb, streams, kinesis, accountsTable, streamArn } = this.#options;
    const signal = this.#stop.signal;
    const shards = await this.#retrying('list the Kinesis shards', () => listOpenShards(kinesis, streamArn, signal));
    const sourceArn = await this.#retrying('find the DynamoDB stream', () => latestStreamArn(dynamodb, accountsTable));
    if (!shards || !sourceArn) return;
    this.#shards = shards;
    const from = this.#options.resumeFrom;
    const newReader = () => new DynamoDBStreamReader({ client: streams, streamArn: sourceArn, ...(from ? { from } : {}) });
    let reader = newReader();
    let failures = 0;
    while (!signal.aborted) {
      let records: StreamRecord[];
      try {
        records = await reader.poll();
        failures = 0;
      } catch (error) {
        this.#stats.pollErrors += 1;
        failures += 1;
        this.#log(`bridge: poll failed (${describe(error)}); rereading from TRIM_HORIZON, skipping captured changes`);
        reader = newReader();
        await pause(defaultBackoffMs(failures), signal);
        continue;
      }
      const fresh = this.#capture.fresh(records);
      this.#stats.captured += fresh.length;
      this.#enqueue(fresh, reader.position);
      // A backlog of chunks waits for the puts before reading more, so memory stays bounded by MAX_QUEUED_CHUNKS.
      if (this.#queued >= MAX_QUEUED_CHUNKS) await this.#putting;
      else if (fresh.length === 0) await pause(this.#pollIntervalMs, signal);
    }
    await this.#putting;
  }

  /**
   * Queues a chunk's puts behind the earlier chunks'. Its seeded delay starts now, beside theirs: a late chunk is late
   * by its own delay, not by the sum of the delays queued before it (the puts still go in capture order).
   */
  #enqueue(captured: readonly Capture[], position: StreamPosition): void {
    const chunk = captured.filter((capture) => !this.#gaps.drops(capture.change, capture.payload));
    if (chunk.length === 0) {
      // Nothing to put, but the stream position moved (or may have): it counts once everything before it is put.
      this.#putting = this.#putting.then(() => this.#advance(position));
      return;
    }
    const { chaos } = this.#options;
    const seed = chunkSeed(chaos.seed, this.#chunks);
    this.#chunks += 1;
    const delay = chunkDelayMs(seed, chaos.maxDelayMs ?? 0);
    const due = delay > 0 ? pause(delay, this.#stop.signal) : undefined;
    this.#queued += 1;
    this.#putting = this.#putting
      .then(async () => {
        if (await this.#forward(chunk, seed, due)) this.#advance(position);
        else this.#incomplete = true;
      })
      .catch((error: unknown) => {
        this.#incomplete = true;
        this.#log(`bridge: a put failed unexpectedly: ${describe(error)}`);
      })
      .finally(() => {
        this.#queued -= 1;
      });
  }

  /**
   * Disturbs one chunk (seeded), waits for the end of its delay (`due`, running since it was queued), then puts each
   * shard's records in their placed order. True when every record of the chunk is on the stream.
   */
  async #forward(chunk: readonly Capture[], seed: number, due: Promise<boolean> | undefined): Promise<boolean> {
    const { chaos, kinesis, streamArn } = this.#options;
    const signal = this.#stop.signal;
    const placed = applyChaos(chunk, (capture) => capture.payload.partitionKey, {
      seed,
      duplicateRate: chaos.duplicateRate,
      reorderRate: chaos.reorderRate,
      reorderWindow: chaos.reorderWindow,
      shardCount: this.#shards.length,
    });
    this.#stats.duplicates += placed.stats.duplicates;
    this.#stats.crossShardDuplicates += placed.stats.crossShardDuplicates;
    this.#stats.displaced += placed.stats.displaced;
    const records = placed.shards.reduce((sum, shard) => sum + shard.length, 0);
    if (due !== undefined) {
      this.#stats.delayed += records;
      if (!(await due)) {
        this.#abandon(records);
        return false;
      }
    }
    const results = await Promise.all(
      placed.shards.map((list, index) =>
        putInOrder(shardEntries(list, this.#shards, index), {
          client: kinesis,
          streamArn,
          signal,
          onPut: (entry, atMs) => this.#accepted(entry.tag, atMs),
          onRetry: (resent, repeats, reason) => {
            this.#stats.putErrors += 1;
            this.#stats.putRetries += resent;
            this.#stats.retryDuplicates += repeats;
            this.#log(`bridge: put on ${this.#shards[index]?.shardId} failed (${reason}); resending ${resent} in order`);
          },
        }),
      ),
    );
    const abandoned = results.reduce((sum, result) => sum + result.abandoned, 0);
    this.#abandon(abandoned);
    return abandoned === 0;
  }

  #advance(position: StreamPosition): void {
    if (!this.#incomplete) this.#checkpoint = position;
  }

  #accepted(capture: Capture, atMs: number): void {
    this.#stats.put += 1;
    this.#carried.accept(capture, atMs);
  }

  #abandon(records: number): void {
    if (records === 0) return;
    this.#stats.abandoned += records;
    this.#log(`bridge: stopped with ${records} records not put on the stream`);
  }

  /** Runs `attempt` until it succeeds (logging and backing off) or the bridge stops; undefined when stopped. */
  async #retrying<T>(what: string, attempt: () => Promise<T>): Promise<T | undefined> {
    for (let failures = 1; !this.#stop.signal.aborted; failures += 1) {
      try {
        return await attempt();
      } catch (error) {
        if (this.#stop.signal.aborted) return undefined;
        this.#log(`bridge: could not ${what} (${describe(error)}); retrying`);
        await pause(defaultBackoffMs(failures), this.#stop.signal);
      }
    }
    return undefined;
  }
}

/** Sleeps unless aborted; false when aborted. */
async function pause(ms: number, signal: AbortSignal): Promise<boolean> {
  try {
    await sleep(ms, undefined, { signal });
    return true;
  } catch {
    return false;
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
