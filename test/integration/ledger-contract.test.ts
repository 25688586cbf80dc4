import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { PutItemCommand } from '@aws-sdk/client-dynamodb';
import { marshall, NumberValueImpl } from '@aws-sdk/util-dynamodb';
import type { ChangeRecord } from '../../shared/change-record/change-record';
import { createLedgerTable } from '../../local/tables';
import { ledgerPartitionKey } from '../../shared/ledger/ledger-table';
import { RecordingDeadLetterQueue, RecordingDestination } from '../../local/recording-destination';
import { OrderingEngine } from '../../shared/ordering/engine';
import { DynamoDBLedger } from '../../shared/ledger/dynamodb-ledger';
import { InMemoryLedger, InMemoryLedgerStore } from '../../shared/ledger/in-memory-ledger';
import { LedgerUnavailableError } from '../../shared/ordering/errors';
import type { Ledger } from '../../shared/ordering/ports';
import { emptyWatermark, type Watermark } from '../../shared/ordering/watermark';
import { localDynamoDB, uniqueTableName } from '../support/dynamodb';
import { accountHistory } from '../support/histories';

let client: DynamoDBClient;
let tableName: string;

beforeAll(async () => {
  client = localDynamoDB();
  tableName = uniqueTableName('ledger');
  await createLedgerTable(client, tableName);
});
afterAll(() => client.destroy());

const store = new InMemoryLedgerStore();
const implementations: [string, (destination: string, epoch: string) => Ledger][] = [
  ['InMemoryLedger', (destination, epoch) => new InMemoryLedger({ destination, epoch, store })],
  ['DynamoDBLedger', (destination, epoch) => new DynamoDBLedger({ client, tableName, destination, epoch })],
];

let run = 0;
const fullWatermark = (accountId: string): Watermark => ({
  accountId,
  version: 7,
  revision: 1,
  ahead: [
    [9, 9],
    [12, 2 ** 40],
  ],
  parked: [[20, 30]],
  owed: [[8, 8]],
  skipped: [[1, 2]],
  lastImage: { account_id: accountId, balance: 120, version: 7, status: 'OPEN', tags: { region: 'au', tier: 2 } },
  lastKind: 'MODIFY',
  newestCreatedAt: 1_795_392_000_123_456,
  heals: [{ version: 6, digest: 'abcdefghijklmnop' }],
  recent: [
    { version: 7, createdAt: 1_795_392_000_123_456, kind: 'MODIFY' },
    { version: 5, createdAt: 1_795_392_000_100_000, kind: 'REMOVE' },
    // An entry written by an earlier release: no kind.
    { version: 4, createdAt: 1_795_392_000_090_000 },
  ],
  skips: [{ from: 1, to: 2, reason: 'lost in an incident', at: 1_800_000_000_100 }],
  claim: { owner: 'engine-1', token: 'engine-1:7', version: 8, through: 12, expiresAt: 1_800_000_060_000 },
  gapSince: 1_800_000_000_000,
  gapNotice: { from: 8, to: 8, at: 1_800_000_000_200 },
  floor: 2,
  updatedAt: 1_800_000_000_500,
});

