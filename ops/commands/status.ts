import { DescribeStreamConsumerCommand } from '@aws-sdk/client-kinesis';
import { GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import { accountState } from '../../shared/ordering/account-state';
import type { DeliveryMode } from '../../shared/ordering/delivery-mode';
import type { DynamoDBLedger } from '../../shared/ledger/dynamodb-ledger';
import { countVersions } from '../../shared/ordering/version-ranges';
import type { CommandIO } from '../io';
import { destinationOf, modeOf, selectDestinations, type PipelineTarget } from '../target';
import { describeError, targetSummary, type TargetSummary } from './format';
import { printStatus } from './status-print';
import { epochWindowOf, unchangedSinceWindow, type EpochWindow } from './epoch-window';
import { ledgerOf, loadWatermarks, scanAccounts, versionsMissing } from './ledger-scan';
import { scanUndeliveredDeletions } from './undelivered-deletions';

// Where these lived before they were shared: `reconcile` and tests import them from here.
export { describeError, formatAge, formatTable, targetSummary } from './format';
export { printStatus } from './status-print';
export { ledgerOf, loadWatermarks, scanAccounts, type ScannedAccount, type ScanOptions } from './ledger-scan';

export interface DestinationStatus {
  readonly mode: DeliveryMode;
  readonly epoch: string;
  readonly startingPosition: string;
  readonly consumerArn: string;
  /** `ACTIVE`, `CREATING`, `DELETING`; null when unreadable. */
  readonly consumerStatus: string | null;
  /** Accounts in the table. */
  readonly accounts: number | null;
  /**
   * Accounts missing a version of the table's (`versionsMissing`): their watermark is below the table's version (no
   * watermark counts as 0, unless the account is unchanged since a replay's start), or, `every-version`, it passed
   * versions it owes (dead-lettered, gap timed out).
   */
  readonly accountsBehind: number | null;
  /** A replay epoch's window start (`EPOCH_REPLAY_FROM`); null in the live epoch, for a replay without one, or unread. */
  readonly replayFrom: string | null;
  /**
   * Accounts with no watermark in a replay epoch whose `updated_at` is before its start: nothing of theirs is in the
   * window, so the replay owes them nothing. 0 in the live epoch; null when the window could not be read.
   */
  readonly unchangedSinceReplayStart: number | null;
  /**
   * Accounts gone from the table whose watermark in this epoch is still there with a last change that is not the
   * REMOVE: the destination still holds them (search), or never got the deletion (fraud, audit).
   */
  readonly deletionsNotDelivered: number | null;
  /** A few of those accounts. */
  readonly deletionSamples: readonly string[];
  /**
   * Accounts gone from the table whose `every-version` watermark moved onto its last version over versions delivered
   * earlier, so the ledger does not record whether that last change was the REMOVE: not counted as not delivered.
   */
  readonly deletionsUnverified: number | null;
  /**
   * Versions in the table the destination lacks, summed over the accounts: the lag in changes. Not those an
   * `every-version` destination delivered ahead of a gap; with those it owes below its watermark.
   */
  readonly versionsBehind: number | null;
  /** The watermarks' versions summed over the table's accounts: it grows by one per change delivered (or skipped over). */
  readonly watermarkVersions: number | null;
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

/** One reading of the pipeline: what `fanout status` prints, and what `--watch` collects over time. */
export interface StatusSnapshot {
  readonly at: string;
  readonly target: TargetSummary;
  /** Accounts in the table; null when the table could not be read. */
  readonly accounts: number | null;
  /** Every account's version summed: each write raises a version by 1, so this grows by one per change committed. */
  readonly versions: number | null;
  readonly destinations: Readonly<Record<string, DestinationStatus>>;
}

/** Accounts named per destination as samples of undelivered deletions. */
const DELETION_SAMPLES = 5;

interface Tally {
  behind: number;
  unchanged: number;
  deletions: number;
  deletionSamples: string[];
  unverified: number;
  deletionsFailed: boolean;
  versionsBehind: number;
  watermarkVersions: number;
  parkedHolders: Set<string>;
  gapTimedOut: number;
  blockedOnFailure: number;
  failed: boolean;
  errors: string[];
}

/** Reads every destination's status (or one's): one scan of the table, each page's watermarks read per destination. */
export async function collectStatus(
  target: PipelineTarget,
  options: { readonly destination?: string; readonly onProgress?: (done: number, total: number) => void },
): Promise<StatusSnapshot> {
  const names = selectDestinations(target, options.destination);
  const tallies = new Map<string, Tally>(
    names.map((name) => [
      name,
      { behind: 0, unchanged: 0, deletions: 0, deletionSamples: [], unverified: 0, deletionsFailed: false, versionsBehind: 0, watermarkVersions: 0, parkedHolders: new Set(), gapTimedOut: 0, blockedOnFailure: 0, failed: false, errors: [] },
    ]),
  );
  const tally = (name: string): Tally => tallies.get(name) as Tally;
  const fail = (name: string, what: string, error: unknown): void => void tally(name).errors.push(`${what}: ${describeError(error)}`);
  const at = new Date();
  const now = at.getTime();
  let accounts: number | null = null;
  let versions: number | null = 0;
  // Unread, a replay's window counts its accounts without a watermark as behind, as before it was known.
  const windows = new Map<string, EpochWindow | null>();
  await Promise.all(names.map(async (name) => windows.set(name, await epochWindowOf(target, name).catch((error: unknown) => (fail(name, "replay's start (function environment)", error), null)))));
  const deletions = scanUndeliveredDeletions(
    target,
    names.map((name) => ({ destination: name, epoch: destinationOf(target, name).epoch })),
    {
      segments: 4,
      onFound: (found) => {
        for (const { destination, accountId, lastKind } of found) {
          const t = tally(destination);
          // Nothing says whether the last change was the REMOVE: counted apart, never as a deletion not delivered.
          if (lastKind === null) {
            t.unverified += 1;
            continue;
          }
          t.deletions += 1;
          if (t.deletionSamples.length < DELETION_SAMPLES) t.deletionSamples.push(accountId);
        }
      },
    },
  ).catch((error: unknown) => {
    for (const name of names) {
      tally(name).deletionsFailed = true;
      fail(name, `ledger ${target.ledgerTable} (deletions)`, error);
    }
  });
  try {
    accounts = await scanAccounts(target, {
      segments: 4,
      ...(options.onProgress ? { onProgress: options.onProgress } : {}),
      onPage: async (page) => {
        for (const { version } of page) versions = (versions ?? 0) + version;
        const ids = page.map((account) => account.accountId);
        await Promise.all(
          names.map(async (name) => {
            const t = tally(name);
            if (t.failed) return;
            try {
              const mode = modeOf(target, name);
              const window = windows.get(name) ?? {};
              const watermarks = await loadWatermarks(ledgerOf(target, name), ids);
              for (const { accountId, version, updatedAt } of page) {
                const watermark = watermarks.get(accountId);
                if (unchangedSinceWindow(window, watermark, updatedAt)) {
                  t.unchanged += 1;
                  continue;
                }
                const reached = watermark?.version ?? 0;
                const missing = versionsMissing(watermark, version, mode);
                if (missing > 0) t.behind += 1;
                t.versionsBehind += missing;
                t.watermarkVersions += reached;
                if (watermark && watermark.parked.length > 0) t.parkedHolders.add(accountId);
                const state = accountState(watermark, mode, now);
                if (state === 'gap-timed-out') t.gapTimedOut += 1;
                else if (state === 'blocked-on-failure') t.blockedOnFailure += 1;
              }
            } catch (error) {
              t.failed = true;
              fail(name, 'ledger', error);
            }
          }),
        );
      },
    });
  } catch (error) {
    versions = null;
    for (const name of names) {
      tally(name).failed = true;
      fail(name, `table ${target.accountsTable}`, error);
    }
  }
  await deletions;

  const entries = await Promise.all(
    names.map(async (name): Promise<[string, DestinationStatus]> => {
      const outputs = destinationOf(target, name);
      const t = tally(name);
      const [consumerStatus, waiting, deadLetters] = await Promise.all([
        target.kinesis
          .send(new DescribeStreamConsumerCommand({ ConsumerARN: outputs.streamConsumerArn }))
          .then((out) => out.ConsumerDescription?.ConsumerStatus ?? null)
          .catch((error: unknown) => (fail(name, 'stream consumer', error), null)),
        waitingOf(ledgerOf(target, name), t.parkedHolders).catch((error: unknown) => (fail(name, 'ledger waiting', error), null)),
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
      const read = <T>(value: T): T | null => (t.failed ? null : value);
      return [
        name,
        {
          mode: modeOf(target, name),
          epoch: outputs.epoch,
          startingPosition: outputs.startingPosition,
          consumerArn: outputs.streamConsumerArn,
          consumerStatus,
          accounts: read(accounts),
          accountsBehind: read(t.behind),
          replayFrom: windows.get(name)?.from ?? null,
          unchangedSinceReplayStart: windows.get(name) === null ? null : read(t.unchanged),
          deletionsNotDelivered: t.deletionsFailed ? null : t.deletions,
          deletionSamples: t.deletionSamples,
          deletionsUnverified: t.deletionsFailed ? null : t.unverified,
          versionsBehind: read(t.versionsBehind),
          watermarkVersions: read(t.watermarkVersions),
          waitingAccounts: waiting?.accounts ?? null,
          parked: waiting?.parked ?? null,
          oldestWaitSeconds: waiting ? Math.round(waiting.oldestWaitMs / 1000) : null,
          gapTimedOut: read(t.gapTimedOut),
          blockedOnFailure: read(t.blockedOnFailure),
          deadLetters,
          errors: t.errors,
        },
      ];
    }),
  );
  return { at: at.toISOString(), target: targetSummary(target), accounts, versions, destinations: Object.fromEntries(entries) };
}

/** 1 when something could not be read, else 0. */
export function statusExitCode(snapshot: StatusSnapshot): number {
  return Object.values(snapshot.destinations).some((row) => row.errors.length > 0) ? 1 : 0;
}

/** `fanout status`: per destination its consumer, its lag in accounts, what waits in the ledger, its dead letters. */
export async function status(target: PipelineTarget, options: { destination?: string }, io: CommandIO): Promise<number> {
  const snapshot = await collectStatus(target, { ...options, onProgress: (done, total) => io.progress('scan', done, total) });
  printStatus(io, target, snapshot);
  return statusExitCode(snapshot);
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
