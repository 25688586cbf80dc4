import type { Message } from '@aws-sdk/client-sqs';
import { decodeDeadLetter } from '../../shared/dead-letter/dead-letter-message';
import type { AccountView } from '../../shared/consumer/operator-command';
import type { DeadLetter } from '../../shared/ordering/ports';
import type { CommandIO } from '../io';
import { destinationOf, type PipelineTarget } from '../target';
import { invokeBatch, redriveEvents, type RedriveItem } from './redrive-batches';
import { failuresAfterRedrive, modeOrNone, redrivenLetter, watching, type RedrivenLetter } from './redrive-judge';
import { gapReport, letterKey, positionOf, routeOf, type LetterRules } from './redrive-letters';
import { redriveSettings, type RedriveOptions } from './redrive-options';
import { depth, HeldMessages, receive, release, remove, SQS_MAX_IN_FLIGHT } from './redrive-queue';
import { applySkips, gapAdvice, gapResolved, resumeAccounts, type SkipReport } from './redrive-gaps';
import { settleWaiting, waitsForItsLane } from './redrive-settle';
import { printRedriveResult } from './redrive-print';
import type { GapTimeoutReport, RedriveCounts, RedriveFailure, RedriveResult } from './redrive-result';
import { shownAccount } from '../account-text';
import { needsWriteOff, writeOffAcknowledged, type AcknowledgedLetter } from './redrive-write-off';

/** Messages received per round; the round is sorted per account and version before it is invoked. */
const ROUND = 500;
/** Long enough for a round of invocations; what is not deleted is made visible again at the end. */
const VISIBILITY_SECONDS = 1_800;
const DRY_RUN_VISIBILITY_SECONDS = 30;
/**
 * A held letter's visibility is extended when less than this is left: more than one invocation can take (Lambda ends
 * one at 15 minutes), so that it never runs out while the run waits for an invocation.
 */
const REDRIVE_MARGIN_SECONDS = 1_200;
/** A dry run only receives (1 s long polls): its letters are extended when less than this is left. */
const DRY_RUN_MARGIN_SECONDS = 20;
const MAX_LISTED = 20;

/**
 * Drains a destination's dead-letter queue back through the ordering engine: each letter's record is rebuilt as a
 * Kinesis-for-DynamoDB record and handed to the destination's real function (`target.invoke`), per account in version
 * order, so an `in-order` account blocked at a dead-lettered version resumes and drains what it parked. A message is
 * deleted only once its invocation reported none of its records failed. Exit code 0 when nothing redrivable was left.
 */
