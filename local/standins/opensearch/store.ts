/**
 * Indices and documents of the OpenSearch stand-in, with OpenSearch's engine rules for writes: internal and
 * external versioning, compare-and-set on `_seq_no`/`_primary_term`, and delete tombstones kept for
 * `index.gc_deletes`. Every index is a single shard (shard 0, primary term 1) and searches are real-time.
 */
import { randomBytes } from 'node:crypto';
import {
  documentMissing, mapperParsing, OpenSearchError, validationFailed, versionConflict, illegalArgument,
} from './errors';
import { applyDocument, isPlainObject, mergeMappings, parseMappings, type Mappings } from './mapping';
import { DEFAULT_GC_DELETES, flattenSettings, parseTimeValue, validateSettings } from './settings';

export type VersionType = 'internal' | 'external' | 'external_gt' | 'external_gte';

export interface WriteParams {
  readonly id?: string | undefined;
  readonly opType: 'index' | 'create';
  readonly version?: number | undefined;
  readonly versionType: VersionType;
  readonly ifSeqNo?: number | undefined;
  readonly ifPrimaryTerm?: number | undefined;
}

export type DeleteParams = Omit<WriteParams, 'opType' | 'id'> & { readonly id?: string | undefined };

export interface UpdateSpec {
  readonly doc?: Record<string, unknown> | undefined;
  readonly upsert?: Record<string, unknown> | undefined;
  readonly docAsUpsert?: boolean | undefined;
  readonly detectNoop?: boolean | undefined;
}

export interface StoredDoc {
  readonly id: string;
  readonly version: number;
  readonly seqNo: number;
  readonly source: Record<string, unknown>;
}

export interface WriteResult {
  readonly status: number;
  readonly body: Record<string, unknown>;
}

export const PRIMARY_TERM = 1;
const SHARDS = { total: 2, successful: 1, failed: 0 } as const;

export function parseVersionType(raw: unknown): VersionType {
  if (raw === undefined || raw === null) return 'internal';
  const text = String(raw).toLowerCase();
  if (text === 'internal' || text === 'external' || text === 'external_gt' || text === 'external_gte') return text;
  throw illegalArgument(`No version type match [${String(raw)}]`);
}

/** A long given as a JSON number or string (query parameters are strings), undefined when absent. */
export function parseLong(raw: unknown, name: string): number | undefined {
  if (raw === undefined || raw === null || raw === '') return undefined;
  const number = typeof raw === 'number' ? raw : /^-?\d+$/.test(String(raw).trim()) ? Number(raw) : Number.NaN;
  if (!Number.isInteger(number)) throw illegalArgument(`failed to parse [${name}]: For input string: "${String(raw)}"`);
  // OpenSearch takes any long; JSON numbers past 2^53 have already lost precision here, so refuse them loudly.
  if (!Number.isSafeInteger(number)) {
    throw illegalArgument(`[${name}] ${String(raw)} is beyond 2^53-1, which the OpenSearch stand-in cannot represent exactly`);
  }
  return number;
}

/**
 * DocWriteRequest#validateDocIdLength. In a `_bulk` it fails the whole request (BulkRequest#validate gathers every
 * item's validation errors into one 400 action_request_validation_exception), not the item.
 */
export function docIdLengthError(id: string | undefined): string | undefined {
  const bytes = id === undefined ? 0 : Buffer.byteLength(id, 'utf8');
  return bytes > 512 ? `id [${id}] is too long, must be no longer than 512 bytes but was: ${bytes}` : undefined;
}

/** ActionRequestValidationException messages of an index/create/delete request (IndexRequest#validate et al). */
export function writeValidationErrors(kind: 'index' | 'create' | 'delete', p: DeleteParams): string[] {
  const errors: string[] = [];
  if (kind === 'delete' && (p.id === undefined || p.id === '')) errors.push('id is missing');
  if (kind === 'create') {
    if (p.versionType !== 'internal') return ['create operations only support internal versioning. use index instead'];
    if (p.ifSeqNo !== undefined || p.ifPrimaryTerm !== undefined) {
      return ['create operations do not support compare and set. use index instead'];
    }
  }
  if (kind !== 'delete' && p.id === undefined && (p.versionType !== 'internal' || p.version !== undefined)) {
    errors.push('an id must be provided if version type or value are set');
  }
  // Deletes are exempt (OpenSearch 2.9 added the check to index, create and update only, so that documents indexed
  // with a longer id before it stay deletable).
  const tooLong = kind === 'delete' ? undefined : docIdLengthError(p.id);
  if (tooLong !== undefined) errors.push(tooLong);
  if (p.versionType === 'internal') {
    if (p.version !== undefined && p.version <= 0) errors.push(`illegal version value [${p.version}] for version type [INTERNAL]`);
    if (p.version !== undefined) {
      errors.push('internal versioning can not be used for optimistic concurrency control. ' +
        'Please use `if_seq_no` and `if_primary_term` instead');
    }
  } else if (p.version === undefined || p.version < 0) {
    errors.push(`illegal version value [${p.version ?? -3}] for version type [${p.versionType.toUpperCase()}]`);
  }
  if (p.ifSeqNo !== undefined && (p.versionType !== 'internal' || p.version !== undefined)) {
    errors.push('compare and write operations can not use versioning');
  }
  if (p.ifSeqNo !== undefined && p.ifPrimaryTerm === undefined) errors.push('ifSeqNo is set, but primary term is [0]');
  if (p.ifSeqNo === undefined && p.ifPrimaryTerm !== undefined) {
    errors.push(`ifSeqNo is unassigned, but primary term is [${p.ifPrimaryTerm}]`);
  }
  return errors;
}

