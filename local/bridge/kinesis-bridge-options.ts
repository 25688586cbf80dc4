/** The options and reports of `KinesisBridge` (kinesis-bridge.ts), and how its chaos is seeded per chunk. */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import type { KinesisClient } from '@aws-sdk/client-kinesis';
import { prng } from '../prng';
import type { StreamPosition } from './stream-reader';

export interface BridgeChaos {
  readonly seed: number;
  /** Chance, 0..1, that a change is put twice; half of the copies go to another shard (see `applyChaos`). */
  readonly duplicateRate: number;
  /** Chance, 0..1, that a record is held back behind later ones of its shard, by up to `reorderWindow` positions. */
  readonly reorderRate: number;
  readonly reorderWindow: number;
  /** Each polled chunk waits a seeded 0..maxDelayMs before it is put, so changes arrive late. Default 0. */
  readonly maxDelayMs?: number;
  /**
   * Chance, 0..1, that a change (from an account's version 2 on) starts a permanent gap: it and the same account's
   * next change never reach the stream, neither the record nor any copy. Two consecutive versions, because the
   * consumers heal a single missing version from its neighbours; an account's last change makes a gap of one. Drawn
   * in capture order from a PRNG of its own (seeded from `seed`). Default 0.
   */
  readonly permanentGapRate?: number;
}

export interface KinesisBridgeOptions {
  readonly dynamodb: DynamoDBClient;
  readonly streams: DynamoDBStreamsClient;
  readonly kinesis: KinesisClient;
  /** The table whose DynamoDB stream is read (its latest stream); it must have been created with the stream on. */
  readonly accountsTable: string;
  /** The Kinesis stream written to. */
  readonly streamArn: string;
  readonly chaos: BridgeChaos;
  /**
   * A `checkpoint` of an earlier bridge on the same table: start after the changes it got onto the stream, instead of
   * from TRIM_HORIZON (which would put the whole retained DynamoDB stream again).
   */
  readonly resumeFrom?: StreamPosition;
  /** Pause after a poll that brought nothing new; default `DEFAULT_POLL_INTERVAL_MS` (20 ms). */
  readonly pollIntervalMs?: number;
  readonly log?: (message: string) => void;
}

export interface BridgeStats {
  /** Distinct changes read from the DynamoDB stream (by event id). */
  readonly captured: number;
  /** Records Kinesis accepted: captured + duplicates + retryDuplicates when nothing was abandoned. */
  readonly put: number;
  /** Copies the chaos added. */
  readonly duplicates: number;
  /** Copies the chaos put on another shard than the change's home shard. */
  readonly crossShardDuplicates: number;
  /** Records the chaos held back behind later records of their shard. */
  readonly displaced: number;
  /** Records (copies included) put after a non-zero seeded delay. */
  readonly delayed: number;
  /** Records sent again after a failed PutRecords call or a refused entry. */
  readonly putRetries: number;
  /** Of those, records Kinesis had accepted already (they followed a refused one): extra duplicates on the stream. */
  readonly retryDuplicates: number;
  readonly pollErrors: number;
  readonly putErrors: number;
  /** Stream records that could not be turned into the Kinesis-for-DynamoDB format (logged; never put). */
  readonly unconvertible: number;
  /** Records still unput when the bridge was stopped. */
  readonly abandoned: number;
  /** Changes dropped on purpose (`permanentGapRate`): never put on the stream. */
  readonly dropped: number;
}

/** A change the bridge dropped on purpose (`permanentGapRate`). */
export interface DroppedChange {
  readonly accountId: string;
  readonly version: number;
}

export interface BridgedChange {
  readonly accountId: string;
  readonly version: number;
  /** DynamoDB's `ApproximateCreationDateTime`, in microseconds. */
  readonly createdAtMicros: number;
  /** When the bridge read the change from the DynamoDB stream. */
  readonly readAtMs: number;
  /** When Kinesis first accepted a copy of the change. */
  readonly putAtMs: number;
}

export interface DrainResult {
  readonly complete: boolean;
  /** Sum of the table's final versions when last checked. */
  readonly expected: number;
  /** Versions 1..final of some account that no record put on the stream carries (and were not dropped on purpose). */
  readonly missing: number;
}

/** The chaos seed of chunk `chunk`: the run's seed and the chunk's index mixed through the PRNG. */
export function chunkSeed(seed: number, chunk: number): number {
  const mixed = (Math.imul(seed >>> 0, 0x85ebca6b) ^ Math.imul(chunk + 1, 0x9e3779b1)) >>> 0;
  return Math.floor(prng(mixed)() * 4_294_967_296) >>> 0;
}

/** The seeded delay of a chunk, 0..maxDelayMs, from a PRNG stream separate from the chunk's chaos. */
export function chunkDelayMs(seed: number, maxDelayMs: number): number {
  if (maxDelayMs <= 0) return 0;
  return Math.floor(prng((seed ^ 0x5bd1e995) >>> 0)() * (maxDelayMs + 1));
}
