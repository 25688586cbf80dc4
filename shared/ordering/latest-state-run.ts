import type { ChangeRecord } from '../change-record/change-record';
import { patched } from './watermark';
import { AccountRun } from './account-run';
import { judgeDelivered, versionReused, withRecent, type ContractBreach } from './contract';
import { notSent } from './ports';
import { isBeforeReplayStart } from './window';

/**
 * `latest-state`: delivers only the newest version of the batch above the watermark; everything older is stale.
 *
 * Two engines racing on one account may both deliver, so a `latest-state` destination must itself refuse a version
 * that is not newer than the one it holds (OpenSearch external versioning does): that refusal comes back as `stale`.
 * The watermark only rises (the maximum of what was delivered), with one conditional write per account per batch.
 * A record that reuses a version (created after the newest delivered change, at a version not above it) would be
 * refused as stale forever: it is dead-lettered as a contract breach instead.
 *
 * With `destinationEnforced` the watermark is never read or written: every batch starts from nothing, delivers its
 * newest version per account, and the destination's answer (`stale`, `duplicate`) is the only judge.
 */
export class LatestStateRun extends AccountRun {
  async run(): Promise<void> {
    if (this.hasConflicts) await this.settleConflicts();
    const w = this.watermark;
    const candidates: number[] = [];
    const breaches: ContractBreach[] = [];
    for (const version of this.unsettledVersions()) {
      const record = this.records.get(version) as ChangeRecord;
      if (isBeforeReplayStart(this.ctx.epoch, record)) {
        this.settle(version, 'before-window');
        continue;
      }
      const reused = versionReused(w, record);
      const judged = reused ?? (version <= w.version ? judgeDelivered(w, record) : undefined);
      if (judged !== undefined && judged !== 'duplicate') breaches.push(judged);
      else if (version === w.version) this.settle(version, 'duplicate');
      else if (version < w.version) this.settle(version, 'stale');
      else candidates.push(version);
    }
    const newest = candidates.at(-1);
    const record = newest === undefined ? undefined : (this.records.get(newest) as ChangeRecord);
    // Older than the batch's newest but written after it: the same reuse, within one batch.
    const asDelivered = record && candidates.length > 1 ? patched(w, { version: record.version, newestCreatedAt: record.createdAtMicros }) : undefined;
    for (let index = 0; index + 1 < candidates.length; index += 1) {
      const version = candidates[index] as number;
      const reused = asDelivered && versionReused(asDelivered, this.records.get(version) as ChangeRecord);
      if (reused) breaches.push(reused);
      else this.settle(version, 'stale');
    }
    if (breaches.length > 0) await this.letterBreaches(breaches);
    if (newest === undefined || record === undefined) return;
    if (this.outOfTime()) {
      this.failRemaining();
      return;
    }

    const result = await this.ctx.deliver(this.delivery(record, false));
    if (result.status === 'failed') {
      const letter = !notSent(result) && (await this.deadLetterFailure(record, result));
      this.settle(newest, letter ? 'dead-lettered' : 'failed');
      return;
    }
    this.countAccepted(result, false);
    while (!this.ctx.destinationEnforced && this.watermark.version < newest) {
      const newestCreatedAt = Math.max(this.watermark.newestCreatedAt ?? 0, record.createdAtMicros);
      const recent = withRecent(this.watermark.recent, record, false);
      this.watermark = patched(this.watermark, { version: newest, newestCreatedAt, lastKind: record.kind, recent });
      if (await this.flush()) break;
      await this.reload();
    }
    this.settleAccepted(newest, result);
  }
}
