import { type DynamoDBClient, GetItemCommand, PutItemCommand, TransactWriteItemsCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import { setTimeout as sleep } from 'node:timers/promises';
import { monotonicFactory } from 'ulid';
import { hasErrorName, lostRaceAt } from '../dynamodb/lost-race';
import { ACCOUNTS_KEY, type AccountImage } from './account';
import { assertAmount, type Change, credit, debit, OPEN, withReference } from './account-change';
import { applied, conditionalUpdate, keyOf, toAccountImage } from './account-item';
import {
  AccountAlreadyExistsError,
  AccountClosedError,
  AccountNotEmptyError,
  AccountNotFoundError,
  ConcurrentModificationError,
  InvalidAmountError,
  InvalidTransferError,
} from './writer-errors';

export interface AccountsWriterOptions {
  readonly client: DynamoDBClient;
  readonly tableName: string;
  /** Conditional writes tried per operation before `ConcurrentModificationError`; default 5. */
  readonly maxAttempts?: number;
  readonly clock?: () => Date;
  /** Default: a monotonic ULID, so ids sort by creation time and are never reused. */
  readonly newAccountId?: () => string;
  /** Pause after the failed attempt `attempt` (1-based); default: exponential backoff with full jitter. */
  readonly retryDelayMs?: (attempt: number) => number;
}

export interface OpenAccountInput {
  readonly currency: string;
  /** Non-negative minor units; default 0. */
  readonly openingBalance?: number;
  readonly accountId?: string;
}

export interface WriteOptions {
  readonly reference?: string;
  /** The version the caller based this write on; a mismatch fails at once instead of being retried. */
  readonly expectedVersion?: number;
}

export interface TransferOptions {
  /** Stored on both sides as `last_change.reference`; default: a new ULID. */
  readonly reference?: string;
}

/** `transferId` is the reference both sides carry. */
export type TransferResult = { readonly transferId: string; readonly from: AccountImage; readonly to: AccountImage };

const DEFAULT_MAX_ATTEMPTS = 5;
const BACKOFF_BASE_MS = 10;
const BACKOFF_CAP_MS = 200;

type Plan = (current: AccountImage) => Change;

/** A conditional write lost a race: the account changed between the read and the write. */
class LostRace {
  constructor(readonly accountId: string, readonly expectedVersion: number) {}
}

/**
 * Writes the Accounts table, upholding the version contract of `account.ts`: every write is a read (consistent),
 * a validation in code, then a write conditioned on the version read that raises it by exactly 1. A lost race is
 * retried from a fresh read, so concurrent writers never lose an update and never skip or repeat a version.
 */
export class AccountsWriter {
  readonly #client: DynamoDBClient;
  readonly #tableName: string;
  readonly #options: Required<Omit<AccountsWriterOptions, 'client' | 'tableName'>>;
  readonly #newTransferId = monotonicFactory();

  constructor({ client, tableName, ...options }: AccountsWriterOptions) {
    const { maxAttempts = DEFAULT_MAX_ATTEMPTS, clock = () => new Date(), retryDelayMs = fullJitterBackoff } = options;
    if (!Number.isSafeInteger(maxAttempts) || maxAttempts < 1) throw new RangeError(`maxAttempts ${maxAttempts} < 1`);
    this.#client = client;
    this.#tableName = tableName;
    this.#options = { maxAttempts, clock, retryDelayMs, newAccountId: options.newAccountId ?? monotonicFactory() };
  }

  /** Creates an account at version 1. An id that exists, even as a closed account, is refused. */
  async openAccount(input: OpenAccountInput): Promise<AccountImage> {
    const accountId = input.accountId ?? this.#options.newAccountId();
    const openingBalance = input.openingBalance ?? 0;
    if (!accountId || !input.currency) throw new TypeError('accountId and currency must be non-empty strings');
    if (!Number.isSafeInteger(openingBalance) || openingBalance < 0) {
      throw new InvalidAmountError(accountId, openingBalance, 'an opening balance must be a non-negative safe integer');
    }
    const now = this.#now();
    const image: AccountImage = {
      account_id: accountId,
      balance: openingBalance,
      currency: input.currency,
      status: OPEN,
      version: 1,
      opened_at: now,
      updated_at: now,
      last_change: { type: 'OPENED', amount: 0 },
    };
    try {
      await this.#client.send(
        new PutItemCommand({
          TableName: this.#tableName,
          Item: marshall(image),
          ConditionExpression: 'attribute_not_exists(#id)',
          ExpressionAttributeNames: { '#id': ACCOUNTS_KEY },
        }),
      );
    } catch (error) {
      if (hasErrorName(error, 'ConditionalCheckFailedException')) throw new AccountAlreadyExistsError(accountId);
      throw error;
    }
    return image;
  }

  async deposit(accountId: string, amount: number, options: WriteOptions = {}): Promise<AccountImage> {
    assertAmount(accountId, amount);
    return this.#update(accountId, options.expectedVersion, (current) =>
      credit(current, amount, withReference({ type: 'DEPOSIT', amount }, options.reference)),
    );
  }

  async withdraw(accountId: string, amount: number, options: WriteOptions = {}): Promise<AccountImage> {
    assertAmount(accountId, amount);
    return this.#update(accountId, options.expectedVersion, (current) =>
      debit(current, amount, withReference({ type: 'WITHDRAWAL', amount }, options.reference)),
    );
  }

  /**
   * Soft-closes an account: status CLOSED, version +1. Only an account with a zero balance may be closed
   * (otherwise `AccountNotEmptyError`), so closing never makes money disappear. The item stays, which keeps its id
   * from ever being reused and lets every later write be refused with `AccountClosedError`.
   */
  async closeAccount(accountId: string, options: { readonly expectedVersion?: number } = {}): Promise<AccountImage> {
    return this.#update(accountId, options.expectedVersion, (current) => {
      if (current.balance !== 0) throw new AccountNotEmptyError(accountId, current.balance, current.version);
      return { delta: 0, lastChange: { type: 'CLOSED', amount: 0 }, close: true };
    });
  }

  /** Moves `amount` between two open accounts of the same currency in one transaction: both sides or neither. */
  async transfer(fromId: string, toId: string, amount: number, options: TransferOptions = {}): Promise<TransferResult> {
    assertAmount(fromId, amount);
    if (fromId === toId) throw new InvalidTransferError(fromId, toId, 'SAME_ACCOUNT', 'an account cannot pay itself');
    const transferId = options.reference ?? this.#newTransferId();
    return this.#retrying(async (attempt) => {
      const [from, to] = await Promise.all([this.#readOpen(fromId, attempt), this.#readOpen(toId, attempt)]);
      if (from.currency !== to.currency) {
        throw new InvalidTransferError(fromId, toId, 'CURRENCY_MISMATCH', `${from.currency} cannot pay ${to.currency}`);
      }
      const out = debit(from, amount, { type: 'TRANSFER_OUT', amount, reference: transferId, counterparty: toId });
      const into = credit(to, amount, { type: 'TRANSFER_IN', amount, reference: transferId, counterparty: fromId });
      const now = this.#now();
      try {
        await this.#client.send(
          new TransactWriteItemsCommand({
            TransactItems: [
              { Update: conditionalUpdate(this.#tableName, from, out, now) },
              { Update: conditionalUpdate(this.#tableName, to, into, now) },
            ],
          }),
        );
      } catch (error) {
        const lostAt = lostRaceAt(error);
        if (lostAt === undefined) throw error;
        const loser = lostAt === 1 ? to : from;
        return new LostRace(loser.account_id, loser.version);
      }
      return { transferId, from: applied(from, out, now), to: applied(to, into, now) };
    });
  }

  async getAccount(accountId: string): Promise<AccountImage | undefined> {
    const { Item } = await this.#client.send(
      new GetItemCommand({ TableName: this.#tableName, Key: keyOf(accountId), ConsistentRead: true }),
    );
    return Item ? toAccountImage(Item) : undefined;
  }

  async #update(accountId: string, expectedVersion: number | undefined, plan: Plan): Promise<AccountImage> {
    return this.#retrying(async (attempt) => {
      const current = await this.#readOpen(accountId, attempt, expectedVersion);
      const change = plan(current);
      const now = this.#now();
      try {
        await this.#client.send(new UpdateItemCommand(conditionalUpdate(this.#tableName, current, change, now)));
      } catch (error) {
        if (lostRaceAt(error) === undefined) throw error;
        return new LostRace(accountId, current.version);
      }
      return applied(current, change, now);
    });
  }

  /** Reads an account that must exist and be open; a stale `expectedVersion` fails here, before any write. */
  async #readOpen(accountId: string, attempt: number, expectedVersion?: number): Promise<AccountImage> {
    const current = await this.getAccount(accountId);
    if (!current) throw new AccountNotFoundError(accountId);
    if (expectedVersion !== undefined && current.version !== expectedVersion) {
      throw new ConcurrentModificationError(accountId, attempt, expectedVersion, current.version);
    }
    if (current.status !== OPEN) throw new AccountClosedError(accountId, current.version);
    return current;
  }

  async #retrying<T>(attemptOnce: (attempt: number) => Promise<T | LostRace>): Promise<T> {
    for (let attempt = 1; ; attempt += 1) {
      const outcome = await attemptOnce(attempt);
      if (!(outcome instanceof LostRace)) return outcome;
      if (attempt >= this.#options.maxAttempts) {
        throw new ConcurrentModificationError(outcome.accountId, attempt, outcome.expectedVersion);
      }
      await sleep(Math.max(0, this.#options.retryDelayMs(attempt)));
    }
  }

  #now(): string {
    return this.#options.clock().toISOString();
  }
}

function fullJitterBackoff(attempt: number): number {
  return Math.random() * Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** (attempt - 1));
}
