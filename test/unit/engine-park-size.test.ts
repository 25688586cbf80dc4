import { randomBytes } from 'node:crypto';
import { describe, expect, test } from 'vitest';
import type { ChangeRecord } from '../../shared/change-record/change-record';
import { MAX_PARKED_BYTES_PER_WRITE, MAX_PARKED_RECORD_BYTES } from '../../shared/ordering/limits';
import type { LedgerWrite } from '../../shared/ordering/ports';
import { GZIP_PARKED_ABOVE_BYTES, itemBytes, parkedRecordBytes, parkedRecordForm } from '../../shared/ordering/stored-image';
import { accountHistory, pick } from '../support/histories';
import { harness } from '../support/engine-harness';

/** The bytes of parked records in each ledger write the engine makes. */
function parkedBytesPerWrite(h: ReturnType<typeof harness>): number[] {
  const sizes: number[] = [];
  const write = h.ledger.write.bind(h.ledger);
  h.ledger.write = (request: LedgerWrite) => {
    if (request.park.length > 0) sizes.push(request.park.reduce((sum, record) => sum + parkedRecordBytes(record, MAX_PARKED_RECORD_BYTES), 0));
    return write(request);
  };
  return sizes;
}

describe('in-order: what a parked record may weigh (DynamoDB: 400 KB an item, 4 MB a transaction)', () => {
  test('a change too big to be a ledger item even gzipped is dead-lettered as PARK_LIMIT, not written (which would fail every time and block the shard), and a redrive delivers it in order', async () => {
    const h = harness('in-order', { inOrderCommit: 'per-batch' });
    const history = accountHistory('A', 5);
    const v4 = history[3] as ChangeRecord;
    // Random text: gzip cannot bring it under the bound.
    const big: ChangeRecord = { ...v4, newImage: { ...v4.newImage!, notes: randomBytes(MAX_PARKED_RECORD_BYTES).toString('base64') } };
    // Versions 2 and 3 are missing: nothing can heal them, so 4 would have to wait parked.
    const batch = [history[0]!, big];

    const outcome = await h.engine.process(batch);

    expect(h.destination.versionsOf('A')).toEqual([1]);
    expect(outcome.counts).toMatchObject({ delivered: 1, parked: 0, parkLimit: 1 });
    expect(h.deadLetters.letters).toHaveLength(1);
    expect(h.deadLetters.letters[0]).toMatchObject({ reason: 'PARK_LIMIT', accountId: 'A', version: 4 });
    expect(h.deadLetters.letters[0]?.detail).toMatch(/KB as a ledger item \(both images, gzipped\), over the 384 KB/);
    expect(h.ledger.allParked()).toEqual([]);

    // 2 and 3 arrive; 4 went to the queue, so the account waits at 3 until the redrive brings it back.
    await h.engine.process([history[1]!, history[2]!]);
    expect(h.destination.versionsOf('A')).toEqual([1, 2, 3]);
    await h.engine.process([big]);
    await h.engine.process([history[4]!]);
    expect(h.destination.versionsOf('A')).toEqual([1, 2, 3, 4, 5]);
    expect(h.ledger.allParked()).toEqual([]);
  });

  test('a change too big for a ledger item as a map parks gzipped, and is delivered from the ledger as it was', async () => {
    const h = harness('in-order', { inOrderCommit: 'per-batch' });
    const history = accountHistory('A', 5);
    const v4 = history[3] as ChangeRecord;
    const notes = 'x'.repeat(MAX_PARKED_RECORD_BYTES);
    const big: ChangeRecord = { ...v4, oldImage: { ...v4.oldImage!, notes }, newImage: { ...v4.newImage!, notes } };
    const form = parkedRecordForm(big, MAX_PARKED_RECORD_BYTES);
    expect(form.gzip).toBeDefined();
    expect(form.bytes).toBeLessThan(GZIP_PARKED_ABOVE_BYTES);

    expect((await h.engine.process([history[0]!, big])).counts).toMatchObject({ delivered: 1, parked: 1, parkLimit: 0 });
    await h.engine.process([history[1]!, history[2]!]);

    expect(h.destination.versionsOf('A')).toEqual([1, 2, 3, 4]);
    expect(h.deadLetters.letters).toEqual([]);
  });

  test('parks a long run of large records over as many writes as their bytes need, each within one transaction', async () => {
    const h = harness('in-order', { inOrderCommit: 'per-batch' });
    // About 300 KB of random text each (it does not compress much): 20 of them do not fit in one transaction.
    const history = accountHistory('A', 23).map((record) => ({ ...record, newImage: { ...record.newImage!, notes: randomBytes(225_000).toString('base64') } }));
    const sizes = parkedBytesPerWrite(h);

    // 2 and 3 missing (no heal), 4-23 wait: 20 records of about 300 KB, 6 MB in all.
    await h.engine.process(pick(history, 1, ...Array.from({ length: 20 }, (_, index) => index + 4)));

    expect(h.destination.versionsOf('A')).toEqual([1]);
    expect(h.ledger.allParked()).toHaveLength(20);
    expect(sizes.length).toBeGreaterThanOrEqual(2);
    for (const size of sizes) expect(size).toBeLessThanOrEqual(MAX_PARKED_BYTES_PER_WRITE);
    const parkedSizes = history.slice(3).map((record) => parkedRecordBytes(record, MAX_PARKED_RECORD_BYTES));
    expect(sizes.reduce((sum, size) => sum + size, 0)).toBe(parkedSizes.reduce((sum, size) => sum + size, 0));

    await h.engine.process([history[1]!, history[2]!]);
    expect(h.destination.versionsOf('A')).toEqual(Array.from({ length: 23 }, (_, index) => index + 1));
    expect(h.ledger.allParked()).toEqual([]);
  });

  test('a parked record is measured by DynamoDB\'s rules, and its Kinesis payload bounds it without a walk', () => {
    expect(itemBytes('héllo')).toBe(6);
    expect(itemBytes('😀')).toBe(4);
    expect(itemBytes({ a: 1, b: null, c: [true, 'xy'] })).toBe(3 + (1 + 1 + 21) + (1 + 1 + 1) + (1 + 1 + (3 + 2 + 1 + 2)));
    expect(itemBytes(new Set(['a', 'bb']))).toBe(3 + 2 + 3);
    const [record] = accountHistory('A', 1);
    expect(parkedRecordBytes({ ...record!, payloadBytes: 1_000 }, MAX_PARKED_RECORD_BYTES)).toBe(1_512);
    // A payload over the bound: the images are measured (they are smaller than their DynamoDB JSON).
    expect(parkedRecordBytes({ ...record!, payloadBytes: 10_000_000 }, MAX_PARKED_RECORD_BYTES)).toBe(512 + 1 + itemBytes(record!.newImage));
  });
});
