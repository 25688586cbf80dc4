import type { AttributeValue, Update } from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import { ACCOUNTS_KEY, type AccountImage, isValidVersion } from './account';
import { CLOSED, OPEN, type Change } from './account-change';
import { EXACT_NUMBERS } from './image-json';

/*
 * The Accounts item as `AccountsWriter` reads and writes it: its key, the image read back, and the conditional update
 * that carries the version contract (`account.ts`) into DynamoDB, with `applied`, which must mirror that update. The
 * writer's retry cycle is written against these and never sees an expression.
 */

const UPDATED = ['balance', 'version', 'status', 'updated_at', 'last_change'];
const UPDATE_NAMES = Object.fromEntries(UPDATED.map((name) => [`#${name}`, name]));

/**
 * The write of one change, pinned to the version read. Status and balance are checked again in the condition as
 * a defence in depth, so even a wrong in-code decision cannot write to a closed account or go below zero.
 */
export function conditionalUpdate(tableName: string, current: AccountImage, change: Change, now: string): Update {
  const { version, account_id: accountId } = current;
  const values: Record<string, unknown> = {
    ':expected': version,
    ':next': version + 1,
    ':open': OPEN,
    ':now': now,
    ':delta': change.delta,
    ':last': change.lastChange,
  };
  const conditions = ['#version = :expected', '#status = :open'];
  const sets = ['#balance = #balance + :delta', '#version = :next', '#updated_at = :now', '#last_change = :last'];
  if (change.delta < 0) {
    conditions.push('#balance >= :debit');
    values[':debit'] = -change.delta;
  } else if (change.delta > 0) {
    conditions.push('#balance <= :headroom');
    values[':headroom'] = Number.MAX_SAFE_INTEGER - change.delta;
  }
  if (change.close) {
    conditions.push('#balance = :zero');
    values[':zero'] = 0;
    sets.push('#status = :closed');
    values[':closed'] = CLOSED;
  }
  return {
    TableName: tableName,
    Key: keyOf(accountId),
    UpdateExpression: `SET ${sets.join(', ')}`,
    ConditionExpression: conditions.join(' AND '),
    ExpressionAttributeNames: UPDATE_NAMES,
    ExpressionAttributeValues: marshall(values, { removeUndefinedValues: true }),
  };
}

/** The image a successful conditional write left: its condition pinned the item to `current`, so no read is needed. */
export function applied(current: AccountImage, change: Change, now: string): AccountImage {
  return {
    ...current,
    balance: current.balance + change.delta,
    version: current.version + 1,
    updated_at: now,
    last_change: change.lastChange,
    ...(change.close ? { status: CLOSED } : {}),
  };
}

export function keyOf(accountId: string): Record<string, AttributeValue> {
  return marshall({ [ACCOUNTS_KEY]: accountId });
}

export function toAccountImage(item: Record<string, AttributeValue>): AccountImage {
  const image = unmarshall(item, EXACT_NUMBERS);
  const id: unknown = image[ACCOUNTS_KEY];
  if (typeof id !== 'string' || !Number.isSafeInteger(image.balance) || !isValidVersion(image.version)) {
    throw new Error(`malformed Accounts item ${JSON.stringify(id)}: needs account_id, balance and version`);
  }
  return image as AccountImage;
}
