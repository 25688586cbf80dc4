import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { mapLimited } from '../../shared/async/limited';
import type { DeliveryMode } from '../../shared/ordering/delivery-mode';
import type { DeliverOptions, Delivery, DeliveryResult, Destination } from '../../shared/ordering/ports';
import { classifyError, describeError, errorNameOf, httpStatusOf } from '../../shared/retry/classify-error';
import { NOT_SENT_DEADLINE, withDeadline } from '../../shared/retry/deadline';
import { Retrier, type ItemAnswer } from '../../shared/retry/retrier';
import { settledToResult } from '../../shared/consumer/settled-to-result';
import { auditAccountMetadata, auditObjectKey, toAuditObject } from './audit-object';
import { readableImageValue } from '../../shared/accounts/image-json';

export interface S3AuditLogOptions {
  readonly client: S3Client;
  readonly bucket: string;
  /** Key prefix of the log. @default 'changes/' */
  readonly prefix?: string;
  readonly retrier?: Retrier;
  /** PutObject requests in flight at once. @default 32 */
  readonly concurrency?: number;
  /** @default 'audit' */
  readonly name?: string;
}

/**
 * The audit destination: one immutable JSON object per account version, written create-only (`If-None-Match: *`).
 * S3 answers 412 when the object already exists, which is a duplicate, not an error: the log already says it. While
 * another conditional write of the same key is in progress S3 answers 409 `ConditionalRequestConflict` instead: that one
 * is retried (see `classifyError`), and the retry finds the object (412, a duplicate) or creates it.
 * Every PutObject is aborted at its round's deadline (the earlier of the invocation's and the call's).
 */
export class S3AuditLog implements Destination {
  readonly name: string;
  readonly mode: DeliveryMode = 'every-version';
  readonly #client: S3Client;
  readonly #bucket: string;
  readonly #prefix: string;
  readonly #retrier: Retrier;
  readonly #concurrency: number;

  constructor(options: S3AuditLogOptions) {
    this.name = options.name ?? 'audit';
    this.#client = options.client;
    this.#bucket = options.bucket;
    this.#prefix = options.prefix ?? 'changes/';
    this.#retrier = options.retrier ?? new Retrier();
    this.#concurrency = options.concurrency ?? 32;
  }

  async deliver(deliveries: readonly Delivery[], options: DeliverOptions = {}): Promise<readonly DeliveryResult[]> {
    const settled = await this.#retrier.settle(
      deliveries,
      (pending, _attempt, round) =>
        withDeadline(round.deadline, (signal) => mapLimited(pending, this.#concurrency, (delivery) => this.#put(delivery, signal))),
      { deadline: options.deadline },
    );
    return settled.map(settledToResult);
  }

  async #put(delivery: Delivery, signal: AbortSignal | undefined): Promise<ItemAnswer<DeliveryResult>> {
    const { accountId, version } = delivery.record;
    // Items queued behind the concurrency limit may reach their turn after the deadline.
    if (signal?.aborted) return { kind: 'retry', detail: NOT_SENT_DEADLINE };
    try {
      await this.#client.send(
        new PutObjectCommand({
          Bucket: this.#bucket,
          Key: auditObjectKey(accountId, version, this.#prefix),
          // A bigint as its digits, a set as an array: JSON.stringify threw on the one (failing the batch every time) and
          // wrote the other as {}.
          Body: JSON.stringify(toAuditObject(delivery), readableImageValue),
          ContentType: 'application/json',
          IfNoneMatch: '*',
          Metadata: { 'account-id': auditAccountMetadata(accountId), version: String(version) },
        }),
        { abortSignal: signal },
      );
      return { kind: 'done', result: { status: 'delivered' } };
    } catch (error) {
      if (isAlreadyThere(error)) return { kind: 'done', result: { status: 'duplicate' } };
      const kind = classifyError(error);
      if (kind === 'unexpected') throw error;
      return { kind, detail: describeError(error) };
    }
  }
}

/** 412 PreconditionFailed: an object with this key exists, so this version is already in the log. */
function isAlreadyThere(error: unknown): boolean {
  return httpStatusOf(error) === 412 || errorNameOf(error) === 'PreconditionFailed';
}
