import type { ChangeRecord } from '../change-record/change-record';
import type { FailedDelivery } from './account-run';
import { InOrderDeliveryRun } from './in-order-delivery';
import type { Fact } from './in-order-ledger';
import { isPlainRun, leadingCopies } from './in-order-rules';
import type { Delivery, DeliveryResult } from './ports';
import { NO_RECORDS, NO_VERSION_LIST } from './run-context';

const RAN: Promise<void> = Promise.resolve();

/**
 * The plain run of an `in-order` account (the batch continues the watermark, nothing else to decide): delivered with
 * one right, at home or under a claim, planned without the steps' bookkeeping per version, and handed over to the
 * steps with what they would hold by then as soon as anything else happens (a failed version, a lost race, a right
 * that changed). Most accounts of most batches take this path; `InOrderHomeRun` and `InOrderClaimRun` give the right.
 */
export abstract class InOrderPlainRun extends InOrderDeliveryRun {
  /**
   * The batch's records, when they are a plain run (`isPlainRun`) that this run may deliver at home or under a claim
   * it takes first, after any copies of delivered versions (`leadingCopies`, settled here as duplicates): most
   * accounts of most batches. The steps would judge nothing else out, deliver them and commit; `deliverPlain` (with
   * `deliverPlainRun` or `deliverPlainVersions`) does that without them. Undefined when the run is not plain.
   */
  protected deliverIfPlain(): Promise<void> | undefined {
    const { ctx } = this;
    if (ctx.epoch.from !== undefined) return undefined;
    const records: ChangeRecord[] = [];
    for (const version of this.versions) records.push(this.records.get(version) as ChangeRecord);
    // Copies of delivered versions often lead the batch: settled as the judge would, they leave a plain run behind.
    const copies = leadingCopies(this.watermark, records);
    if (copies === undefined) return undefined;
    const run = copies === 0 ? records : records.slice(copies);
    if (!isPlainRun(this.watermark, run, ctx.owner, ctx.now())) return undefined;
    const right = this.claimFor((run[0] as ChangeRecord).version);
    if (right !== 'home' && right !== 'take') return undefined;
    for (let index = 0; index < copies; index += 1) this.settleOut((records[index] as ChangeRecord).version, 'duplicate');
    return this.deliverPlain(run, right);
  }

  /** Delivers a plain run with the right found for its first version: at home, or under a claim taken first. */
  protected abstract deliverPlain(records: readonly ChangeRecord[], right: 'home' | 'take'): Promise<void>;

  /**
   * `per-batch`: delivers a plain run with the right the run holds for it in one destination call, answered by
   * `deadline`, and commits it, as the steps would, planned as one watermark (`runFact` of the whole run) rather than a fact, a
   * watermark and two notes per version. A version that failed takes the run back to the steps from there; so does a
   * lost commit race, once the run's fact is re-applied to the fresh watermark.
   */
  protected deliverPlainRun(records: readonly ChangeRecord[], deadline: number, runFact: (run: readonly ChangeRecord[]) => Fact): Promise<void> {
    const before = this.watermark;
    const facts = this.unwrittenCount;
    const dirty = this.dirty;
    const planned = runFact(records)(before);
    // The right to deliver was checked on this watermark, so the run's fact holds on it; if not, the steps decide.
    if (planned === undefined) return this.drive() ?? RAN;
    const deliveries: Delivery[] = [];
    for (const record of records) deliveries.push(this.delivery(record, false));
    this.update(planned);
    const answered = (results: readonly DeliveryResult[]): Promise<void> | undefined => {
      for (let index = 0; index < records.length; index += 1) {
        if ((results[index] as DeliveryResult).status !== 'failed') continue;
        // Back to the run as it was, then as the steps would have planned it up to the version that failed.
        this.undoTo(before, facts, dirty);
        return this.plainRunFailed(records, results, index, runFact);
      }
      for (let index = 0; index < records.length; index += 1) this.countAccepted(results[index] as DeliveryResult, false);
      // A lost race re-reads and goes on with the steps.
      return this.commitPlainRun(records, results, runFact).then((written) => (written ? undefined : this.drive()));
    };
    if (deliveries.length === 1) return this.ctx.deliver(deliveries[0] as Delivery, deadline).then((result) => answered([result]));
    return this.ctx.deliverAll(deliveries, deadline).then(answered);
  }

