import { errors } from '@opensearch-project/opensearch';
import { describe, expect, it } from 'vitest';
import { ACCESS_DENIED, answerFor, requestAnswer } from '../../consumers/search/bulk-answers';
import { bulkEntry, documentId, MAX_ID_BYTES } from '../../consumers/search/bulk-body';
import { chunkBySize } from '../../shared/async/chunk-by-size';
import type { Delivery } from '../../shared/ordering/ports';
import { accountHistory } from '../support/histories';

const [first, second] = accountHistory('A1', 2);
const delivery = (record = second!): Delivery => ({ record, healed: false, replay: false, epoch: 'live' });
const item = (status: number, type?: string, reason = 'why') => ({ index: { status, ...(type ? { error: { type, reason } } : {}) } });
/** A ResponseError as the client throws it for an answer with `body`. */
const responseError = (statusCode: number, body: unknown) =>
  new errors.ResponseError({ body, statusCode, headers: {}, meta: {} as never, warnings: null } as never);
const openSearchError = (status: number, type: string) =>
  responseError(status, { error: { root_cause: [{ type, reason: 'why' }], type, reason: 'why' }, status });

describe('search: what a _bulk item answer means', () => {
  it.each([
    [400, 'mapper_parsing_exception'],
    [400, 'illegal_argument_exception'],
    [400, 'strict_dynamic_mapping_exception'],
    [400, 'document_parsing_exception'],
  ])('rejects %i %s: a refusal of the document itself', (status, type) => {
    expect(answerFor(item(status, type), delivery())).toMatchObject({ kind: 'reject', detail: `${type}: why` });
  });

  it('counts a 409 version conflict as a duplicate (equal version) or stale (higher version), never an error', () => {
    const conflict = (current: number) =>
      ({ index: { status: 409, error: { type: 'version_conflict_engine_exception', reason: `[A1]: version conflict, current version [${current}] is higher or equal to the one provided [2]` } } });
    expect(answerFor(conflict(2), delivery())).toEqual({ kind: 'done', result: { status: 'duplicate' } });
    expect(answerFor(conflict(5), delivery())).toEqual({ kind: 'done', result: { status: 'stale' } });
  });

  it.each([
    [403, 'cluster_block_exception'],
    [429, 'cluster_block_exception'],
    [429, 'rejected_execution_exception'],
    [429, 'es_rejected_execution_exception'],
    [429, 'circuit_breaking_exception'],
    [500, 'exception'],
    [502, 'exception'],
    [503, 'unavailable_shards_exception'],
    [504, 'exception'],
    [404, 'index_not_found_exception'],
    [400, 'index_closed_exception'],
  ])('retries %i %s: it lifts without the document changing', (status, type) => {
    expect(answerFor(item(status, type), delivery())).toMatchObject({ kind: 'retry', detail: `${type}: why` });
  });

  it('retries an access denial (403 security_exception, 401) and says loudly that an operator must act', () => {
    for (const [status, type] of [[403, 'security_exception'], [401, 'security_exception']] as const) {
      const answer = answerFor(item(status, type), delivery());
      expect(answer).toMatchObject({ kind: 'retry' });
      expect(answer.kind === 'retry' && answer.detail).toBe(`${ACCESS_DENIED}: ${type}: why`);
    }
  });

  it('delivers 2xx and a delete that found nothing (its version is recorded all the same)', () => {
    expect(answerFor({ index: { status: 201, result: 'created' } }, delivery())).toMatchObject({ kind: 'done' });
    expect(answerFor({ delete: { status: 404, result: 'not_found' } }, delivery(first))).toEqual({ kind: 'done', result: { status: 'delivered' } });
  });
});

