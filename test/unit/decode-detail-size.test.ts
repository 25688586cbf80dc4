import { describe, expect, test } from 'vitest';
import { decodeChangeRecord } from '../../shared/change-record/decode';
import { badRecordLetter, decodeDeadLetter, encodeDeadLetter } from '../../shared/dead-letter/dead-letter-message';
import { MAX_SQS_PAYLOAD_BYTES } from '../../shared/dead-letter/sqs-dead-letter-queue';
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

describe('a record whose key is longer than any DynamoDB key', () => {
  const withKey = (accountId: string) => {
    const input = kdsRecord({ kind: 'INSERT', newImage: { account_id: 'ACC-1', balance: 1, currency: 'AUD', status: 'OPEN', version: 1 }, tableName: 'Accounts' }, { sequenceNumber: '3' });
    const payload = JSON.parse(Buffer.from(input.data, 'base64').toString('utf8'));
    payload.dynamodb.Keys.account_id.S = accountId;
    payload.dynamodb.NewImage.account_id.S = accountId;
    return { ...input, data: Buffer.from(JSON.stringify(payload)).toString('base64') };
  };

  test('is quarantined without its id: copied into the letter (account, detail, attribute) it passed SQS\'s 1 MiB', () => {
    const input = withKey('x'.repeat(700_000));
    const decoded = decodeChangeRecord(input, { tableName: 'Accounts' });
    expect(decoded.ok).toBe(false);
    if (decoded.ok) return;
    expect(decoded.bad).toMatchObject({ reason: 'MISSING_ACCOUNT_ID', detail: "Keys.account_id is longer than DynamoDB's 2048 bytes for a key." });
    expect(decoded.bad.accountId).toBeUndefined();
    const body = encodeDeadLetter(badRecordLetter(decoded.bad, 'audit', 'live', 0));
    expect(Buffer.byteLength(body)).toBeLessThan(MAX_SQS_PAYLOAD_BYTES);
    expect(decodeDeadLetter(body).bad?.data).toBe(input.data);
  });

  test('a key of exactly 2,048 bytes is an account like any other', () => {
    const accountId = `${'账'.repeat(682)}ab`;
    expect(Buffer.byteLength(accountId)).toBe(2048);
    const decoded = decodeChangeRecord(withKey(accountId), { tableName: 'Accounts' });
    expect(decoded.ok && decoded.record.accountId).toBe(accountId);
  });
});
