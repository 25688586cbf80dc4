/** Cancellation reasons that mean another writer got there first: re-read and try again. */
const LOST_RACE_CANCELLATIONS = new Set(['ConditionalCheckFailed', 'TransactionConflict']);

/**
 * Whether a DynamoDB error means a conditional write lost a race, and if so at which item: 0 for a single write,
 * the index of the cancelled item for a transaction. Undefined for any other error.
 */
export function lostRaceAt(error: unknown): number | undefined {
  if (hasErrorName(error, 'ConditionalCheckFailedException') || hasErrorName(error, 'TransactionConflictException')) {
    return 0;
  }
  if (!hasErrorName(error, 'TransactionCanceledException')) return undefined;
  const reasons = (error as { CancellationReasons?: { Code?: string }[] }).CancellationReasons ?? [];
  const index = reasons.findIndex((reason) => LOST_RACE_CANCELLATIONS.has(reason.Code ?? ''));
  return index === -1 ? undefined : index;
}

/** By name rather than instanceof: the client may come from another copy of the SDK than the one imported here. */
export function hasErrorName(error: unknown, name: string): error is Error {
  return error instanceof Error && error.name === name;
}
