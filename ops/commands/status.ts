import { DESTINATION_MODES } from '../../shared/config/consumer-config';
import { accountState } from '../../shared/ordering/account-state';
import { countVersions } from '../../shared/ordering/version-ranges';
import { type AttributeValue, ScanCommand } from '@aws-sdk/client-dynamodb';
import { DescribeStreamConsumerCommand } from '@aws-sdk/client-kinesis';
import { GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { DESTINATION_NAMES, type DestinationName } from '../../infra/config/pipeline-config';
import { ACCOUNTS_KEY, isValidVersion, type AccountImage } from '../../shared/accounts/account';
import { DynamoDBLedger } from '../../shared/ledger/dynamodb-ledger';
import type { Watermark } from '../../shared/ordering/watermark';
import type { CommandIO } from '../io';
import type { PipelineTarget } from '../target';

/** One Accounts item as scanned: its id, its version and (when asked for) the whole item. */
export interface ScannedAccount {
  readonly accountId: string;
  readonly version: number;
  readonly item?: AccountImage;
}

export interface ScanOptions {
  /** Parallel scan segments. @default 4 */
  readonly segments?: number;
  /** Read whole items (`item`), not only the id and the version. */
  readonly items?: boolean;
  /** Called with every page (pages of different segments may be handled at the same time). */
  onPage(accounts: readonly ScannedAccount[]): Promise<void>;
  /** Called when a segment is done, and once at the start with 0. */
  onProgress?(segmentsDone: number, segments: number): void;
}

/** Walks the Accounts table with a parallel, consistent Scan; returns how many accounts it saw. */
export async function scanAccounts(target: PipelineTarget, options: ScanOptions): Promise<number> {
  const segments = options.segments ?? 4;
  if (!Number.isSafeInteger(segments) || segments < 1 || segments > 1_000_000) {
    throw new RangeError(`segments must be an integer between 1 and 1000000, got ${segments}`);
  }
  let seen = 0;
  let done = 0;
  options.onProgress?.(0, segments);
  await Promise.all(
    Array.from({ length: segments }, async (_, segment) => {
      let startKey: Record<string, AttributeValue> | undefined;
      do {
        const output = await target.dynamodb.send(
          new ScanCommand({
            TableName: target.accountsTable,
            Segment: segment,
            TotalSegments: segments,
            ConsistentRead: true,
            ExclusiveStartKey: startKey,
            ...(options.items
              ? {}
              : { ProjectionExpression: '#id, #version', ExpressionAttributeNames: { '#id': ACCOUNTS_KEY, '#version': 'version' } }),
          }),
        );
        const accounts: ScannedAccount[] = [];
        for (const raw of output.Items ?? []) {
          const accountId = raw[ACCOUNTS_KEY]?.S;
          const version = Number(raw.version?.N);
          if (accountId === undefined || !isValidVersion(version)) continue;
          accounts.push(options.items ? { accountId, version, item: unmarshall(raw) as AccountImage } : { accountId, version });
        }
        seen += accounts.length;
        if (accounts.length > 0) await options.onPage(accounts);
        startKey = output.LastEvaluatedKey;
      } while (startKey);
      done += 1;
      options.onProgress?.(done, segments);
    }),
  );
  return seen;
}

/** The watermarks of `accountIds` in the ledger, read in BatchGets of 100 keys. */
export async function loadWatermarks(ledger: DynamoDBLedger, accountIds: readonly string[]): Promise<Map<string, Watermark>> {
  const found = new Map<string, Watermark>();
  for (let start = 0; start < accountIds.length; start += 100) {
    for (const [id, watermark] of await ledger.load(accountIds.slice(start, start + 100))) found.set(id, watermark);
  }
  return found;
}

/** The ledger of one destination of the target, under the epoch the target runs it with. */
export function ledgerOf(target: PipelineTarget, destination: DestinationName): DynamoDBLedger {
  return new DynamoDBLedger({
    client: target.dynamodb,
    tableName: target.ledgerTable,
    destination,
    epoch: target.destinations[destination].epoch,
  });
}

/** Rows as one aligned table; columns listed in `right` are right-aligned. The last column is never padded. */
export function formatTable(rows: readonly (readonly string[])[], right: ReadonlySet<number> = new Set()): string[] {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  return rows.map((row) =>
    row
      .map((cell, i) => (i === row.length - 1 && !right.has(i) ? cell : right.has(i) ? cell.padStart(widths[i] ?? 0) : cell.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd(),
  );
}

/** `45 s`, `12 min`, `3.5 h`, `2.0 d`. */
export function formatAge(ms: number): string {
  const seconds = Math.max(0, Math.round(ms / 1000));
  if (seconds < 120) return `${seconds} s`;
  if (seconds < 7_200) return `${Math.round(seconds / 60)} min`;
  if (seconds < 172_800) return `${(seconds / 3_600).toFixed(1)} h`;
  return `${(seconds / 86_400).toFixed(1)} d`;
}

export function describeError(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

export function targetSummary(target: PipelineTarget) {
  return {
    kind: target.kind,
    description: target.description,
    accountsTable: target.accountsTable,
    ledgerTable: target.ledgerTable,
    streamArn: target.streamArn,
  };
}

export interface DestinationStatus {
  readonly epoch: string;
  readonly startingPosition: string;
  readonly consumerArn: string;
  /** `ACTIVE`, `CREATING`, `DELETING`; null when unreadable. */
  readonly consumerStatus: string | null;
  /** Accounts in the table. */
  readonly accounts: number | null;
  /** Accounts whose watermark is below the table's version (no watermark counts as 0). */
  readonly accountsBehind: number | null;
  /** Accounts waiting in the ledger for a missing version. */
  readonly waitingAccounts: number | null;
  /** Records parked in the ledger. */
  readonly parked: number | null;
  /** How long the longest-waiting account has waited; 0 when none waits. */
  readonly oldestWaitSeconds: number | null;
  /** Accounts waiting for an operator (in-order): a gap notice went out, or the next version is dead-lettered. */
  readonly gapTimedOut: number | null;
  readonly blockedOnFailure: number | null;
  readonly deadLetters: { readonly visible: number; readonly inFlight: number; readonly total: number } | null;
  /** What could not be read; any makes the exit code 1. */
  readonly errors: readonly string[];
}

/** `fanout status`: per destination its consumer, its lag in accounts, what waits in the ledger, its dead letters. */
export async function status(target: PipelineTarget, options: { destination?: DestinationName }, io: CommandIO): Promise<number> {
  const names = options.destination ? [options.destination] : DESTINATION_NAMES;
  const errors = new Map<DestinationName, string[]>(names.map((name) => [name, []]));
  const fail = (name: DestinationName, what: string, error: unknown): void => void errors.get(name)?.push(`${what}: ${describeError(error)}`);

  // Lag: one scan of the table, each page's watermarks read per destination.
  const behind = new Map<DestinationName, number>(names.map((name) => [name, 0]));
  const withParked = new Map<DestinationName, Set<string>>(names.map((name) => [name, new Set()]));
  const stuck = new Map<DestinationName, Record<'gap-timed-out' | 'blocked-on-failure', number>>(
    names.map((name) => [name, { 'gap-timed-out': 0, 'blocked-on-failure': 0 }]),
  );
  const now = Date.now();
  const lagFailed = new Set<DestinationName>();
  let accounts: number | null = null;
  try {
    accounts = await scanAccounts(target, {
      segments: 4,
      onProgress: (done, total) => io.progress('scan', done, total),
      onPage: async (page) => {
        const ids = page.map((account) => account.accountId);
        await Promise.all(
          names.map(async (name) => {
            if (lagFailed.has(name)) return;
            try {
              const watermarks = await loadWatermarks(ledgerOf(target, name), ids);
              for (const { accountId, version } of page) {
                const watermark = watermarks.get(accountId);
                if ((watermark?.version ?? 0) < version) behind.set(name, (behind.get(name) ?? 0) + 1);
                if (watermark && watermark.parked.length > 0) withParked.get(name)?.add(accountId);
                const state = accountState(watermark, DESTINATION_MODES[name], now);
                const counts = stuck.get(name);
                if (counts && (state === 'gap-timed-out' || state === 'blocked-on-failure')) counts[state] += 1;
              }
            } catch (error) {
              lagFailed.add(name);
              fail(name, 'ledger', error);
            }
          }),
        );
      },
    });
  } catch (error) {
    for (const name of names) {
      lagFailed.add(name);
      fail(name, `table ${target.accountsTable}`, error);
    }
  }

  const report = {} as Record<DestinationName, DestinationStatus>;
  await Promise.all(
    names.map(async (name) => {
      const outputs = target.destinations[name];
      const [consumerStatus, waiting, deadLetters] = await Promise.all([
        target.kinesis
          .send(new DescribeStreamConsumerCommand({ ConsumerARN: outputs.streamConsumerArn }))
          .then((out) => out.ConsumerDescription?.ConsumerStatus ?? null)
          .catch((error: unknown) => (fail(name, 'stream consumer', error), null)),
        waitingOf(ledgerOf(target, name), withParked.get(name) ?? new Set()).catch((error: unknown) => (fail(name, 'ledger waiting', error), null)),
        target.sqs
          .send(
            new GetQueueAttributesCommand({
              QueueUrl: outputs.deadLetterQueueUrl,
              AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
            }),
          )
          .then(({ Attributes: attributes }) => {
            const visible = Number(attributes?.ApproximateNumberOfMessages ?? 0);
            const inFlight = Number(attributes?.ApproximateNumberOfMessagesNotVisible ?? 0);
            return { visible, inFlight, total: visible + inFlight };
          })
          .catch((error: unknown) => (fail(name, 'dead-letter queue', error), null)),
      ]);
      report[name] = {
        epoch: outputs.epoch,
        startingPosition: outputs.startingPosition,
        consumerArn: outputs.streamConsumerArn,
        consumerStatus,
        accounts: lagFailed.has(name) ? null : accounts,
        accountsBehind: lagFailed.has(name) ? null : (behind.get(name) ?? 0),
        waitingAccounts: waiting?.accounts ?? null,
        parked: waiting?.parked ?? null,
        oldestWaitSeconds: waiting ? Math.round(waiting.oldestWaitMs / 1000) : null,
        gapTimedOut: lagFailed.has(name) ? null : (stuck.get(name)?.['gap-timed-out'] ?? 0),
        blockedOnFailure: lagFailed.has(name) ? null : (stuck.get(name)?.['blocked-on-failure'] ?? 0),
        deadLetters,
        errors: errors.get(name) ?? [],
      };
    }),
  );

  const ordered = Object.fromEntries(names.map((name) => [name, report[name]])) as Partial<Record<DestinationName, DestinationStatus>>;
  const unreadable = names.some((name) => report[name].errors.length > 0);
  if (io.json) {
    io.out(JSON.stringify({ target: targetSummary(target), destinations: ordered }, null, 2));
  } else {
    const show = (value: number | null): string => (value === null ? '?' : String(value));
    io.out(`target  ${target.description}`);
    io.out(`table   ${target.accountsTable}: ${show(accounts)} accounts; ledger ${target.ledgerTable}`);
    io.out('');
    const rows = [['destination', 'epoch', 'start', 'consumer', 'behind', 'waiting', 'parked', 'oldest wait', 'gap-timed-out', 'blocked', 'dead letters', 'consumer arn']];
    for (const name of names) {
      const row = report[name];
      rows.push([
        name,
        row.epoch,
        row.startingPosition,
        row.consumerStatus ?? '?',
        show(row.accountsBehind),
        show(row.waitingAccounts),
        show(row.parked),
        row.oldestWaitSeconds === null ? '?' : row.waitingAccounts ? formatAge(row.oldestWaitSeconds * 1000) : '-',
        show(row.gapTimedOut),
        show(row.blockedOnFailure),
        row.deadLetters === null ? '?' : String(row.deadLetters.total),
        row.consumerArn,
      ]);
    }
    for (const line of formatTable(rows, new Set([4, 5, 6, 8, 9, 10]))) io.out(line);
    for (const name of names) for (const error of report[name].errors) io.err(`${name}: unreadable: ${error}`);
  }
  return unreadable ? 1 : 0;
}

/** The accounts waiting in the ledger (the `gaps` index), the records parked there, and the oldest wait. */
async function waitingOf(
  ledger: DynamoDBLedger,
  listedParked: ReadonlySet<string>,
): Promise<{ accounts: number; parked: number; oldestWaitMs: number }> {
  const now = Date.now();
  let oldestSince = now;
  const waiting = new Set<string>();
  for await (const { accountId, since } of ledger.waiting()) {
    waiting.add(accountId);
    if (Number.isFinite(since)) oldestSince = Math.min(oldestSince, since);
  }
  // Parked records sit beside their watermark; count them for every waiting account and every watermark listing some.
  const holders = [...new Set([...waiting, ...listedParked])];
  const watermarks = await ledger.load(holders);
  let parked = 0;
  for (const watermark of watermarks.values()) parked += countVersions(watermark.parked);
  return { accounts: waiting.size, parked, oldestWaitMs: now - oldestSince };
}
