import type { ChangeRecord } from '../change-record/change-record';
import { AccountRun } from './account-run';

/**
 * `latest-state`: delivers only the newest version of the batch above the watermark; everything older is stale.
 *
 * Two engines racing on one account may both deliver, so a `latest-state` destination must itself refuse a version
 * that is not newer than the one it holds (OpenSearch external versioning does): that refusal comes back as `stale`.
 * The watermark only rises (the maximum of what was delivered), with one conditional write per account per batch.
 */
export class LatestStateRun extends AccountRun {
  async run(): Promise<void> {
    const held = this.watermark.version;
    for (const version of this.unsettledVersions()) {
      if (version === held) this.settle(version, 'duplicate');
      else if (version < held) this.settle(version, 'stale');
    }
    const candidates = this.unsettledVersions();
    const newest = candidates.at(-1);
    if (newest === undefined) return;
    for (const version of candidates.slice(0, -1)) this.settle(version, 'stale');

    const record = this.records.get(newest) as ChangeRecord;
    const result = await this.ctx.deliver(this.delivery(record, false));
    if (result.status === 'failed') {
      const stored = await this.deadLetterFailure(record, result);
      this.settle(newest, stored ? 'dead-lettered' : 'failed');
      return;
    }
    this.countAccepted(result, false);
    while (this.watermark.version < newest) {
      this.watermark = { ...this.watermark, version: newest };
      if (await this.flush()) break;
      await this.reload();
    }
    this.settleAccepted(newest, result);
  }
}
