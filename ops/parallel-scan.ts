import { ScanCommand, type AttributeValue, type DynamoDBClient, type ScanCommandInput, type ScanCommandOutput } from '@aws-sdk/client-dynamodb';

/*
 * A parallel Scan: segments side by side, each reading page after page. The commands that read a whole table use it
 * (`status` and `reconcile` the Accounts table, `replay` the ledger), each with its own page handling.
 */

export interface ParallelScanOptions {
  readonly segments: number;
  /** Each page as DynamoDB answered it; true stops the scan: every segment ends after its page in flight. */
  onPage(output: ScanCommandOutput): Promise<boolean | void> | boolean | void;
  /** Called when a segment is done, and once at the start with 0. */
  onProgress?(segmentsDone: number, segments: number): void;
}

/** Scans with `input` in `options.segments` segments. A segment that fails stops the others too, and the scan rejects. */
export async function parallelScan(
  client: DynamoDBClient,
  input: Omit<ScanCommandInput, 'Segment' | 'TotalSegments' | 'ExclusiveStartKey'>,
  options: ParallelScanOptions,
): Promise<void> {
  const { segments } = options;
  let stopped = false;
  let done = 0;
  options.onProgress?.(0, segments);
  await Promise.all(
    Array.from({ length: segments }, async (_, segment) => {
      let startKey: Record<string, AttributeValue> | undefined;
      try {
        do {
          const output = await client.send(new ScanCommand({ ...input, Segment: segment, TotalSegments: segments, ExclusiveStartKey: startKey }));
          if ((await options.onPage(output)) === true) stopped = true;
          startKey = output.LastEvaluatedKey;
        } while (startKey !== undefined && !stopped);
      } catch (error) {
        stopped = true;
        throw error;
      }
      done += 1;
      options.onProgress?.(done, segments);
    }),
  );
}
