import { GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { mapLimited } from '../../shared/async/limited';
import type { DeliveryMode } from '../../shared/ordering/delivery-mode';
import type { DeliverOptions, Delivery, DeliveryResult, Destination } from '../../shared/ordering/ports';
import { classifyError, describeError, errorNameOf, httpStatusOf } from '../../shared/retry/classify-error';
import { NOT_SENT_DEADLINE, withDeadline } from '../../shared/retry/deadline';
import { Retrier, type ItemAnswer } from '../../shared/retry/retrier';
import { settledToResult } from '../../shared/consumer/settled-to-result';
import { auditAccountMetadata, auditObjectKey, toAuditObject } from './audit-object';
import { readableImageValue } from '../../shared/accounts/image-json';
import { differenceFromHeld } from './held-object';

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
  /**
   * Told of every 412 whose object could not be read back to compare (the role may not `s3:GetObject`, or not
   * `kms:Decrypt` the bucket's key): the version is counted as a duplicate without proof that the log holds this very
   * change. @default a WARN line on the function's log (JSON, like every other line)
   */
  readonly onUnverifiedDuplicate?: (unverified: UnverifiedDuplicate) => void;
}

/** A create-only write refused with 412 whose held object could not be compared with the change. */
export interface UnverifiedDuplicate {
  readonly destination: string;
  readonly accountId: string;
  readonly version: number;
  readonly sequenceNumber: string;
  readonly shardId: string;
  readonly key: string;
  /** Why the held object could not be read. */
  readonly error: string;
}

/**
 * The audit destination: one immutable JSON object per account version, written create-only (`If-None-Match: *`).
 *
 * S3 answers 412 when an object with the key exists. That is a duplicate only when the object holds *this* change:
 * the adapter reads it back and compares account, version, kind and both images (what identifies a change; the
 * event id, creation time, `healed`, `replay` and epoch may differ between deliveries of one change). A different
 * change of the same version (a version written twice, two account ids on one key, something else at the key) is
 * REJECTED with both sides named, and so dead-lettered: never counted as a duplicate, which would leave the log
 * without this change for good and say nothing. An object gone since the 412 (a delete marker) is written again; a
 * read that fails for now is retried with the write. A read the role may not make is counted as a duplicate and
 * reported (`onUnverifiedDuplicate`).
 *
 * While another conditional write of the same key is in progress S3 answers 409 `ConditionalRequestConflict`: that
 * one is retried (see `classifyError`), and the retry finds the object (412, compared as above) or creates it.
 * Every PutObject carries a CRC32 checksum, which an Object Lock bucket demands (without one, or a Content-MD5, it
 * refuses the write with 400 whatever the client's `requestChecksumCalculation`), and is aborted at its round's
 * deadline (the earlier of the invocation's and the call's).
 */
export class S3AuditLog implements Destination {
  readonly name: string;
  readonly mode: DeliveryMode = 'every-version';
  readonly #client: S3Client;
  readonly #bucket: string;
  readonly #prefix: string;
  readonly #retrier: Retrier;
  readonly #concurrency: number;
  readonly #onUnverified: (unverified: UnverifiedDuplicate) => void;

  constructor(options: S3AuditLogOptions) {
    this.name = options.name ?? 'audit';
    this.#client = options.client;
    this.#bucket = options.bucket;
    this.#prefix = options.prefix ?? 'changes/';
    this.#retrier = options.retrier ?? new Retrier();
    this.#concurrency = options.concurrency ?? 32;
    this.#onUnverified = options.onUnverifiedDuplicate ?? logUnverified;
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
    const key = auditObjectKey(accountId, version, this.#prefix);
    try {
      await this.#client.send(
        new PutObjectCommand({
          Bucket: this.#bucket,
          Key: key,
          // A bigint as its digits, a set as an array: JSON.stringify threw on the one (failing the batch every time) and
          // wrote the other as {}.
          Body: JSON.stringify(toAuditObject(delivery), readableImageValue),
          ContentType: 'application/json',
          IfNoneMatch: '*',
          // Always a checksum: an Object Lock bucket (the stack's, with default retention) refuses a PutObject without
          // one, and a client told `requestChecksumCalculation: WHEN_REQUIRED` (AWS_REQUEST_CHECKSUM_CALCULATION) sends
          // none unless the algorithm is named.
          ChecksumAlgorithm: 'CRC32',
          Metadata: { 'account-id': auditAccountMetadata(accountId), version: String(version) },
        }),
        { abortSignal: signal },
      );
      return { kind: 'done', result: { status: 'delivered' } };
    } catch (error) {
      if (isAlreadyThere(error)) return this.#compareHeld(delivery, key, error, signal);
      return answerFor(error);
    }
  }

