import { Client } from '@opensearch-project/opensearch';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OpenSearchIndex } from '../../consumers/search/opensearch-index';
import { startOpenSearchStandIn, type OpenSearchStandIn } from '../../local/standins/opensearch/server';
import type { Delivery } from '../../shared/ordering/ports';
import { Retrier } from '../../shared/retry/retrier';
import { accountHistory } from '../support/histories';

const HOUR = 3_600_000;

/**
 * A REMOVE deletes the account's document with its external version. What refuses a late, older version afterwards is
 * the delete's tombstone, and OpenSearch keeps it only for `index.gc_deletes` (the adapter sets 1 day). Within a ledger
 * epoch the engine's watermark already settles such a version as stale without sending it; across epochs (a replay) or
 * from a racing engine, only the tombstone stands in the way. These tests pin both sides of that window.
 */
describe('search adapter: deletes, tombstones and index.gc_deletes', () => {
  let now = 1_800_000_000_000;
  let standIn: OpenSearchStandIn;
  let client: Client;
  let search: OpenSearchIndex;
  const [v1, v2, v3, removed] = accountHistory('closed-1', 4, { endsWithRemove: true }).map(
    (record): Delivery => ({ record, healed: false, replay: false, epoch: 'live' }),
  ) as [Delivery, Delivery, Delivery, Delivery];
  /** The same version delivered again under another epoch, as a replay would. */
  const replayed = (delivery: Delivery): Delivery => ({ ...delivery, replay: true, epoch: 'replay-1' });

  beforeAll(async () => {
    standIn = await startOpenSearchStandIn({ clock: () => now });
    client = new Client({ node: standIn.endpoint, maxRetries: 0 });
    search = new OpenSearchIndex({ client, index: 'accounts-gc', retrier: new Retrier({ policy: { maxAttempts: 2, baseDelayMs: 1, maxDelayMs: 1 } }) });
  });
  afterAll(async () => {
    await client?.close();
    await standIn?.stop();
  });

  it('creates its index with gc_deletes of one day, and a REMOVE deletes the document with the version', async () => {
    expect(await search.deliver([v1, v2, v3])).toEqual([{ status: 'delivered' }, { status: 'delivered' }, { status: 'delivered' }]);
    const settings = await client.indices.getSettings({ index: 'accounts-gc' });
    expect(settings.body['accounts-gc']?.settings?.index?.gc_deletes).toBe('1d');

    expect(await search.deliver([removed])).toEqual([{ status: 'delivered' }]);
    expect(standIn.document('accounts-gc', 'closed-1')).toBeUndefined();
    expect(standIn.writes('accounts-gc').at(-1)).toMatchObject({ id: 'closed-1', version: 4, op: 'delete' });
  });

  it('refuses an older version as stale for as long as the tombstone lives', async () => {
    expect(await search.deliver([replayed(v3)])).toEqual([{ status: 'stale' }]);
    now += 24 * HOUR - 1;
    expect(await search.deliver([replayed(v2)])).toEqual([{ status: 'stale' }]);
    expect(standIn.document('accounts-gc', 'closed-1')).toBeUndefined();
  });

  it('accepts it once gc_deletes has passed: the deleted account is back at the older version until its REMOVE comes again', async () => {
    now += 1;
    expect(await search.deliver([replayed(v3)])).toEqual([{ status: 'delivered' }]);
    expect(standIn.document('accounts-gc', 'closed-1')).toMatchObject({ version: 3 });

    // A replay reads on and re-delivers the REMOVE, which is newer: the document goes again.
    expect(await search.deliver([replayed(removed)])).toEqual([{ status: 'delivered' }]);
    expect(standIn.document('accounts-gc', 'closed-1')).toBeUndefined();
  });
});
