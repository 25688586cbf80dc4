import { describe, expect, test } from 'vitest';
import { decodeChangeRecord } from '../../shared/change-record/decode';
import { badRecordLetter, decodeDeadLetter, encodeDeadLetter } from '../../shared/dead-letter/dead-letter-message';
import { kdsRecord } from '../support/kds-payload';

describe('a bad record of a big item', () => {
  test('says what was wrong in a short detail: its letter is about the size of the record, not three times it', () => {
    const input = kdsRecord(
      { kind: 'INSERT', newImage: { account_id: 'ACC-1', balance: 'x'.repeat(300_000) as unknown as number, currency: 'AUD', status: 'OPEN', version: 1 }, tableName: 'Accounts' },
      { sequenceNumber: '1' },
    );
    const decoded = decodeChangeRecord(input, { tableName: 'Accounts' });
    expect(decoded.ok).toBe(false);
    if (decoded.ok) return;
    expect(decoded.bad.detail.length).toBeLessThan(400);
    expect(decoded.bad.detail).toContain('(300002 characters)');
    const letter = encodeDeadLetter(badRecordLetter(decoded.bad, 'audit', 'live', 0));
    expect(letter.length).toBeLessThan(input.data.length + 4_000);
  });
});

describe('a bad record of an item near 400 KB', () => {
  test('is dead-lettered with its data gzipped when the letter would pass SQS\'s 1 MiB, and reads back whole', () => {
    const big = 'y'.repeat(390_000);
    const input = kdsRecord(
      {
        kind: 'MODIFY',
        oldImage: { account_id: 'ACC-2', balance: 1, currency: 'AUD', status: 'OPEN', version: 4, note: big } as never,
        newImage: { account_id: 'ACC-2', balance: 1, currency: 'AUD', status: 'OPEN', version: 7, note: big } as never,
        tableName: 'Accounts',
      },
      { sequenceNumber: '2' },
    );
    const decoded = decodeChangeRecord(input, { tableName: 'Accounts' });
    expect(decoded.ok).toBe(false);
    if (decoded.ok) return;
    expect(decoded.bad.reason).toBe('VERSION_JUMP');
    const body = encodeDeadLetter(badRecordLetter(decoded.bad, 'audit', 'live', 0));
    // The base64 data alone is about 1 MB: with the rest of the letter, over SQS's 1 MiB.
    expect(input.data.length).toBeGreaterThan(1_000_000);
    expect(body.length).toBeLessThan(100_000);
    expect(decodeDeadLetter(body).bad?.data).toBe(input.data);
  });
});