  /** After a 412: the held object decides between a duplicate and a different change of this version. */
  async #compareHeld(delivery: Delivery, key: string, refusal: unknown, signal: AbortSignal | undefined): Promise<ItemAnswer<DeliveryResult>> {
    let text: string;
    try {
      const held = await this.#client.send(new GetObjectCommand({ Bucket: this.#bucket, Key: key }), { abortSignal: signal });
      text = held.Body === undefined ? '' : await held.Body.transformToString('utf8');
    } catch (error) {
      // Deleted since the 412 (a delete marker is the current version): the next attempt writes it.
      if (isGone(error)) return { kind: 'retry', detail: `${describeError(refusal)}; then the object was gone: ${describeError(error)}` };
      if (isReadDenied(error)) {
        this.#onUnverified(unverifiedOf(this.name, delivery, key, error));
        return { kind: 'done', result: { status: 'duplicate' } };
      }
      const kind = classifyError(error);
      if (kind === 'unexpected') throw error;
      const detail = `${describeError(refusal)}; reading the held object to compare: ${describeError(error)}`;
      // A refusal of the read other than an access denial (a 400 of some kind): nothing tells this change is held.
      return { kind, detail };
    }
    const difference = differenceFromHeld(text, delivery);
    if (difference === undefined) return { kind: 'done', result: { status: 'duplicate' } };
    return {
      kind: 'reject',
      detail:
        `${describeError(refusal)}: s3://${this.#bucket}/${key} already holds ${difference}, so this change of the version ` +
        'is not a duplicate (a version written twice, or two account ids on one key): it is not in the audit log',
    };
  }
}

/**
 * Retry, reject or throw, for an S3 error, by `classifyError` (which also retries KMS's throttling as S3 passes it on
 * with SSE-KMS: a 400 whose code names it, `KMS.ThrottlingException`).
 */
function answerFor(error: unknown): ItemAnswer<DeliveryResult> {
  const kind = classifyError(error);
  if (kind === 'unexpected') throw error;
  return { kind, detail: describeError(error) };
}

/** 412 PreconditionFailed: an object with this key exists (not necessarily this change: see `#compareHeld`). */
function isAlreadyThere(error: unknown): boolean {
  return httpStatusOf(error) === 412 || errorNameOf(error) === 'PreconditionFailed';
}

function isGone(error: unknown): boolean {
  return httpStatusOf(error) === 404 || errorNameOf(error) === 'NoSuchKey';
}

/** The role may not read the log (no `s3:GetObject`) or not decrypt it (no `kms:Decrypt`): 403 either way. */
function isReadDenied(error: unknown): boolean {
  const name = errorNameOf(error);
  return httpStatusOf(error) === 403 || name === 'AccessDenied' || name.startsWith('KMS.AccessDenied');
}

function unverifiedOf(destination: string, { record }: Delivery, key: string, error: unknown): UnverifiedDuplicate {
  return {
    destination,
    accountId: record.accountId,
    version: record.version,
    sequenceNumber: record.sequenceNumber,
    shardId: record.shardId,
    key,
    error: describeError(error),
  };
}

function logUnverified(unverified: UnverifiedDuplicate): void {
  console.warn(
    JSON.stringify({
      level: 'WARN',
      message:
        'audit: a create-only write found its key taken (412) and the held object could not be read to compare; counted as a ' +
        'duplicate without proof that it is the same change (grant s3:GetObject on the log prefix and kms:Decrypt on its key)',
      ...unverified,
    }),
  );
}
