import { describe, expect, test } from 'vitest';
import { decodeChangeRecord } from '../../shared/change-record/decode';
import { badRecordLetter, encodeDeadLetter } from '../../shared/dead-letter/dead-letter-message';
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