describe.each(implementations)('%s', (_name, makeLedger) => {
  const fresh = (): { ledger: Ledger; account: (n: number) => string } => {
    run += 1;
    return { ledger: makeLedger('fraud', `e${run}`), account: (n) => `ACC-${run}-${n}` };
  };

  test('creates a watermark only where none exists, then only on the revision read', async () => {
    const { ledger, account } = fresh();
    const id = account(1);
    const first: Watermark = { ...emptyWatermark(id), version: 1, revision: 1 };

    expect(await ledger.write({ expectedRevision: 0, next: first, park: [], unpark: [] })).toBe('committed');
    expect(await ledger.write({ expectedRevision: 0, next: first, park: [], unpark: [] })).toBe('conflict');
    expect(await ledger.write({ expectedRevision: 5, next: { ...first, revision: 6 }, park: [], unpark: [] })).toBe('conflict');
    expect(await ledger.write({ expectedRevision: 1, next: { ...first, version: 2, revision: 2 }, park: [], unpark: [] })).toBe(
      'committed',
    );
    expect((await ledger.load([id])).get(id)).toMatchObject({ version: 2, revision: 2 });
  });

  test('round-trips every watermark field', async () => {
    const { ledger, account } = fresh();
    const watermark = fullWatermark(account(1));
    await ledger.write({ expectedRevision: 0, next: watermark, park: [], unpark: [] });
    expect((await ledger.load([watermark.accountId])).get(watermark.accountId)).toEqual(watermark);
  });

  test('loads many accounts in one call, leaving out those without a watermark', async () => {
    const { ledger, account } = fresh();
    const ids = Array.from({ length: 230 }, (_, n) => account(n));
    await Promise.all(
      ids
        .filter((_, n) => n % 3 === 0)
        .map((id) => ledger.write({ expectedRevision: 0, next: { ...emptyWatermark(id), version: 3, revision: 1 }, park: [], unpark: [] })),
    );

    const loaded = await ledger.load([...ids, ids[0] as string]);

    expect(loaded.size).toBe(77);
    expect([...loaded.values()].every((w) => w.version === 3)).toBe(true);
  });

  test('parks whole records and returns them in version order; unpark removes them', async () => {
    const { ledger, account } = fresh();
    const id = account(1);
    const history = accountHistory(id, 120);
    const park = [history[99], history[9], history[1], history[119]].map((r) => r!);

    const listed: Watermark['parked'] = [[2, 2], [10, 10], [100, 100], [120, 120]];
    await ledger.write({ expectedRevision: 0, next: { ...emptyWatermark(id), revision: 1, parked: listed }, park, unpark: [] });

    const parked = await ledger.parked(id, 1, 200, 100);
    expect(parked.map((r) => r.version)).toEqual([2, 10, 100, 120]);
    expect(parked[0]).toEqual(history[1]);
    // A version range, and a limit, read only what is asked for.
    expect((await ledger.parked(id, 3, 100, 100)).map((r) => r.version)).toEqual([10, 100]);
    expect((await ledger.parked(id, 1, 200, 2)).map((r) => r.version)).toEqual([2, 10]);
    const next = { ...emptyWatermark(id), revision: 2, parked: [[2, 2], [100, 100]] as Watermark['parked'] };
    expect(await ledger.write({ expectedRevision: 1, next, park: [], unpark: [10, 120] })).toBe('committed');
    expect((await ledger.parked(id, 1, 200, 100)).map((r) => r.version)).toEqual([2, 100]);
  });

  test('keeps images with numbers beyond 2^53 and sets exactly, in the watermark and in parked records', async () => {
    const { ledger, account } = fresh();
    const id = account(1);
    const unusual = { big: 12345678901234567890n, huge: NumberValueImpl.from('1E+30'), odd: NumberValueImpl.from('12345678901234567890.5'), tags: new Set(['a', 'b']) };
    const [, second] = accountHistory(id, 2);
    const parked = { ...second!, newImage: { ...second!.newImage!, ...unusual } } as unknown as ChangeRecord;
    const next = { ...emptyWatermark(id), version: 1, revision: 1, lastImage: { account_id: id, balance: 1, version: 1, ...unusual } as never, parked: [[2, 2]] as Watermark['parked'] };
    expect(await ledger.write({ expectedRevision: 0, next, park: [parked], unpark: [] })).toBe('committed');
    const loaded = (await ledger.load([id])).get(id);
    expect(String((loaded?.lastImage as Record<string, unknown>).huge)).toBe('1E+30');
    expect((loaded?.lastImage as Record<string, unknown>).big).toBe(12345678901234567890n);
    expect((loaded?.lastImage as Record<string, unknown>).tags).toEqual(new Set(['a', 'b']));
    const [back] = await ledger.parked(id, 2, 2, 1);
    expect(String((back?.newImage as Record<string, unknown>).odd)).toBe('12345678901234567890.5');
  });

  test('an account id as long as the Accounts table allows (2,048 bytes) is written, parked and read back whole', async () => {
    const { ledger } = fresh();
    // Three-byte characters: 682 of them and two ASCII bytes are 2,048 bytes; two such ids differ only at the end.
    const id = (last: string) => `${'账'.repeat(682)}${last}x`;
    for (const accountId of [id('a'), id('b')]) {
      const history = accountHistory(accountId, 3);
      const next = { ...emptyWatermark(accountId), version: 1, revision: 1, parked: [[3, 3]] as Watermark['parked'], gapSince: 1_800_000_000_000 };
      expect(await ledger.write({ expectedRevision: 0, next, park: [history[2]!], unpark: [] })).toBe('committed');
    }
    for (const accountId of [id('a'), id('b')]) {
      expect((await ledger.load([accountId])).get(accountId)).toMatchObject({ accountId, version: 1, revision: 1 });
      expect((await ledger.parked(accountId, 1, 10, 10)).map((r) => [r.accountId, r.version])).toEqual([[accountId, 3]]);
    }
    // The sweep finds them by the gaps index, which holds keys only: it must still name the whole ids.
    const waiting: string[] = [];
    for await (const entry of ledger.waiting()) waiting.push(entry.accountId);
    expect(waiting.sort()).toEqual([id('a'), id('b')]);
  });

  test('parks and unparks nothing when the watermark write loses its race', async () => {
    const { ledger, account } = fresh();
    const id = account(1);
    const history = accountHistory(id, 3);
    await ledger.write({ expectedRevision: 0, next: { ...emptyWatermark(id), revision: 1, parked: [[2, 2]] }, park: [history[1]!], unpark: [] });

    const lost = await ledger.write({
      expectedRevision: 4,
      next: { ...emptyWatermark(id), revision: 5, parked: [[3, 3]] },
      park: [history[2]!],
      unpark: [2],
    });

    expect(lost).toBe('conflict');
    expect((await ledger.parked(id, 1, 10, 100)).map((r) => r.version)).toEqual([2]);
  });

  test('a fenced write commits only while the stored claim still carries the fence token', async () => {
    const { ledger, account } = fresh();
    const id = account(1);
    const claimed = (token: string, revision: number): Watermark => ({
      ...emptyWatermark(id),
      version: 1,
      revision,
      claim: { owner: token.split(':')[0] as string, token, version: 2, expiresAt: 1_800_000_060_000 },
    });
    await ledger.write({ expectedRevision: 0, next: claimed('a:1', 1), park: [], unpark: [] });

    expect(await ledger.write({ expectedRevision: 1, next: claimed('a:2', 2), park: [], unpark: [], fence: 'b:1' })).toBe('conflict');
    expect(await ledger.write({ expectedRevision: 1, next: claimed('a:2', 2), park: [], unpark: [], fence: 'a:1' })).toBe('committed');
    expect((await ledger.load([id])).get(id)?.claim?.token).toBe('a:2');
  });

  test('refuses a write beyond the transaction limit of 100 items', async () => {
    const { ledger, account } = fresh();
    const id = account(1);
    const history = accountHistory(id, 100);
    const write = { expectedRevision: 0, next: { ...emptyWatermark(id), revision: 1 }, park: history, unpark: [] };
    await expect(ledger.write(write)).rejects.toThrow(RangeError);
  });

  test('lists waiting accounts oldest first, only in its own destination and epoch', async () => {
    const { ledger, account } = fresh();
    const wait = (id: string, since: number | undefined): Promise<unknown> =>
      ledger.write({
        expectedRevision: 0,
        next: { ...emptyWatermark(id), revision: 1, ...(since === undefined ? {} : { gapSince: since }) },
        park: [],
        unpark: [],
      });
    await wait(account(1), 3_000);
    await wait(account(2), undefined);
    await wait(account(3), 1_000);
    await wait(account(4), 2_000);
    const neighbour = makeLedger('audit', `e${run}`);
    await neighbour.write({ expectedRevision: 0, next: { ...emptyWatermark(account(5)), revision: 1, gapSince: 1 }, park: [], unpark: [] });

    const waiting: { accountId: string; since: number }[] = [];
    for await (const entry of ledger.waiting()) waiting.push(entry);

    expect(waiting).toEqual([
      { accountId: account(3), since: 1_000 },
      { accountId: account(4), since: 2_000 },
      { accountId: account(1), since: 3_000 },
    ]);
  });

  test('goes on after a saved sweep position, even one whose account no longer waits; the position is kept per destination and epoch', async () => {
    const { ledger, account } = fresh();
    const wait = (id: string, since: number | undefined, revision = 1): Promise<unknown> =>
      ledger.write({
        expectedRevision: revision - 1,
        next: { ...emptyWatermark(id), revision, ...(since === undefined ? {} : { gapSince: since }) },
        park: [],
        unpark: [],
      });
    for (let i = 1; i <= 5; i += 1) await wait(account(i), i * 1_000);
    const listed = async (after?: { accountId: string; since: number }): Promise<string[]> => {
      const ids: string[] = [];
      for await (const entry of ledger.waiting(after)) ids.push(entry.accountId);
      return ids;
    };

    expect(await ledger.sweepPosition()).toBeUndefined();
    await ledger.saveSweepPosition({ accountId: account(2), since: 2_000 });
    const position = await ledger.sweepPosition();
    expect(position).toEqual({ accountId: account(2), since: 2_000 });
    expect(await listed(position)).toEqual([account(3), account(4), account(5)]);
    // Account 2 stops waiting: the position still holds.
    await wait(account(2), undefined, 2);
    expect(await listed(position)).toEqual([account(3), account(4), account(5)]);
    expect(await makeLedger('audit', `e${run}`).sweepPosition()).toBeUndefined();
    await ledger.saveSweepPosition(undefined);
    expect(await ledger.sweepPosition()).toBeUndefined();
    expect(await listed()).toEqual([account(1), account(3), account(4), account(5)]);
  });
});

