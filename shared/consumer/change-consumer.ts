import type { BadRecord } from '../change-record/bad-record';
import type { ChangeRecord, RecordPosition } from '../change-record/change-record';
import { decodeChangeRecord } from '../change-record/decode';
import { fromLambdaKinesisRecord, type KinesisRecordInput } from '../change-record/kinesis-input';
import { badRecordLetter } from '../dead-letter/dead-letter-message';
import { LIVE_EPOCH, type Epoch } from '../ordering/delivery-mode';
import { DeadLetterQueueUnavailableError, LedgerUnavailableError } from '../ordering/errors';
import { OrderingEngine, type OrderingEngineOptions } from '../ordering/engine';
import type { EngineCounts, RecordDisposition } from '../ordering/outcome';
import type { DeadLetter, DeadLetterQueue, Destination, Ledger } from '../ordering/ports';
import type { Retrier } from '../retry/retrier';
import type { RequestDeadline } from '../async/request-deadline';
import type { ConsumedBatch } from './consumed-batch';
import { accountView, type OperatorCommand, type OperatorCommandResult } from './operator-command';
import { readWaitingReport, type WaitingReport } from './waiting-report';
import { WatchedDeadLetterQueue } from './watched-dead-letters';
import { homeLanesOf, laneOptions, type HomeLanes } from './lanes';

export interface ChangeConsumerOptions {
  readonly destination: Destination;
  readonly ledger: Ledger;
  readonly deadLetters: DeadLetterQueue;
  /** Records of any other table are quarantined as WRONG_TABLE. */
  readonly accountsTable: string;
  /** @default LIVE_EPOCH */
  readonly epoch?: Epoch;
  /** The destination's retry budget; its deadline follows each batch's deadline. */
  readonly retrier?: Retrier;
  /**
   * The ledger's and the dead-letter queue's request deadline (see `RequestDeadline`): moved with each batch to its
   * deadline less `REQUEST_RESERVE_MS`, so a hung ledger or queue costs the batch's records (reported failed), not the
   * invocation.
   */
  readonly requestDeadline?: RequestDeadline;
  /** Time kept free at the end of an invocation for ledger commits and dead letters. @default 3 s */
  readonly retryReserveMs?: number;
  readonly engine?: Omit<OrderingEngineOptions, 'destination' | 'ledger' | 'deadLetters' | 'epoch'>;
  /**
   * What the engine gets as a batch's lane (`ProcessOptions.lane`, `laneOf`; see `HomeLanes`): `in-order` accounts are
   * then delivered from their home lane with one ledger write per batch. `true` is `shard`, `false` is `none`.
   * @default 'shard'
   */
  readonly homeLanes?: HomeLanes | boolean;
  /** The mapping's `parallelizationFactor`: part of a `partition-key` lane's name (`partitionKeyLane`). @default 1 */
  readonly parallelizationFactor?: number;
  /** An account waiting longer than this counts as parked too long (a metric, and an alarm in the stack). @default 15 min */
  readonly parkedAgeThresholdMs?: number;
  /** How often, at most, a batch also reports what waits in the ledger (one query of its gaps index). @default 60 s */
  readonly parkedReportEveryMs?: number;
  /** @default Date.now */
  readonly clock?: () => number;
}

/** Time kept after the ledger's and the queue's requests must have ended, for the handler to settle the rest and answer. */
export const REQUEST_RESERVE_MS = 500;

/**
 * One destination's consumer, independent of Lambda: decode, quarantine what cannot be decoded, hand the rest to the
 * ordering engine, and say which records must be retried. The Lambda handler and the local pipeline both use it.
 *
 * Like a Lambda execution environment it works on one batch at a time: calls made while one runs wait their turn,
 * because the retry deadline and the letters watched belong to the batch in hand.
 */
export class ChangeConsumer {
  readonly destination: string;
  readonly #engine: OrderingEngine;
  readonly #homeLanes: HomeLanes;
  readonly #parallelizationFactor: number;
  readonly #deadLetters: WatchedDeadLetterQueue;
  readonly #accountsTable: string;
  readonly #epoch: Epoch;
  readonly #retrier: Retrier | undefined;
  readonly #requestDeadline: RequestDeadline | undefined;
  readonly #retryReserveMs: number;
  readonly #clock: () => number;
  readonly #ledger: Ledger;
  readonly #parkedAgeThresholdMs: number;
  readonly #parkedReportEveryMs: number;
  #lastWaitingReport = -Infinity;
  #tail: Promise<unknown> = Promise.resolve();
  /** Letters stored by calls that threw, not yet taken by `lettersOfAbandonedBatch`. */
  #abandoned: DeadLetter[] = [];

