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