describe('DynamoDBLedger failures', () => {
  test('a missing table surfaces as LedgerUnavailableError naming the cause', async () => {
    const ledger = new DynamoDBLedger({ client, tableName: 'no-such-ledger-table', destination: 'fraud', epoch: 'live' });
    await expect(ledger.load(['A'])).rejects.toBeInstanceOf(LedgerUnavailableError);
    await expect(ledger.load(['A'])).rejects.toThrow(/ResourceNotFoundException/);
  });

  test('refuses destination or epoch names that would break the key design', () => {
    expect(() => new DynamoDBLedger({ client, tableName, destination: 'a#b', epoch: 'live' })).toThrow(RangeError);
  });

  test('a change of a big item parks gzipped (as a map it would pass DynamoDB\'s 400 KB an item) and comes back exactly', async () => {
    const notes = 'x'.repeat(250_000);
    await expect(
      client.send(new PutItemCommand({ TableName: tableName, Item: { pk: { S: 'too-big' }, sk: { S: 'x' }, a: { S: notes }, b: { S: notes } } })),
    ).rejects.toThrow(/size/i);
    const history = accountHistory('ZIP', 5);
    const v4 = history[3]!;
    const exact = { huge: 12345678901234567890n, tags: new Set(['a', 'b']) };
    const big = { ...v4, oldImage: { ...v4.oldImage!, notes }, newImage: { ...v4.newImage!, notes, ...exact } } as ChangeRecord;
    const destination = new RecordingDestination('park-zip', 'in-order');
    const ledger = new DynamoDBLedger({ client, tableName, destination: 'park-zip', epoch: 'live' });
    const engine = new OrderingEngine({ destination, deadLetters: new RecordingDeadLetterQueue(), ledger });

    expect((await engine.process([history[0]!, big])).counts).toMatchObject({ delivered: 1, parked: 1, parkLimit: 0 });
    expect(await ledger.parked('ZIP', 4, 4, 1)).toEqual([big]);
    await engine.process([history[1]!, history[2]!]);

    expect(destination.versionsOf('ZIP')).toEqual([1, 2, 3, 4]);
  });

  test('a change too big to park even gzipped is dead-lettered, not written, and the batch goes on', async () => {
    // DynamoDB Local refuses an item over 400 KB, as DynamoDB does: parking it would fail on every retry and block the
    // shard. Random text does not compress below that.
    const notes = randomBytes(260_000).toString('base64');

    const history = accountHistory('BIG', 5);
    const v4 = history[3]!;
    const big = { ...v4, oldImage: { ...v4.oldImage!, notes }, newImage: { ...v4.newImage!, notes } };
    const destination = new RecordingDestination('park-size', 'in-order');
    const deadLetters = new RecordingDeadLetterQueue();
    const engine = new OrderingEngine({ destination, deadLetters, ledger: new DynamoDBLedger({ client, tableName, destination: 'park-size', epoch: 'live' }) });

    const outcome = await engine.process([history[0]!, big, history[4]!]);

    expect(destination.versionsOf('BIG')).toEqual([1]);
    expect(outcome.failed).toEqual([]);
    expect(outcome.counts).toMatchObject({ delivered: 1, parked: 1, parkLimit: 1 });
    expect(deadLetters.letters.map((letter) => [letter.reason, letter.version])).toEqual([['PARK_LIMIT', 4]]);
  });
});