  /** The plain run's versions before the one that failed delivered, as the steps plan them; then the steps go on. */
  private plainRunFailed(records: readonly ChangeRecord[], results: readonly DeliveryResult[], failedAt: number, runFact: (run: readonly ChangeRecord[]) => Fact): Promise<void> {
    if (failedAt > 0) this.remember(runFact(records.slice(0, failedAt)));
    for (let index = 0; index < failedAt; index += 1) this.accepted(records[index] as ChangeRecord, false, results[index] as Exclude<DeliveryResult, FailedDelivery>);
    return this.goOn(this.failedDelivery(records[failedAt] as ChangeRecord, false, results[failedAt] as FailedDelivery));
  }

  /**
   * The `done` step of a plain run: its records settle once the write lands. Only when the write loses its race does
   * the run take on what the steps would hold by then (each version noted as handled and pending, the run's fact
   * unwritten), for the re-read to re-apply and judge.
   */
  private commitPlainRun(records: readonly ChangeRecord[], results: readonly DeliveryResult[], runFact: (run: readonly ChangeRecord[]) => Fact): Promise<boolean> {
    this.release();
    return this.flush(NO_RECORDS, NO_VERSION_LIST, this.storedToken).then((written) => {
      if (written) {
        this.wrote();
        for (let index = 0; index < records.length; index += 1) this.settleAccepted((records[index] as ChangeRecord).version, results[index] as DeliveryResult);
        return true;
      }
      for (let index = 0; index < records.length; index += 1) {
        const record = records[index] as ChangeRecord;
        this.noteHandled(record, false);
        this.notePending(record.version, results[index] as DeliveryResult);
      }
      this.keepUnwritten(runFact(records));
      return this.lostRace();
    });
  }

  /**
   * `per-version`: delivers a plain run from `records[at]` on, each version in a call of its own with `right`,
   * committed before the next goes (the last commit releases a claim), as the steps would, without their bookkeeping
   * per version (a step, a view of the right, a fact kept, notes of what was handled and is pending): a version's fact
   * (`fact`) plans its watermark, and is kept only if its commit loses its race.
   */
  protected deliverPlainVersions(records: readonly ChangeRecord[], at: number, right: 'home' | 'held', fact: (record: ChangeRecord) => Fact): Promise<void> {
    const record = records[at] as ChangeRecord;
    // Time passes with every write and call: a right that changed (a claim to renew, a deadline near) is the steps'.
    if (this.claimFor(record.version) !== right) return this.drive() ?? RAN;
    const before = this.watermark;
    const facts = this.unwrittenCount;
    const dirty = this.dirty;
    const own = fact(record);
    const planned = own(before);
    if (planned === undefined) return this.drive() ?? RAN;
    this.update(planned);
    return this.ctx.deliver(this.delivery(record, false), this.callDeadline(right)).then((result) => {
      if (result.status === 'failed') {
        this.undoTo(before, facts, dirty);
        return this.goOn(this.failedDelivery(record, false, result));
      }
      this.countAccepted(result, false);
      const last = at === records.length - 1;
      if (last) this.release();
      return this.flush(NO_RECORDS, NO_VERSION_LIST, this.storedToken).then((written): Promise<void> | undefined => {
        if (!written) {
          this.noteHandled(record, false);
          this.notePending(record.version, result);
          this.keepUnwritten(own);
          return this.lostRace().then(() => this.drive());
        }
        this.wrote();
        this.settleAccepted(record.version, result);
        return last ? undefined : this.deliverPlainVersions(records, at + 1, right, fact);
      });
    });
  }
}