export function assertValidWrite(kind: 'index' | 'create' | 'delete', p: DeleteParams): void {
  const errors = writeValidationErrors(kind, p);
  if (errors.length > 0) throw validationFailed(errors);
}

/** OpenSearch's auto-generated ids are 20 URL-safe base64 characters. */
export function autoId(): string {
  return randomBytes(15).toString('base64url');
}

interface Current {
  readonly version: number;
  readonly seqNo: number;
  readonly deleted: boolean;
}

/** The explanation of a version conflict, or undefined if the write may proceed (VersionType#isVersionConflictForWrites). */
function conflict(current: Current | undefined, p: DeleteParams & { opType?: string }): string | undefined {
  if (p.ifSeqNo !== undefined) {
    const required = `required seqNo [${p.ifSeqNo}], primary term [${p.ifPrimaryTerm ?? 0}].`;
    if (current === undefined || current.deleted) return `${required} but no document was found`;
    if (current.seqNo !== p.ifSeqNo || p.ifPrimaryTerm !== PRIMARY_TERM) {
      return `${required} current document has seqNo [${current.seqNo}] and primary term [${PRIMARY_TERM}]`;
    }
    return undefined;
  }
  if (current === undefined) return undefined;
  const given = p.version ?? -3;
  switch (p.versionType) {
    case 'internal':
      return p.opType === 'create' && !current.deleted
        ? `document already exists (current version [${current.version}])`
        : undefined;
    case 'external':
    case 'external_gt':
      return current.version >= given
        ? `current version [${current.version}] is higher or equal to the one provided [${given}]`
        : undefined;
    case 'external_gte':
      return current.version > given
        ? `current version [${current.version}] is higher than the one provided [${given}]`
        : undefined;
  }
}

/** XContentHelper#update: objects merge recursively, everything else is replaced. */
function deepMerge(target: Record<string, unknown>, changes: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...target };
  for (const [key, value] of Object.entries(changes)) {
    const old = out[key];
    out[key] = isPlainObject(old) && isPlainObject(value) ? deepMerge(old, value) : structuredClone(value);
  }
  return out;
}

export class IndexState {
  readonly uuid = randomBytes(16).toString('base64url').slice(0, 22);
  readonly creationDate: number;
  readonly docs = new Map<string, StoredDoc>();
  /** Every write the index accepted, in order: what a local run reads back as "what the destination received". */
  readonly writes: {
    readonly id: string;
    readonly version: number;
    readonly op: 'index' | 'delete';
    readonly at: number;
    /** The stored source of an index (shared with the document, not copied); absent for a delete. */
    readonly source?: Record<string, unknown>;
  }[] = [];
  private readonly tombstones = new Map<string, { version: number; seqNo: number; at: number }>();
  private nextSeqNo = 0;

  constructor(
    readonly name: string,
    public settings: Record<string, string>,
    public mappings: Mappings,
    private readonly now: () => number,
  ) {
    this.creationDate = now();
  }

  /** `index.gc_deletes` in milliseconds. */
  get gcDeletesMs(): number {
    return parseTimeValue(this.settings['index.gc_deletes'] ?? DEFAULT_GC_DELETES, 'index.gc_deletes');
  }

  putMappings(incoming: Mappings): void {
    this.mappings = mergeMappings(this.mappings, incoming);
  }

  private current(id: string): Current | undefined {
    const doc = this.docs.get(id);
    if (doc !== undefined) return { version: doc.version, seqNo: doc.seqNo, deleted: false };
    const tombstone = this.tombstones.get(id);
    if (tombstone === undefined) return undefined;
    if (this.now() - tombstone.at < this.gcDeletesMs) return { ...tombstone, deleted: true };
    this.tombstones.delete(id);
    return undefined;
  }

  private body(id: string, version: number, result: string, seqNo: number, shards: object = SHARDS): Record<string, unknown> {
    return { _index: this.name, _id: id, _version: version, result, _shards: shards, _seq_no: seqNo, _primary_term: PRIMARY_TERM };
  }