describe('an Accounts item nested as deep as DynamoDB allows', () => {
  const nested = (containers: number, leaf: unknown): unknown => {
    let value = leaf;
    for (let level = 0; level < containers; level += 1) value = { a: value };
    return value;
  };
  const deep = (history: ChangeRecord[]): ChangeRecord[] =>
    history.map((record) => ({
      ...record,
      ...(record.oldImage ? { oldImage: { ...record.oldImage, note: nested(31, 'x') } } : {}),
      ...(record.newImage ? { newImage: { ...record.newImage, note: nested(31, 'x') } } : {}),
    }));

  test('DynamoDB takes 31 maps inside each other under an attribute, and refuses 32', async () => {
    const attribute = (containers: number) => marshall({ note: nested(containers, 'x') }).note!;
    await client.send(new PutItemCommand({ TableName: tableName, Item: { pk: { S: 'nesting' }, sk: { S: '31' }, note: attribute(31) } }));
    await expect(
      client.send(new PutItemCommand({ TableName: tableName, Item: { pk: { S: 'nesting' }, sk: { S: '32' }, note: attribute(32) } })),
    ).rejects.toThrow(/Nesting Levels/);
  });

  // The ledger stores an image one level deeper (`last_image`) and a parked record's images two (`record.newImage`):
  // DynamoDB refused those writes on every retry, so the record was reported failed again and again, and its shard
  // stood still. The last image is then not kept (no heal, as for a big one), a parked record goes gzipped.
  test.each(['every-version', 'in-order'] as const)('%s: its changes are committed and parked, and come back exactly', async (mode) => {
    const name = `nesting-${mode}`;
    const history = deep(accountHistory('DEEP', 4));
    const destination = new RecordingDestination(name, mode);
    const ledger = new DynamoDBLedger({ client, tableName, destination: name, epoch: 'live' });
    const engine = new OrderingEngine({ destination, deadLetters: new RecordingDeadLetterQueue(), ledger });

    expect((await engine.process([history[0]!])).failed).toEqual([]);
    // v1's image was too deep to keep, so v2 cannot be healed: v3 waits (in-order: parked) for the real v2.
    expect((await engine.process([history[2]!])).failed).toEqual([]);
    if (mode === 'in-order') expect(await ledger.parked('DEEP', 3, 3, 1)).toEqual([history[2]]);
    expect((await engine.process([history[1]!, history[3]!])).failed).toEqual([]);

    expect([...destination.versionsOf('DEEP')].sort()).toEqual([1, 2, 3, 4]);
    expect((await ledger.load(['DEEP'])).get('DEEP')).toMatchObject({ version: 4, lastImage: undefined });
  });

  test('an image one level less deep is still kept for a heal', async () => {
    const ledger = new DynamoDBLedger({ client, tableName, destination: 'nesting-kept', epoch: 'live' });
    const lastImage = { account_id: 'KEPT', balance: 1, version: 1, note: nested(30, 'x') } as never;
    await ledger.write({ expectedRevision: 0, next: { ...emptyWatermark('KEPT'), version: 1, revision: 1, lastImage }, park: [], unpark: [] });
    expect((await ledger.load(['KEPT'])).get('KEPT')?.lastImage).toEqual(lastImage);
  });
});

test('DynamoDB refuses a partition key over 2,048 bytes, which a long account id behind the ledger prefix would make', async () => {
  const key = (bytes: number) => ({ pk: { S: 'x'.repeat(bytes) }, sk: { S: 'WATERMARK' } });
  await client.send(new PutItemCommand({ TableName: tableName, Item: key(2048) }));
  await expect(client.send(new PutItemCommand({ TableName: tableName, Item: key(2049) }))).rejects.toMatchObject({ name: 'ValidationException' });
  const accountId = 'a'.repeat(2048);
  expect(Buffer.byteLength(ledgerPartitionKey('fraud', 'live', accountId))).toBe(2048);
  expect(ledgerPartitionKey('fraud', 'live', 'ACC-1')).toBe('fraud#live#ACC-1');
});
