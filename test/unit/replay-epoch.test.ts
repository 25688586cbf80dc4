import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DESTINATION_NAMES } from '../../infra/config/pipeline-config';
import { replay } from '../../ops/commands/replay';
import { EPOCH_SCAN_PAGE_ITEMS, EPOCH_SCAN_SEGMENTS, epochInLedger } from '../../ops/commands/replay-epoch';
import { recordingIO } from '../../ops/io';
import type { PipelineTarget } from '../../ops/target';
import { ledgerPartitionKey } from '../../shared/ledger/ledger-table';
import { liveDestinations, replayTarget, stubLedger, type StubLedger } from '../support/replay-target';

const STREAM = 'arn:aws:kinesis:eu-west-1:123456789012:stream/accounts-changes';

/** The bundled app's stack, every destination live, over the ledger `ledger`. */
function deployed(ledger: StubLedger): PipelineTarget {
  return replayTarget('OrderedFanout', STREAM, liveDestinations(STREAM), ledger);
}

/**
 * A ledger of `accounts` accounts: per destination a live watermark and a parked record (same partition key), and
 * fraud watermarks under `replay-1` of every tenth account.
 */
function busyLedger(accounts: number): string[] {
  const keys: string[] = [];
  for (let index = 0; index < accounts; index += 1) {
    const account = `acct-${String(index).padStart(5, '0')}`;
    for (const destination of DESTINATION_NAMES) keys.push(ledgerPartitionKey(destination, 'live', account), ledgerPartitionKey(destination, 'live', account));
    if (index % 10 === 0) keys.push(ledgerPartitionKey('fraud', 'replay-1', account));
  }
  // Epochs and destinations whose keys start like fraud's replay-7 without being it.
  keys.push('fraud#replay-70#acct-00001', 'fraud#replay-7-b#acct-00002', 'search#replay-7#acct-00003', 'fraud#replay#7#x');
  return keys;
}

const options = (configFile: string, epoch: string) => ({ destination: 'fraud', from: new Date(Date.now() - 3_600_000).toISOString(), epoch, configFile });
const configFile = () => join(mkdtempSync(join(tmpdir(), 'replay-epoch-')), 'pipeline.json');

