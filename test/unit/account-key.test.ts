import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { boundedKeyPart, KEY_DIGEST_CHARS, SHORTENED_KEY_PART } from '../../shared/accounts/account-key';
import { auditAccountMetadata, auditObjectKey, MAX_OBJECT_KEY_BYTES } from '../../consumers/audit/audit-object';
import { ledgerPartitionKey, MAX_PARTITION_KEY_BYTES } from '../../shared/ledger/ledger-table';
import { decodeChangeRecord } from '../../shared/change-record/decode';
import { kdsRecord } from '../support/kds-payload';

const bytes = (text: string) => Buffer.byteLength(text, 'utf8');
const SHORTENED = SHORTENED_KEY_PART;

describe('boundedKeyPart: an account id inside a key a service bounds in bytes', () => {
  test('leaves a part that fits as it is, and shortens one that does not to at most the bound, the same way every time', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 300 }), fc.integer({ min: KEY_DIGEST_CHARS + 1, max: 160 }), (text, max) => {
        const part = boundedKeyPart(text, max);
        expect(boundedKeyPart(text, max)).toBe(part);
        if (bytes(text) <= max) {
          expect(part).toBe(text);
          return;
        }
        expect(bytes(part)).toBeLessThanOrEqual(max);
        expect(part).toMatch(SHORTENED);
        const kept = part.slice(0, -(KEY_DIGEST_CHARS + 1));
        expect(text.startsWith(kept)).toBe(true);
        // Whole code points only: what is kept is well-formed, and nothing more would have fitted.
        expect(/\p{Cs}/u.test(kept)).toBe(false);
        const next = String.fromCodePoint(text.codePointAt(kept.length) as number);
        expect(bytes(kept) + bytes(next)).toBeGreaterThan(max - KEY_DIGEST_CHARS - 1);
      }),
    );
  });

  test('two long ids that share their start differ in their parts', () => {
    const long = 'ACC-'.repeat(600);
    const parts = new Set(['a', 'b', 'c', 'ab'].map((end) => boundedKeyPart(`${long}${end}`, 100)));
    expect(parts.size).toBe(4);
  });

  test('refuses a bound with no room for the digest', () => {
    expect(() => boundedKeyPart('x'.repeat(40), KEY_DIGEST_CHARS)).toThrow(RangeError);
  });
});

describe('the keys an account id goes into', () => {
  test("the ledger's partition key stays within DynamoDB's 2,048 bytes for any id the Accounts table takes", () => {
    const longest = `${'账'.repeat(682)}ab`;
    expect(bytes(longest)).toBe(2048);
    const key = ledgerPartitionKey('a-destination-of-thirty-chars', 'replay-20261205t120000z-20261205t130000z', longest);
    expect(bytes(key)).toBe(MAX_PARTITION_KEY_BYTES);
    expect(ledgerPartitionKey('fraud', 'live', 'ACC-00001')).toBe('fraud#live#ACC-00001');
  });

  test("the audit object's key stays within S3's 1,024 bytes, and its account-id metadata is header-safe text", () => {
    const prefix = `${'p'.repeat(250)}/`;
    for (const id of ['ACC-00001', '账户-0001', 'Zoë Ωmega/1', `${'账'.repeat(682)}ab`]) {
      const key = auditObjectKey(id, 7, prefix);
      expect(bytes(key)).toBeLessThanOrEqual(MAX_OBJECT_KEY_BYTES);
      expect(key.endsWith('/version=0000000000000007.json')).toBe(true);
      expect(auditAccountMetadata(id)).toMatch(/^[\x21-\x7e]{1,1024}$/);
    }
    expect(auditObjectKey('ACC-00001', 7)).toBe('changes/account_id=ACC-00001/version=0000000000000007.json');
    expect(auditAccountMetadata('ACC-00001')).toBe('ACC-00001');
    expect(decodeURIComponent(auditAccountMetadata('账户-0001'))).toBe('账户-0001');
  });

  test('a record whose account id holds a lone surrogate (no DynamoDB string does) is quarantined, not taken for an account', () => {
    const input = kdsRecord(
      { kind: 'INSERT', newImage: { account_id: 'ACC-\ud800', balance: 1, currency: 'AUD', status: 'OPEN', version: 1 }, tableName: 'Accounts' },
      { sequenceNumber: '1' },
    );
    const decoded = decodeChangeRecord(input, { tableName: 'Accounts' });
    expect(decoded.ok).toBe(false);
    if (!decoded.ok) expect(decoded.bad).toMatchObject({ reason: 'MISSING_ACCOUNT_ID', detail: expect.stringContaining('lone surrogate') });
  });
});