  constructor(options: ChangeConsumerOptions) {
    this.destination = options.destination.name;
    this.#accountsTable = options.accountsTable;
    this.#epoch = options.epoch ?? LIVE_EPOCH;
    this.#retrier = options.retrier;
    this.#requestDeadline = options.requestDeadline;
    this.#retryReserveMs = options.retryReserveMs ?? 3_000;
    this.#clock = options.clock ?? Date.now;
    this.#deadLetters = new WatchedDeadLetterQueue(options.deadLetters);
    this.#ledger = options.ledger;
    this.#parallelizationFactor = options.parallelizationFactor ?? 1;
    this.#homeLanes = homeLanesOf(options.homeLanes);
    this.#parkedAgeThresholdMs = options.parkedAgeThresholdMs ?? 15 * 60_000;
    this.#parkedReportEveryMs = options.parkedReportEveryMs ?? 60_000;
    this.#engine = new OrderingEngine({
      ...options.engine,
      clock: options.engine?.clock ?? this.#clock,
      destination: options.destination,
      ledger: options.ledger,
      deadLetters: this.#deadLetters,
      epoch: this.#epoch,
    });
  }

  /** Processes one batch of one shard, in stream order. `deadline`: when the invocation ends (ms since the epoch). */
  consume(inputs: readonly KinesisRecordInput[], options: { readonly deadline?: number } = {}): Promise<ConsumedBatch> {
    return this.#oneAtATime(() => this.#consume(inputs, options.deadline, this.#homeLanes));
  }

  /** Revisits accounts waiting for a missing version: heals, drains, or times them out (see the engine's sweep). */
  sweep(options: { readonly deadline?: number } = {}): Promise<ConsumedBatch> {
    return this.#oneAtATime(() => this.#sweep(options.deadline));
  }

  /**
   * Carries out an operator's command (see `operator-command.ts`) like a batch: the same deadline, dead-letter queue
   * and metrics. Returns what to answer the operator and the batch to report.
   */
  command(command: OperatorCommand, options: { readonly deadline?: number } = {}): Promise<{ result: OperatorCommandResult; batch: ConsumedBatch }> {
    return this.#oneAtATime(async () => {
      if (command.command === 'redrive') return this.#redrive(command.records.map(fromLambdaKinesisRecord), options.deadline);
      const started = this.#clock();
      this.#startBatch(options.deadline);
      const done =
        command.command === 'skip-gap'
          ? await this.#engine.skipGap(command.accountId, command.through, command.reason, options)
          : command.command === 'write-off'
            ? await this.#engine.writeOff(command.accountId, command.versions, command.reason, options)
            : await this.#engine.resume(command.accountIds, options);
      const accounts = 'account' in done ? [done.account] : done.accounts;
      const batch = this.#report(0, done.outcome.counts, undefined, {
        quarantined: 0,
        failures: done.outcome.failed,
        dispositions: done.outcome.dispositions,
        badRecords: [],
        started,
        oldestMicros: Infinity,
      });
      const result: OperatorCommandResult = {
        orderedFanout: {
          command: command.command,
          destination: this.destination,
          counts: done.outcome.counts,
          accounts: accounts.map(accountView),
          ...('skip' in done ? { skip: done.skip } : {}),
          ...('writeOff' in done ? { writeOff: done.writeOff } : {}),
        },
      };
      return { result, batch };
    });
  }

  /**
   * Records sent back by an operator: processed as a batch on no lane (a side path), since they may run while their
   * shard's own batch does; reports the failures as a batch would, and each account's state afterwards.
   */
  async #redrive(inputs: readonly KinesisRecordInput[], deadline: number | undefined): Promise<{ result: OperatorCommandResult; batch: ConsumedBatch }> {
    const batch = await this.#consume(inputs, deadline, 'none');
    const accountIds = [...new Set(batch.dispositions.map(({ accountId }) => accountId))];
    // The failures are the answer; the accounts' states only add to it, so a ledger out of reach leaves them out.
    const accounts =
      accountIds.length === 0
        ? []
        : await this.#engine.inspect(accountIds).catch((error: unknown) => {
            if (error instanceof LedgerUnavailableError) return [];
            throw error;
          });
    const result: OperatorCommandResult = {
      orderedFanout: {
        command: 'redrive',
        destination: this.destination,
        counts: batch.counts,
        accounts: accounts.map(accountView),
        batchItemFailures: batch.failures.map((failure) => ({ itemIdentifier: failure.sequenceNumber })),
      },
    };
    return { result, batch };
  }

  #oneAtATime<T>(work: () => Promise<T>): Promise<T> {
    const run = this.#tail.then(async () => {
      try {
        return await work();
      } catch (error) {
        // Set aside before the next call in line starts (and watches the queue afresh): the letters are the thrown
        // call's, whenever its caller asks (`lettersOfAbandonedBatch`).
        this.#abandoned.push(...this.#deadLetters.take());
        throw error;
      }
    });
    this.#tail = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }

  async #consume(inputs: readonly KinesisRecordInput[], deadline: number | undefined, lanes: HomeLanes): Promise<ConsumedBatch> {
    const started = this.#clock();
    this.#startBatch(deadline);
    const records = [];
    const badRecords: BadRecord[] = [];
    // Only `partition-key` lanes need to know which input a record came from.
    const decodedFrom: { input: KinesisRecordInput; record: ChangeRecord }[] = [];
    for (const input of inputs) {
      const decoded = decodeChangeRecord(input, { tableName: this.#accountsTable });
      if (!decoded.ok) badRecords.push(decoded.bad);
      else {
        records.push(decoded.record);
        if (lanes === 'partition-key') decodedFrom.push({ input, record: decoded.record });
      }
    }
    const failures: RecordPosition[] = [];
    const quarantined = await this.#quarantine(badRecords, failures);
    const outcome = await this.#engine.process(records, { deadline, ...laneOptions(lanes, inputs, decodedFrom, this.#parallelizationFactor) });
    failures.push(...outcome.failed);
    const waiting = await this.#waitingReport();
    return this.#report(inputs.length, outcome.counts, waiting, {
      quarantined,
      failures,
      dispositions: outcome.dispositions,
      badRecords,
      started,
      oldestMicros: records.reduce((oldest, record) => Math.min(oldest, record.createdAtMicros), Infinity),
    });
  }

  async #sweep(deadline: number | undefined): Promise<ConsumedBatch> {
    const started = this.#clock();
    this.#startBatch(deadline);
    const outcome = await this.#engine.sweep({ deadline });
    this.#lastWaitingReport = -Infinity;
    const batch = this.#report(0, outcome.counts, await this.#waitingReport(), {
      quarantined: 0,
      failures: outcome.failed,
      dispositions: outcome.dispositions,
      badRecords: [],
      started,
      oldestMicros: Infinity,
    });
    return outcome.waitingUnread === undefined ? batch : { ...batch, waitingUnread: outcome.waitingUnread };
  }

  /**
   * The letters the queue stored for the batch that just threw (other accounts' runs had gone on): they are in the
   * queue whatever Lambda does with the batch, so the handler reports them (`Telemetry.batchError`). Empty after. Set
   * aside as the call throws, so a call waiting its turn (two invocations of one environment at once: tests, the local
   * pipeline) cannot take them as its own or drop them: a thrown call's caller gets them, or a later one's, never none.
   */
  lettersOfAbandonedBatch(): DeadLetter[] {
    const letters = this.#abandoned;
    this.#abandoned = [];
    return letters;
  }

  #startBatch(deadline: number | undefined): void {
    this.#deadLetters.watch();
    if (this.#retrier) this.#retrier.deadline = deadline === undefined ? undefined : deadline - this.#retryReserveMs;
    this.#requestDeadline?.set(deadline === undefined ? undefined : deadline - REQUEST_RESERVE_MS);
  }

  async #quarantine(badRecords: readonly BadRecord[], failures: RecordPosition[]): Promise<number> {
    if (badRecords.length === 0) return 0;
    const at = this.#clock();
    const letters = badRecords.map((bad) => badRecordLetter(bad, this.destination, this.#epoch.id, at));
    let stored: readonly boolean[];
    try {
      stored = await this.#deadLetters.send(letters);
    } catch (error) {
      if (!(error instanceof DeadLetterQueueUnavailableError)) throw error;
      stored = letters.map(() => false);
    }
    let quarantined = 0;
    badRecords.forEach((bad, index) => {
      if (stored[index]) quarantined += 1;
      // Not stored anywhere: Lambda must retry it (and, past its retry budget, keep it in the on-failure destination).
      else failures.push({ sequenceNumber: bad.sequenceNumber, shardId: bad.shardId, accountId: bad.accountId, version: bad.version });
    });
    return quarantined;
  }

  /** Reads the gaps index at most every `parkedReportEveryMs`; skipped if the ledger is out of reach. */
  async #waitingReport(): Promise<WaitingReport | undefined> {
    const now = this.#clock();
    if (now - this.#lastWaitingReport < this.#parkedReportEveryMs) return undefined;
    this.#lastWaitingReport = now;
    return readWaitingReport(this.#ledger, now, this.#parkedAgeThresholdMs);
  }

  #report(
    records: number,
    engineCounts: EngineCounts,
    waiting: WaitingReport | undefined,
    parts: {
      quarantined: number;
      failures: readonly RecordPosition[];
      dispositions: readonly RecordDisposition[];
      badRecords: readonly BadRecord[];
      started: number;
      oldestMicros: number;
    },
  ): ConsumedBatch {
    const counts = { ...engineCounts };
    const now = this.#clock();
    return {
      destination: this.destination,
      records,
      counts,
      quarantined: parts.quarantined,
      retries: this.#retrier?.takeRetries() ?? 0,
      failures: parts.failures,
      dispositions: parts.dispositions,
      badRecords: parts.badRecords,
      deadLetters: this.#deadLetters.take(),
      durationMs: now - parts.started,
      oldestChangeAgeMs: Number.isFinite(parts.oldestMicros) ? Math.max(0, now - parts.oldestMicros / 1000) : undefined,
      ...(waiting ? { waiting } : {}),
    };
  }
}