describe("fanout replay's used-epoch check", () => {
  it('refuses an epoch used by an account outside any sample: the 100 first accounts have nothing under it', async () => {
    // 3,000 accounts; the epoch delivered only the last one, whose items the scan reaches on a late page.
    const keys = [...busyLedger(3000), ledgerPartitionKey('fraud', 'replay-7', 'acct-02999')];
    const ledger = stubLedger(keys);
    const io = recordingIO();
    expect(await replay(deployed(ledger), options(configFile(), 'replay-7'), io)).toBe(2);
    expect(io.errors).toEqual([
      'replay: --epoch replay-7 was used before: OrderingLedger holds fraud items under it (account acct-02999, the first found), so a replay under it would skip all it delivered then; name a new one',
    ]);
    expect(io.lines).toEqual([]);
    expect(ledger.scans.length).toBeGreaterThan(EPOCH_SCAN_SEGMENTS);
  });

  it('takes an unused epoch after reading the whole ledger, every segment to its last page', async () => {
    const keys = busyLedger(3000);
    const ledger = stubLedger(keys);
    const io = recordingIO();
    expect(await replay(deployed(ledger), options(configFile(), 'replay-7'), io), io.errors.join('\n')).toBe(0);
    expect(io.lines.join('\n')).toMatch(/new epoch\s+replay-7 /);
    const use = await epochInLedger(deployed(stubLedger(keys)), 'fraud', 'replay-7');
    expect(use).toEqual({ pages: ledger.scans.length, scanned: keys.length });
    // 18,304 keys in 4 segments of 4,576: 5 pages each, of at most 1,000.
    expect(ledger.scans).toHaveLength(EPOCH_SCAN_SEGMENTS * Math.ceil(keys.length / EPOCH_SCAN_SEGMENTS / EPOCH_SCAN_PAGE_ITEMS));
  });

  it('asks for the key only, filtered on the epoch, in bounded pages, each continuing where its segment stopped', async () => {
    const ledger = stubLedger(busyLedger(3000));
    await epochInLedger(deployed(ledger), 'fraud', 'replay-7');
    for (const scan of ledger.scans) {
      expect(scan).toMatchObject({
        TableName: 'OrderingLedger',
        TotalSegments: EPOCH_SCAN_SEGMENTS,
        Limit: EPOCH_SCAN_PAGE_ITEMS,
        FilterExpression: 'begins_with(#pk, :prefix)',
        ProjectionExpression: '#pk',
        ExpressionAttributeNames: { '#pk': 'pk' },
        ExpressionAttributeValues: { ':prefix': { S: 'fraud#replay-7#' } },
      });
      expect(scan.ConsistentRead).toBeUndefined();
    }
    for (let segment = 0; segment < EPOCH_SCAN_SEGMENTS; segment += 1) {
      const pages = ledger.scans.filter((scan) => scan.Segment === segment);
      expect(pages[0]!.ExclusiveStartKey).toBeUndefined();
      // Each page starts after the last item the page before it read (the stub's sort key is the item's position).
      expect(pages.map((page) => page.ExclusiveStartKey?.sk?.S)).toEqual([undefined, '999', '1999', '2999', '3999']);
    }
  });

  it('stops at the first hit: on a later page of one segment, and every other segment after its page in flight', async () => {
    const keys = busyLedger(3000);
    // Segment 2's 2,500th key (its third page) is the only item of the epoch.
    keys[2 + 4 * 2500] = ledgerPartitionKey('fraud', 'replay-7', 'acct-hit');
    const ledger = stubLedger(keys);
    const use = await epochInLedger(deployed(ledger), 'fraud', 'replay-7');
    expect(use.found).toBe('acct-hit');
    const pagesOf = (segment: number) => ledger.scans.filter((scan) => scan.Segment === segment).length;
    expect(pagesOf(2)).toBe(3);
    for (const segment of [0, 1, 3]) expect(pagesOf(segment)).toBeLessThanOrEqual(4);
    expect(ledger.scans.length).toBeLessThan(EPOCH_SCAN_SEGMENTS * 5);
    expect(use.pages).toBe(ledger.scans.length);
  });

  it('goes on past pages the filter left empty, with smaller pages and one segment', async () => {
    const keys = [...busyLedger(50), ledgerPartitionKey('fraud', 'replay-7', 'acct-late')];
    const ledger = stubLedger(keys);
    const use = await epochInLedger(deployed(ledger), 'fraud', 'replay-7', { segments: 1, pageItems: 25 });
    expect(use).toEqual({ found: 'acct-late', pages: Math.ceil(keys.length / 25), scanned: keys.length });
    expect(ledger.scans.every((scan) => scan.Segment === 0 && scan.TotalSegments === 1 && scan.Limit === 25)).toBe(true);
  });

  it('refuses the replay when the ledger cannot be read, saying so, and stops the other segments', async () => {
    const denied = Object.assign(new Error('User: arn:aws:iam::123456789012:user/ops is not authorized to perform: dynamodb:Scan on resource: OrderingLedger'), {
      name: 'AccessDeniedException',
    });
    // Segment 1 fails on its second page.
    const ledger = stubLedger(busyLedger(3000), (input) => (input.Segment === 1 && input.ExclusiveStartKey !== undefined ? denied : undefined));
    const io = recordingIO();
    expect(await replay(deployed(ledger), options(configFile(), 'replay-7'), io)).toBe(2);
    expect(io.errors).toEqual([
      `replay: cannot tell whether --epoch replay-7 was used before (scanning OrderingLedger): ${denied.message}`,
    ]);
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(ledger.scans.length).toBeLessThanOrEqual(EPOCH_SCAN_SEGMENTS * 3);
  });

  it('reads nothing for the default epoch, which names the second it was planned in', async () => {
    const ledger = stubLedger(busyLedger(10));
    const io = recordingIO();
    const { epoch: _none, ...withoutEpoch } = options(configFile(), 'unused');
    expect(await replay(deployed(ledger), withoutEpoch, io), io.errors.join('\n')).toBe(0);
    expect(io.lines.join('\n')).toMatch(/replay-\d{8}T\d{6}Z-\d{8}T\d{6}Z/);
    expect(ledger.scans).toEqual([]);
  });

  it('reads nothing for a request refused anyway', async () => {
    const ledger = stubLedger(busyLedger(10));
    const io = recordingIO();
    const future = { ...options(configFile(), 'replay-7'), from: new Date(Date.now() + 3_600_000).toISOString() };
    expect(await replay(deployed(ledger), future, io)).toBe(2);
    expect(io.errors.join('\n')).toMatch(/is in the future/);
    expect(ledger.scans).toEqual([]);
  });
});
