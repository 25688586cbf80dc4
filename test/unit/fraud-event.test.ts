import { describe, expect, test } from 'vitest';
import { toPutEventsEntry } from '../../consumers/fraud/fraud-event';
import { accountHistory } from '../support/histories';

describe('fraud events', () => {
  test("carry U+FFFE and U+FFFF escaped in Detail (a rule's SQS target refuses them raw), which reads back the same", () => {
    const [record] = accountHistory('ACC-\uFFFE\uFFFF', 1);
    const entry = toPutEventsEntry({ record: record!, healed: false, replay: false, epoch: 'live' }, 'default', 'ordered-fanout');
    expect(entry.Detail).not.toMatch(/[\uFFFE\uFFFF]/);
    expect(JSON.parse(entry.Detail as string)).toMatchObject({ accountId: 'ACC-\uFFFE\uFFFF', version: 1 });
  });
});

describe('fraud events of items with very long text', () => {
  test('cut each text field to 1,024 characters and say which, so the entry stays within EventBridge\'s 256 KB', () => {
    const [first, second] = accountHistory('ACC-LONG', 2);
    const newImage = { ...second!.newImage!, last_change: { type: 'DEPOSIT', amount: 5, reference: 'r'.repeat(300_000), counterparty: 'ACC-2' } };
    const entry = toPutEventsEntry({ record: { ...second!, newImage } as never, healed: false, replay: false, epoch: 'live' }, 'default', 'ordered-fanout');
    const detail = JSON.parse(entry.Detail as string);
    expect(Buffer.byteLength(entry.Detail as string)).toBeLessThan(8_000);
    expect(detail.reference).toBe(`${'r'.repeat(1_024)}…`);
    expect(detail).toMatchObject({ counterparty: 'ACC-2', truncated: ['reference'] });
    const plain = JSON.parse(toPutEventsEntry({ record: first!, healed: false, replay: false, epoch: 'live' }, 'default', 'ordered-fanout').Detail as string);
    expect(plain).not.toHaveProperty('truncated');
  });
});
