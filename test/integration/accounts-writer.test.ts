import { type DynamoDBClient, TransactWriteItemsCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { AccountImage } from '../../shared/accounts/account';
import { AccountsWriter, type AccountsWriterOptions } from '../../shared/accounts/writer';
import {
  AccountAlreadyExistsError,
  AccountClosedError,
  AccountNotEmptyError,
  AccountNotFoundError,
  ConcurrentModificationError,
  InsufficientFundsError,
  InvalidAmountError,
  InvalidTransferError,
} from '../../shared/accounts/writer-errors';
import { createAccountsTable } from '../../local/tables';
import { localDynamoDB, uniqueTableName } from '../support/dynamodb';

const ULID = /^[0-9A-HJKMNP-TV-Z]{26}$/;

let client: DynamoDBClient;
let tableName: string;
let writer: AccountsWriter;

function writerWith(options: Partial<AccountsWriterOptions> = {}): AccountsWriter {
  return new AccountsWriter({ client, tableName, ...options });
}

/** A client that runs `before` ahead of every command it forwards: a deterministic way to lose a race. */
function racingClient(before: (command: unknown) => Promise<void>): DynamoDBClient {
  const send = async (command: Parameters<DynamoDBClient['send']>[0]): Promise<unknown> => {
    await before(command);
    return client.send(command);
  };
  return { send } as unknown as DynamoDBClient;
}

async function open(openingBalance = 0, currency = 'EUR'): Promise<AccountImage> {
  return writer.openAccount({ currency, openingBalance });
}

async function stored(accountId: string): Promise<AccountImage> {
  const image = await writer.getAccount(accountId);
  if (!image) throw new Error(`account ${accountId} vanished`);
  return image;
}

beforeAll(async () => {
  client = localDynamoDB();
  tableName = uniqueTableName('accounts');
  await createAccountsTable(client, tableName);
  writer = writerWith();
});

afterAll(() => client?.destroy());

describe('openAccount', () => {
  it('creates a ULID-keyed OPEN account at version 1 and stores exactly what it returns', async () => {
    const at = new Date('2030-01-02T03:04:05.678Z');
    const opened = await writerWith({ clock: () => at }).openAccount({ currency: 'EUR', openingBalance: 150 });
    expect(opened).toEqual({
      account_id: expect.stringMatching(ULID),
      balance: 150,
      currency: 'EUR',
      status: 'OPEN',
      version: 1,
      opened_at: at.toISOString(),
      updated_at: at.toISOString(),
      last_change: { type: 'OPENED', amount: 0 },
    });
    expect(await writer.getAccount(opened.account_id)).toEqual(opened);
  });

  it('gives every account its own id', async () => {
    const opened = await Promise.all(Array.from({ length: 30 }, () => open()));
    expect(new Set(opened.map((account) => account.account_id)).size).toBe(30);
  });

  it('refuses an existing id, also one of a closed account', async () => {
    const { account_id: id } = await open();
    const reopen = (currency: string) => writer.openAccount({ currency, accountId: id });
    await expect(reopen('EUR')).rejects.toBeInstanceOf(AccountAlreadyExistsError);
    await writer.closeAccount(id);
    await expect(reopen('USD')).rejects.toBeInstanceOf(AccountAlreadyExistsError);
    expect(await stored(id)).toMatchObject({ status: 'CLOSED', currency: 'EUR', version: 2 });
  });

  it('refuses a negative or fractional opening balance', async () => {
    for (const openingBalance of [-1, 1.5, Number.NaN]) {
      await expect(writer.openAccount({ currency: 'EUR', openingBalance })).rejects.toBeInstanceOf(InvalidAmountError);
    }
  });
});

describe('deposit and withdraw', () => {
  it('move the balance and raise the version by exactly 1 per write', async () => {
    const { account_id: id } = await open(100);
    const deposited = await writer.deposit(id, 50, { reference: 'salary' });
    const deposit = { type: 'DEPOSIT', amount: 50, reference: 'salary' };
    expect(deposited).toMatchObject({ balance: 150, version: 2, last_change: deposit });
    const withdrawn = await writer.withdraw(id, 30);
    expect(withdrawn).toMatchObject({ balance: 120, version: 3, last_change: { type: 'WITHDRAWAL', amount: 30 } });
    expect(withdrawn.last_change).not.toHaveProperty('reference');
    expect(await stored(id)).toEqual(withdrawn);
  });

  it('refuse a withdrawal beyond the balance without touching the account', async () => {
    const { account_id: id } = await open(10);
    const error = await writer.withdraw(id, 11).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(InsufficientFundsError);
    expect(error).toMatchObject({ accountId: id, balance: 10, amount: 11, version: 1 });
    expect(await stored(id)).toMatchObject({ balance: 10, version: 1 });
    expect(await writer.withdraw(id, 10)).toMatchObject({ balance: 0, version: 2 });
  });

  it('refuse invalid amounts', async () => {
    const { account_id: id } = await open(100);
    const invalid = [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, Number.MAX_SAFE_INTEGER + 1];
    for (const amount of invalid) {
      await expect(writer.deposit(id, amount)).rejects.toBeInstanceOf(InvalidAmountError);
      await expect(writer.withdraw(id, amount)).rejects.toBeInstanceOf(InvalidAmountError);
    }
    expect(await stored(id)).toMatchObject({ balance: 100, version: 1 });
  });

  it('refuse a deposit that would take the balance past Number.MAX_SAFE_INTEGER', async () => {
    const { account_id: id } = await open(Number.MAX_SAFE_INTEGER - 1);
    await expect(writer.deposit(id, 2)).rejects.toBeInstanceOf(InvalidAmountError);
    expect(await writer.deposit(id, 1)).toMatchObject({ balance: Number.MAX_SAFE_INTEGER, version: 2 });
  });

  it('fail with AccountNotFoundError for an unknown account', async () => {
    const missing = '01ARZ3NDEKTSV4RRFFQ69G5FAV';
    expect(await writer.getAccount(missing)).toBeUndefined();
    await expect(writer.deposit(missing, 1)).rejects.toBeInstanceOf(AccountNotFoundError);
    await expect(writer.withdraw(missing, 1)).rejects.toBeInstanceOf(AccountNotFoundError);
    await expect(writer.closeAccount(missing)).rejects.toBeInstanceOf(AccountNotFoundError);
    const { account_id: id } = await open(5);
    await expect(writer.transfer(id, missing, 1)).rejects.toBeInstanceOf(AccountNotFoundError);
    expect(await stored(id)).toMatchObject({ balance: 5, version: 1 });
  });
});

describe('closeAccount', () => {
  it('closes only an empty account; a closed account refuses every write', async () => {
    const { account_id: id } = await open(20);
    const { account_id: other } = await open(20);
    await expect(writer.closeAccount(id)).rejects.toBeInstanceOf(AccountNotEmptyError);
    await writer.withdraw(id, 20);
    const closed = await writer.closeAccount(id);
    expect(closed).toMatchObject({ status: 'CLOSED', balance: 0, version: 3 });
    expect(closed.last_change).toEqual({ type: 'CLOSED', amount: 0 });
    for (const write of [
      () => writer.deposit(id, 1),
      () => writer.withdraw(id, 1),
      () => writer.closeAccount(id),
      () => writer.transfer(other, id, 1),
      () => writer.transfer(id, other, 1),
    ]) {
      await expect(write()).rejects.toBeInstanceOf(AccountClosedError);
    }
    expect(await stored(id)).toEqual(closed);
    expect(await stored(other)).toMatchObject({ balance: 20, version: 1 });
  });
});

describe('transfer', () => {
  it('moves money atomically, raising both versions by 1 with one shared reference', async () => {
    const [from, to] = await Promise.all([open(100), open(5)]);
    const result = await writer.transfer(from.account_id, to.account_id, 40);
    expect(result.transferId).toMatch(ULID);
    const out = { type: 'TRANSFER_OUT', amount: 40, reference: result.transferId, counterparty: to.account_id };
    const into = { type: 'TRANSFER_IN', amount: 40, reference: result.transferId, counterparty: from.account_id };
    expect(result.from).toMatchObject({ balance: 60, version: 2, last_change: out });
    expect(result.to).toMatchObject({ balance: 45, version: 2, last_change: into });
    expect(await stored(from.account_id)).toEqual(result.from);
    expect(await stored(to.account_id)).toEqual(result.to);
    const again = await writer.transfer(to.account_id, from.account_id, 45, { reference: 'refund-1' });
    expect(again.from).toMatchObject({ balance: 0, version: 3, last_change: { reference: 'refund-1' } });
    expect(again.to).toMatchObject({ balance: 105, version: 3, last_change: { reference: 'refund-1' } });
  });

  it('leaves both accounts untouched when the payer lacks funds', async () => {
    const [from, to] = await Promise.all([open(10), open(0)]);
    await expect(writer.transfer(from.account_id, to.account_id, 11)).rejects.toBeInstanceOf(InsufficientFundsError);
    expect(await stored(from.account_id)).toEqual(from);
    expect(await stored(to.account_id)).toEqual(to);
  });

  it('refuses the same account on both sides, different currencies and invalid amounts', async () => {
    const [eur, usd, eur2] = await Promise.all([open(10, 'EUR'), open(10, 'USD'), open(10, 'EUR')]);
    await expect(writer.transfer(eur.account_id, eur.account_id, 1)).rejects.toMatchObject({
      name: 'InvalidTransferError',
      reason: 'SAME_ACCOUNT',
    });
    const mismatch = writer.transfer(eur.account_id, usd.account_id, 1);
    await expect(mismatch).rejects.toBeInstanceOf(InvalidTransferError);
    await expect(mismatch).rejects.toMatchObject({ reason: 'CURRENCY_MISMATCH' });
    for (const amount of [0, -5, 1.5, Number.NaN, 2 ** 53]) {
      await expect(writer.transfer(eur.account_id, eur2.account_id, amount)).rejects.toBeInstanceOf(InvalidAmountError);
    }
    for (const account of [eur, usd, eur2]) expect(await stored(account.account_id)).toEqual(account);
  });
});

describe('optimistic concurrency', () => {
  it('fails a stale expectedVersion at once, without any write', async () => {
    const { account_id: id } = await open(100);
    await writer.deposit(id, 1, { expectedVersion: 1 });
    const send = vi.spyOn(client, 'send');
    try {
      const error = await writer.withdraw(id, 1, { expectedVersion: 1 }).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(ConcurrentModificationError);
      expect(error).toMatchObject({ accountId: id, expectedVersion: 1, version: 2, attempts: 1 });
      await expect(writer.closeAccount(id, { expectedVersion: 7 })).rejects.toBeInstanceOf(ConcurrentModificationError);
      const writes = send.mock.calls.filter(([command]) => command instanceof UpdateItemCommand);
      expect(writes).toHaveLength(0);
    } finally {
      send.mockRestore();
    }
    expect(await stored(id)).toMatchObject({ balance: 101, version: 2 });
  });

  it('re-reads after a lost race and classifies what it finds: funds gone, account closed', async () => {
    const { account_id: poor } = await open(50);
    const { account_id: gone } = await open(50);
    let raced = false;
    const race = (competitor: () => Promise<unknown>) =>
      racingClient(async (command) => {
        if (!(command instanceof UpdateItemCommand) || raced) return;
        raced = true;
        await competitor();
      });
    const delays: number[] = [];
    const retryDelayMs = (attempt: number) => (delays.push(attempt), 0);
    const drain = writerWith({ client: race(() => writer.withdraw(poor, 40)), retryDelayMs });
    await expect(drain.withdraw(poor, 20)).rejects.toBeInstanceOf(InsufficientFundsError);
    expect(delays).toEqual([1]);
    raced = false;
    const close = writerWith({ client: race(() => writer.withdraw(gone, 50).then(() => writer.closeAccount(gone))) });
    await expect(close.deposit(gone, 1)).rejects.toBeInstanceOf(AccountClosedError);
    expect(await stored(poor)).toMatchObject({ balance: 10, version: 2 });
    expect(await stored(gone)).toMatchObject({ balance: 0, version: 3, status: 'CLOSED' });
  });

  it('retries a transfer whose transaction lost a race, and gives up after maxAttempts', async () => {
    const [from, to] = await Promise.all([open(100), open(0)]);
    let races = 0;
    const raceOnce = racingClient(async (command) => {
      if (command instanceof TransactWriteItemsCommand && races++ === 0) await writer.deposit(to.account_id, 7);
    });
    const retrying = writerWith({ client: raceOnce, retryDelayMs: () => 0 });
    const result = await retrying.transfer(from.account_id, to.account_id, 10);
    expect(races).toBe(2);
    expect(result.from).toMatchObject({ balance: 90, version: 2 });
    expect(result.to).toMatchObject({ balance: 17, version: 3 });

    const raceAlways = racingClient(async (command) => {
      if (command instanceof UpdateItemCommand) await writer.deposit(to.account_id, 1);
    });
    const error = await writerWith({ client: raceAlways, maxAttempts: 3, retryDelayMs: () => 0 })
      .withdraw(to.account_id, 1)
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ConcurrentModificationError);
    expect(error).toMatchObject({ attempts: 3, expectedVersion: 5 });
    expect(await stored(to.account_id)).toMatchObject({ balance: 20, version: 6 });
  });

  it('applies 20 concurrent deposits to one account without losing any: exactly one version each', async () => {
    const { account_id: id } = await open(100);
    const patient = writerWith({ maxAttempts: 50 });
    const results = await Promise.all(Array.from({ length: 20 }, () => patient.deposit(id, 1)));
    const versions = results.map((image) => image.version).sort((a, b) => a - b);
    expect(versions).toEqual(Array.from({ length: 20 }, (_, i) => i + 2));
    expect(await stored(id)).toMatchObject({ balance: 120, version: 21 });
  });

  it('with maxAttempts 1 lets some concurrent writes fail; only the successes count a version', async () => {
    const { account_id: id } = await open(0);
    const impatient = writerWith({ maxAttempts: 1 });
    const outcomes = await Promise.allSettled(Array.from({ length: 20 }, () => impatient.deposit(id, 1)));
    const failures = outcomes.flatMap((outcome) => (outcome.status === 'rejected' ? [outcome.reason] : []));
    const successes = outcomes.length - failures.length;
    expect(failures.length).toBeGreaterThan(0);
    expect(successes).toBeGreaterThan(0);
    for (const failure of failures) expect(failure).toBeInstanceOf(ConcurrentModificationError);
    expect(await stored(id)).toMatchObject({ balance: successes, version: 1 + successes });
  });

  it('keeps the total across concurrent transfers, with one version per write touching each account', async () => {
    const accounts = await Promise.all(Array.from({ length: 4 }, () => open(100)));
    const ids = accounts.map((account) => account.account_id);
    const transferWriter = writerWith({ maxAttempts: 50 });
    const planned = Array.from({ length: 40 }, (_, i) => ({
      from: ids[i % 4] as string,
      to: ids[(i + 1 + (Math.floor(i / 4) % 3)) % 4] as string,
      amount: 1 + ((i * 37) % 60),
    }));
    const outcomes = await Promise.all(
      planned.map(async (t) => {
        try {
          await transferWriter.transfer(t.from, t.to, t.amount);
          return { ...t, ok: true };
        } catch (error) {
          expect(error).toBeInstanceOf(InsufficientFundsError);
          return { ...t, ok: false };
        }
      }),
    );
    const succeeded = outcomes.filter((outcome) => outcome.ok);
    expect(succeeded.length).toBeGreaterThan(0);
    const writesTo = (id: string) => succeeded.filter((t) => t.from === id || t.to === id).length;
    const finals = await Promise.all(ids.map(stored));
    expect(finals.reduce((sum, account) => sum + account.balance, 0)).toBe(400);
    for (const account of finals) {
      expect(account.balance).toBeGreaterThanOrEqual(0);
      expect(account.version).toBe(1 + writesTo(account.account_id));
    }
  });
});