describe('search: what a whole request refusal means', () => {
  it.each([
    [403, 'cluster_block_exception'],
    [429, 'rejected_execution_exception'],
    [429, 'es_rejected_execution_exception'],
    [503, 'cluster_block_exception'],
    [502, 'exception'],
    [504, 'exception'],
    [404, 'index_not_found_exception'],
  ])('retries %i %s', (status, type) => {
    expect(requestAnswer(openSearchError(status, type))).toMatchObject({ kind: 'retry' });
  });

  it('retries a gateway answer without an OpenSearch body and keeps its message', () => {
    const answer = requestAnswer(responseError(504, { Message: 'Gateway Timeout' }));
    expect(answer).toMatchObject({ kind: 'retry' });
    expect(answer?.detail).toContain('Gateway Timeout');
  });

  it('retries access denials, OpenSearch\'s and the IAM front end\'s, with the operator hint', () => {
    const denials = [
      openSearchError(403, 'security_exception'),
      openSearchError(401, 'security_exception'),
      responseError(403, { Message: 'User: arn:aws:sts::1:assumed-role/search/fn is not authorized to perform: es:ESHttpPost' }),
    ];
    for (const denial of denials) {
      const answer = requestAnswer(denial);
      expect(answer?.kind).toBe('retry');
      expect(answer?.detail.startsWith(ACCESS_DENIED)).toBe(true);
    }
    expect(requestAnswer(denials[2])?.detail).toContain('not authorized to perform: es:ESHttpPost');
  });

  it('rejects a 400 mapping refusal and leaves a TypeError (a bug of ours) unexpected', () => {
    expect(requestAnswer(openSearchError(400, 'mapper_parsing_exception'))).toMatchObject({ kind: 'reject' });
    expect(requestAnswer(new TypeError('x is undefined'))).toBeUndefined();
  });
});

describe('search: the _bulk body', () => {
  it('counts each entry\'s NDJSON bytes exactly, multi-byte characters and newlines included', () => {
    const record = { ...second!, newImage: { ...second!.newImage!, reference: 'café €' } };
    const entry = bulkEntry({ delivery: delivery(record) }, 'accounts', 1_000_000);
    expect(entry.kind).toBe('entry');
    if (entry.kind !== 'entry') return;
    const lines = entry.text.split('\n');
    expect(lines).toHaveLength(3);
    expect(lines[2]).toBe('');
    expect(JSON.parse(lines[0]!)).toEqual({ index: { _index: 'accounts', _id: 'A1', version: 2, version_type: 'external' } });
    expect(entry.bytes).toBe(Buffer.from(entry.text, 'utf8').length);
    expect(entry.bytes).toBeGreaterThan(entry.text.length);
  });

  it('writes a bigint attribute as its exact digits instead of failing the batch', () => {
    const record = { ...second!, newImage: { ...second!.newImage!, big: 12345678901234567890n } };
    const entry = bulkEntry({ delivery: delivery(record as never) }, 'accounts', 1_000_000);
    expect(entry.kind === 'entry' && JSON.parse(entry.text.split('\n')[1]!).big).toBe('12345678901234567890');
  });

  it('sends an account whose id is over 512 bytes under a bounded _id, for its index and its delete alike', () => {
    const long = 'é'.repeat(MAX_ID_BYTES / 2 + 1); // 514 bytes in 257 characters
    const [insert] = accountHistory(long, 1);
    const remove = { ...insert!, kind: 'REMOVE' as const, oldImage: insert!.newImage, newImage: undefined };
    const ids = [insert, remove].map((record) => {
      const entry = bulkEntry({ delivery: delivery(record) }, 'accounts', 1_000_000);
      expect(entry.kind).toBe('entry');
      const action = JSON.parse(entry.kind === 'entry' ? (entry.text.split('\n')[0] as string) : '{}');
      return (action.index ?? action.delete)._id as string;
    });
    expect(ids[0]).toBe(ids[1]);
    expect(ids[0]).toBe(documentId(long));
    expect(Buffer.byteLength(ids[0] as string)).toBeLessThanOrEqual(MAX_ID_BYTES);
    const atLimit = 'x'.repeat(MAX_ID_BYTES);
    expect(documentId(atLimit)).toBe(atLimit);
  });

  it('refuses a document that no request of the limit could carry', () => {
    const entry = bulkEntry({ delivery: delivery() }, 'accounts', 100);
    expect(entry.kind === 'refused' && entry.detail).toMatch(/^document of \d+ bytes \(with its action line\) exceeds the _bulk request limit of 100 bytes/);
  });

  it('chunks in order by items and by bytes, never over the byte limit', () => {
    const sizes = [40, 30, 30, 50, 10, 100, 1, 1, 1];
    const chunks = chunkBySize(sizes.map((bytes, i) => ({ bytes, i })), 3, 100);
    expect(chunks.map((chunk) => chunk.map((entry) => entry.i))).toEqual([[0, 1, 2], [3, 4], [5], [6, 7, 8]]);
    for (const chunk of chunks) expect(chunk.reduce((sum, entry) => sum + entry.bytes, 0)).toBeLessThanOrEqual(100);
  });
});