export async function redrive(target: PipelineTarget, options: RedriveOptions, io: CommandIO): Promise<number> {
  const { destination } = options;
  const settings = redriveSettings(target, options);
  if ('refused' in settings) return usage(io, settings.refused);
  const { batchSize, max, dryRun, skipGaps } = settings;
  const { deadLetterQueueUrl: queueUrl, epoch } = destinationOf(target, destination);
  const mode = modeOrNone(target, destination);
  const sqs = target.sqs;
  /** What the function answered, whichever command asked: the accounts as last reported, and the letters it stored. */
  const lastViews = new Map<string, AccountView>();
  let lettersStored = 0;
  const watched = watching(target, (answer) => {
    const { counts, accounts } = answer?.orderedFanout ?? {};
    for (const view of accounts ?? []) lastViews.set(view.accountId, view);
    // Gap notices are not failures of a record: a redrive handles them as it reads them.
    if (counts) lettersStored += Math.max(0, (counts.deadLettered ?? 0) - (counts.gapTimeouts ?? 0));
  });
  const region = target.streamArn.split(':')[3] || 'us-east-1';
  const rules: LetterRules = { destination, epoch, acknowledged: settings.acknowledged, skipBad: options.skipBad ?? false, accountsTable: target.accountsTable, region };
  const startedAt = Date.now();
  const total = await depth(sqs, queueUrl);
  const counts = new Map<string, RedriveCounts>();
  const count = (reason: string): RedriveCounts => {
    let c = counts.get(reason);
    if (!c) counts.set(reason, (c = { received: 0, redriven: 0, stillFailing: 0, skipped: 0, deleted: 0 }));
    return c;
  };
  const gapTimeouts: GapTimeoutReport[] = [];
  const skips: SkipReport[] = dryRun
    ? skipGaps.map(({ accountId, through }) => ({ accountId, through, outcome: { refused: 'dry run: not applied' }, delivered: 0 }))
    : await applySkips(watched, destination, skipGaps, (options.reason ?? '').trim());
  const failures: RedriveFailure[] = [];
  const notes = new Set<string>();
  /**
   * Received and not deleted: kept hidden while the run lasts (a letter seen again would be counted again, or end the
   * read early), made visible again at the end.
   */
  const held = new HeldMessages({
    renewSeconds: VISIBILITY_SECONDS,
    marginSeconds: dryRun ? DRY_RUN_MARGIN_SECONDS : REDRIVE_MARGIN_SECONDS,
    ...(options.clock ? { clock: options.clock } : {}),
  });
  /** Letters redriven in this run, by change, with their time: a later letter for one of them is a new failure. */
  const redriven = new Map<string, number>();
  /** The letters sent through the engine and deleted (their records were not reported failed). */
  const sent: RedrivenLetter[] = [];
  /** Letters read that were written while this run lasted (by its own invocations, or by live traffic), by change. */
  const readBack = new Map<string, RedriveFailure>();
  /** The redriven accounts as the function last reported them. */
  const views = new Map<string, AccountView>();
  let received = 0;
  let done = 0;
  const progress = (n: number): void => {
    done += n;
    io.progress('redrive', done, Math.max(total, done));
  };

  /** Revisits the notices' accounts; a notice whose gap has closed is deleted, an open one stays with advice. */
  const settleGaps = async (gaps: readonly { message: Message; letter: DeadLetter }[]): Promise<void> => {
    let views: Awaited<ReturnType<typeof resumeAccounts>>;
    try {
      views = await resumeAccounts(watched, destination, gaps.map((gap) => gap.letter.accountId as string));
    } catch (error) {
      views = new Map();
      notes.add(`the accounts of GAP_TIMEOUT notices could not be revisited: ${(error as Error).message}`);
    }
    const resolved: Message[] = [];
    for (const { message, letter } of gaps) {
      const view = views.get(letter.accountId as string);
      const c = count('GAP_TIMEOUT');
      if (view && gapResolved(letter.missing ?? [], view)) {
        c.redriven += 1;
        c.deleted += 1;
        resolved.push(message);
        gapTimeouts.push({ ...gapReport(letter), resolved: true, deleted: true });
      } else {
        c.stillFailing += 1;
        const advice = view ? gapAdvice(destination, letter.missing ?? [], view) : 'the account could not be revisited';
        gapTimeouts.push({ ...gapReport(letter), resolved: false, deleted: false, advice });
        failures.push({ reason: 'GAP_TIMEOUT', ...positionOf(letter), detail: advice });
      }
    }
    await remove(sqs, queueUrl, resolved, held, notes);
    progress(gaps.length);
  };

  /** An acknowledged letter reported: deleted, or (dry run, or its write-off failed) kept. */
  const acknowledged = (letter: DeadLetter, deleted: boolean): void => {
    if (deleted) count(letter.reason).deleted += 1;
    if (letter.reason === 'GAP_TIMEOUT') gapTimeouts.push({ ...gapReport(letter), resolved: false, deleted });
    else notes.add(`${letter.reason} letters acknowledged${deleted ? ' and deleted' : dryRun ? ' (dry run: kept)' : ''}`);
  };

  /** Letters held when the queue looked empty with as many in flight as SQS keeps: the rest were never read. */
  let heldAtLimit: number | undefined;
  try {
    for (;;) {
      const round = await receive(sqs, queueUrl, Math.min(ROUND, max - received), dryRun ? DRY_RUN_VISIBILITY_SECONDS : VISIBILITY_SECONDS, held);
      if (round.length === 0) {
        // The queue looks empty to a run holding as many letters as SQS keeps in flight: the rest were never read.
        if (held.size >= (options.inFlightLimit ?? SQS_MAX_IN_FLIGHT)) heldAtLimit = held.size;
        break;
      }
      const items: RedriveItem[] = [];
      const toDelete: Message[] = [];
      const toWriteOff: AcknowledgedLetter[] = [];
      const gaps: { message: Message; letter: DeadLetter }[] = [];
      for (const message of round) {
        let letter: DeadLetter;
        try {
          letter = decodeDeadLetter(message.Body ?? '');
        } catch (error) {
          received += 1;
          count('UNREADABLE').received += 1;
          count('UNREADABLE').skipped += 1;
          notes.add(`unreadable messages left in the queue: ${(error as Error).message}`);
          continue;
        }
        const key = letterKey(letter);
        const earlier = redriven.get(key);
        // A letter written after this redrive began (or a newer one for a change redriven in this run) is what the
        // redrive itself, or live traffic, just dead-lettered: left in the queue, never redriven again in this run.
        // Counted once the run is over, with what the function answered (see stillFailingAfterRedrive).
        if ((letter.record || letter.bad) && (letter.at >= startedAt || (earlier !== undefined && letter.at > earlier))) {
          readBack.set(key, { reason: letter.reason, ...positionOf(letter), detail: `dead-lettered again: ${letter.detail}` });
          continue;
        }
        received += 1;
        const c = count(letter.reason);
        c.received += 1;
        const skip = (note: string): void => {
          c.skipped += 1;
          notes.add(note);
        };
        const route = routeOf(letter, rules, received);
        if (route.to === 'skip') {
          skip(route.note);
        } else if (route.to === 'acknowledge') {
          // Counted once deleted: an every-version letter's versions are written off first (see redrive-write-off).
          if (dryRun) acknowledged(letter, false);
          else if (needsWriteOff(letter, mode, epoch)) toWriteOff.push({ message, letter });
          else {
            acknowledged(letter, true);
            toDelete.push(message);
          }
        } else if (route.to === 'gap') {
          gaps.push({ message, letter });
        } else {
          items.push({ message, reason: letter.reason, input: route.input, ...route.position, key, at: letter.at });
        }
      }
      if (dryRun) {
        for (const item of items) {
          count(item.reason).redriven += 1;
        }
        for (const gap of gaps) {
          count('GAP_TIMEOUT').redriven += 1;
          gapTimeouts.push({ ...gapReport(gap.letter), resolved: false, deleted: false });
        }
        progress(round.length);
        continue;
      }
      if (toWriteOff.length > 0) {
        const deletable = new Set(await writeOffAcknowledged(watched, destination, toWriteOff, notes));
        for (const { message, letter } of toWriteOff) {
          const deleted = deletable.has(message);
          acknowledged(letter, deleted);
          if (deleted) toDelete.push(message);
          else count(letter.reason).skipped += 1;
        }
      }
      await remove(sqs, queueUrl, toDelete, held, notes);
      progress(round.length - items.length - gaps.length);
      for (const event of redriveEvents(items, batchSize)) {
        await held.renewDue(sqs, queueUrl);
        const failed = await invokeBatch(watched, destination, event, region);
        for (const view of failed.accounts) views.set(view.accountId, view);
        const succeeded: Message[] = [];
        for (const item of event) {
          redriven.set(item.key, Math.max(item.at, redriven.get(item.key) ?? 0));
          const c = count(item.reason);
          if (failed.all || failed.ids.has(item.input.sequenceNumber)) {
            c.stillFailing += 1;
            failures.push({ reason: item.reason, ...positionOf(item), detail: failed.detail ?? 'reported in batchItemFailures (the ledger or the dead-letter queue was out of reach)' });
          } else {
            c.redriven += 1;
            c.deleted += 1;
            succeeded.push(item.message);
            sent.push(redrivenLetter(item, target.accountsTable));
          }
        }
        await remove(sqs, queueUrl, succeeded, held, notes);
        progress(event.length);
      }
      // After the records: a redriven missing version is delivered before its account's notice is checked.
      if (gaps.length > 0) {
        await held.renewDue(sqs, queueUrl);
        await settleGaps(gaps);
      }
      if (received >= max) break;
    }
  } finally {
    const stuck = await release(sqs, queueUrl, held);
    if (stuck > 0) notes.add(`${stuck} letter(s) left in the queue could not be made visible again: they reappear by themselves within ${VISIBILITY_SECONDS / 60} minutes`);
  }

  if (heldAtLimit !== undefined) {
    notes.add(
      `the run held ${heldAtLimit} letters (${dryRun ? 'a dry run holds every one' : 'left in the queue'}), as many as SQS keeps in flight, so it could not read the rest: ` +
        `of about ${total} at the start, ${received} were read; redrive or acknowledge what was read, then run again`,
    );
  }
  const waiting = [...views.values()].filter(waitsForItsLane);
  const settleMs = options.settleMs ?? 30_000;
  const settled = waiting.length === 0 ? undefined : await settleWaiting(watched, destination, waiting, { boundMs: settleMs });
  if (settled?.error !== undefined) notes.add(`revisiting the waiting accounts failed, so the run stopped waiting for them: ${settled.error}`);
  if (settled && settled.stillWaiting.length > 0) {
    notes.add(
      `${settled.stillWaiting.length} account(s) still wait for their home lane or a fence to end (${settled.stillWaiting.map(({ accountId, state }) => `${shownAccount(accountId)}: ${state}`).slice(0, 5).join(', ')}): ` +
        'the sweeper delivers them within a minute; fanout status shows them',
    );
  }
  // What was sent and deleted may have failed again: the function dead-lettered it anew (the run may have stopped, at
  // --max, before reading that letter back). Letters read back that were no redriven one's are new failures too.
  const { failures: failedAgain, newLetters } = failuresAfterRedrive(sent, readBack, { mode, views: lastViews, lettersStored });
  for (const failure of failedAgain) {
    count(failure.reason).stillFailing += 1;
    failures.push(failure);
  }
  if (newLetters > 0) {
    notes.add(`the function stored ${newLetters} more letter(s) during the run than are listed as still failing (e.g. parked versions that failed after a redriven one): they are in the queue (fanout redrive ${destination} --dry-run lists them)`);
  }
  const sum: RedriveCounts = { received: 0, redriven: 0, stillFailing: 0, skipped: 0, deleted: 0 };
  for (const c of counts.values()) for (const k of Object.keys(sum) as (keyof RedriveCounts)[]) sum[k] += c[k];
  const drained = !dryRun && heldAtLimit === undefined && sum.stillFailing === 0 && newLetters === 0 && skips.every((report) => 'skipped' in report.outcome);
  const result: RedriveResult = {
    destination,
    queueUrl,
    epoch,
    dryRun,
    reasons: Object.fromEntries(counts),
    total: sum,
    gapTimeouts,
    skips,
    failures: failures.slice(0, MAX_LISTED),
    notes: [...notes],
    ...(settled ? { settled } : {}),
    ...(newLetters > 0 ? { newLetters } : {}),
    drained,
  };
  if (io.json) io.out(JSON.stringify(result));
  else printRedriveResult(io, result, target.description);
  return dryRun || drained ? 0 : 1;
}

function usage(io: CommandIO, message: string): number {
  io.err(message);
  return 2;
}
