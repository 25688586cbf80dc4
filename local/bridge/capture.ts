import { ACCOUNTS_KEY } from '../../shared/accounts/account';
import { decodeChangeRecord } from '../../shared/change-record/decode';
import { encodeKinesisPayload } from '../../shared/change-record/kinesis-input';
import type { Placed, StreamPayload } from './chaos';
import { hashKeyIn, MAX_BYTES_PER_RECORD, md5Hex, type ShardEntry, type ShardRange } from './kinesis-put';
import type { StreamRecord } from './stream-reader';
import { streamRecordToKds } from './stream-record-to-kds';

/*
 * One change as the bridge carries it: which DynamoDB stream records become one (each change once), what it keeps of
 * them (the Kinesis-for-DynamoDB payload and what the consumers' decoder reads from it), and how it is addressed to
 * the shard the chaos placed it on. Apart from `KinesisBridge`, which decides when, how often and in what order these
 * go out.
 */

/** One captured change on its way to Kinesis. */
export interface Capture {
  readonly payload: StreamPayload;
  readonly bytes: Uint8Array;
  /** Absent when the consumers' decoder rejects the change: it is put anyway, a consumer must quarantine it. */
  readonly change?: { readonly accountId: string; readonly version: number; readonly createdAtMicros: number };
  /** When this poll read it from the DynamoDB stream. */
  readonly readAtMs: number;
  putAtMs?: number;
}

/**
 * Converts polled stream records into captures, skipping the event ids captured before: after a failed poll the bridge
 * rereads the stream from TRIM_HORIZON, and what it had captured then must not go out a second time as an original.
 */
export class StreamCapture {
  readonly #tableName: string;
  readonly #unconvertible: (eventId: string | undefined, error: unknown) => void;
  readonly #seen = new Set<string>();

  /** `unconvertible` hears of each record that has no Kinesis-for-DynamoDB form: it is not forwarded. */
  constructor(tableName: string, unconvertible: (eventId: string | undefined, error: unknown) => void) {
    this.#tableName = tableName;
    this.#unconvertible = unconvertible;
  }

  /** The changes of `records` not seen before, in their order. */
  fresh(records: readonly StreamRecord[]): Capture[] {
    const tableName = this.#tableName;
    const fresh: Capture[] = [];
    const readAtMs = Date.now();
    for (const record of records) {
      const eventId = record.eventID;
      if (eventId !== undefined && this.#seen.has(eventId)) continue;
      if (eventId !== undefined) this.#seen.add(eventId);
      let data: string;
      try {
        data = encodeKinesisPayload(streamRecordToKds(record, { tableName }));
      } catch (error) {
        this.#unconvertible(eventId, error);
        continue;
      }
      const capture = captureOf(record, data, tableName, readAtMs);
      // A change whose Kinesis form exceeds a Kinesis record (an item near DynamoDB's 400 KB, old and new image, and
      // JSON's expansion of binary, Boolean and empty values) is skipped by DynamoDB, which counts it in
      // FailedToReplicateRecordCount and goes on with the next: put, it would be refused on every try and stall the
      // shard behind it for good.
      const size = capture.bytes.byteLength + Buffer.byteLength(capture.payload.partitionKey, 'utf8');
      if (size > MAX_BYTES_PER_RECORD) {
        this.#unconvertible(
          eventId,
          new RangeError(
            `its Kinesis record would be ${size} bytes, over the 1 MiB limit: DynamoDB does not replicate it (FailedToReplicateRecordCount)`,
          ),
        );
        continue;
      }
      fresh.push(capture);
    }
    return fresh;
  }
}

/** The capture of `record`, encoded as `data`; the partition key is, like DynamoDB's, an MD5 of the item key. */
function captureOf(record: StreamRecord, data: string, tableName: string, readAtMs: number): Capture {
  const keys = record.dynamodb?.Keys;
  const partitionKey = md5Hex(keys?.[ACCOUNTS_KEY]?.S ?? JSON.stringify(keys ?? {}));
  const decoded = decodeChangeRecord({ data, sequenceNumber: '0', shardId: 'bridge' }, { tableName });
  const change = decoded.ok
    ? {
        accountId: decoded.record.accountId,
        version: decoded.record.version,
        createdAtMicros: decoded.record.createdAtMicros,
      }
    : undefined;
  return { payload: { data, partitionKey }, bytes: Buffer.from(data, 'base64'), readAtMs, ...(change ? { change } : {}) };
}

/** The put entries of the captures chaos placed on shard `shardIndex`, each routed inside that shard's hash key range. */
export function shardEntries(list: readonly Placed<Capture>[], shards: readonly ShardRange[], shardIndex: number): ShardEntry<Capture>[] {
  const shard = shards[shardIndex];
  if (!shard) throw new Error(`chaos placed a record on shard ${shardIndex} of ${shards.length}`);
  return list.map(({ item }) => ({
    data: item.bytes,
    partitionKey: item.payload.partitionKey,
    explicitHashKey: hashKeyIn(shard, item.payload.partitionKey),
    tag: item,
  }));
}
