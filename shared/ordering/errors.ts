import { describeRecord } from '../change-record/change-record';

/** Base of the engine's typed errors: each names the account, version and stream position when known. */
export class OrderingError extends Error {
  readonly accountId: string | undefined;
  readonly version: number | undefined;
  readonly sequenceNumber: string | undefined;

  constructor(
    message: string,
    context: { accountId?: string; version?: number; sequenceNumber?: string; shardId?: string } = {},
    options?: { cause?: unknown },
  ) {
    const where =
      context.accountId !== undefined
        ? ` [${describeRecord({ shardId: '?', sequenceNumber: '?', ...context })}]`
        : '';
    super(`${message}${where}`, options);
    this.name = 'OrderingError';
    this.accountId = context.accountId;
    this.version = context.version;
    this.sequenceNumber = context.sequenceNumber;
  }
}

/** The ledger could not be read or written (after the client's own retries). */
export class LedgerUnavailableError extends OrderingError {
  constructor(message: string, context: { accountId?: string } = {}, options?: { cause?: unknown }) {
    super(message, context, options);
    this.name = 'LedgerUnavailableError';
  }
}

/** The dead-letter queue could not be reached. */
export class DeadLetterQueueUnavailableError extends OrderingError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, {}, options);
    this.name = 'DeadLetterQueueUnavailableError';
  }
}

/** A port broke its contract, e.g. a destination answered with the wrong number of results. */
export class PortContractError extends OrderingError {
  constructor(message: string) {
    super(message);
    this.name = 'PortContractError';
  }
}