  /** Index or create a document. `source` is the parsed body, or an Error when the body was not JSON. */
  index(p: WriteParams, source: unknown): WriteResult {
    const id = p.id ?? autoId();
    if (source instanceof Error || !isPlainObject(source)) {
      const cause = source instanceof Error
        ? { type: 'json_parse_exception', reason: source.message }
        : { type: 'not_x_content_exception', reason: 'Compressor detection can only be called on some xcontent bytes or compressed xcontent bytes' };
      throw mapperParsing('failed to parse', cause);
    }
    // Documents are parsed against the mappings before the engine checks versions, and dynamic mapping updates
    // are published first, as on a primary shard.
    const extended = applyDocument(this.mappings, source, id);
    if (extended !== undefined) this.mappings = extended;
    const current = this.current(id);
    const explanation = conflict(current, p);
    if (explanation !== undefined) throw versionConflict(this.name, this.uuid, id, explanation);
    const version = p.versionType === 'internal' ? (current?.version ?? 0) + 1 : (p.version ?? 1);
    const seqNo = this.nextSeqNo++;
    this.docs.delete(id); // re-inserting keeps the map in last-write order, like Lucene's segments
    const stored = structuredClone(source);
    this.docs.set(id, { id, version, seqNo, source: stored });
    this.tombstones.delete(id);
    this.writes.push({ id, version, op: 'index', at: this.now(), source: stored });
    const created = current === undefined || current.deleted;
    return { status: created ? 201 : 200, body: this.body(id, version, created ? 'created' : 'updated', seqNo) };
  }

  delete(p: DeleteParams & { readonly id: string }): WriteResult {
    const current = this.current(p.id);
    const explanation = conflict(current, p);
    if (explanation !== undefined) throw versionConflict(this.name, this.uuid, p.id, explanation);
    const version = p.versionType === 'internal' ? (current?.version ?? 0) + 1 : (p.version ?? 1);
    const seqNo = this.nextSeqNo++;
    const found = this.docs.delete(p.id);
    this.tombstones.set(p.id, { version, seqNo, at: this.now() });
    this.writes.push({ id: p.id, version, op: 'delete', at: this.now() });
    return { status: found ? 200 : 404, body: this.body(p.id, version, found ? 'deleted' : 'not_found', seqNo) };
  }

  update(id: string, spec: UpdateSpec, cas: Pick<WriteParams, 'ifSeqNo' | 'ifPrimaryTerm'>): WriteResult {
    const doc = this.docs.get(id);
    if (doc === undefined) {
      const upsert = spec.docAsUpsert === true ? spec.doc : spec.upsert;
      if (upsert === undefined) throw documentMissing(this.name, this.uuid, id);
      return this.index({ id, opType: 'create', versionType: 'internal' }, upsert);
    }
    const explanation = conflict({ ...doc, deleted: false }, { ...cas, versionType: 'internal' });
    if (explanation !== undefined) throw versionConflict(this.name, this.uuid, id, explanation);
    const merged = deepMerge(doc.source, spec.doc ?? {});
    if (spec.detectNoop !== false && JSON.stringify(merged) === JSON.stringify(doc.source)) {
      return { status: 200, body: this.body(id, doc.version, 'noop', doc.seqNo, { total: 0, successful: 0, failed: 0 }) };
    }
    return this.index({ id, opType: 'index', versionType: 'internal' }, merged);
  }
}

const INVALID_NAME_CHARS = ['\\', '/', '*', '?', '"', '<', '>', '|', ' ', ','];

function invalidIndexName(index: string, why: string): OpenSearchError {
  return new OpenSearchError(400, 'invalid_index_name_exception', `Invalid index name [${index}], ${why}`, {
    index,
    index_uuid: '_na_',
  });
}

/** MetadataCreateIndexService#validateIndexOrAliasName. */
export function validateIndexName(index: string): void {
  if (INVALID_NAME_CHARS.some((c) => index.includes(c))) {
    throw invalidIndexName(index, `must not contain the following characters [${INVALID_NAME_CHARS.join(', ')}]`);
  }
  if (index.includes('#')) throw invalidIndexName(index, "must not contain '#'");
  if (index.includes(':')) throw invalidIndexName(index, "must not contain ':'");
  if (/^[_\-+]/.test(index)) throw invalidIndexName(index, "must not start with '_', '-', or '+'");
  if (index !== index.toLowerCase()) throw invalidIndexName(index, 'must be lowercase');
  if (index === '.' || index === '..') throw invalidIndexName(index, "must not be '.' or '..'");
  if (Buffer.byteLength(index) > 255) throw invalidIndexName(index, `index name is too long, (${Buffer.byteLength(index)} > 255)`);
}

export function newIndex(name: string, body: unknown, now: () => number): IndexState {
  validateIndexName(name);
  const request = isPlainObject(body) ? body : {};
  const settings = flattenSettings(request.settings);
  validateSettings(settings);
  return new IndexState(name, settings, parseMappings(request.mappings), now);
}
