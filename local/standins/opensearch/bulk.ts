/**
 * `_bulk` of the OpenSearch stand-in: OpenSearch's NDJSON parser (BulkRequestParser) with its refusals, the
 * whole-request validation (BulkRequest#validate), then each item executed on its own, in order.
 */
import { illegalArgument, jsonParseError, OpenSearchError, validationFailed } from './errors';
import { isPlainObject } from './mapping';
import {
  autoId, docIdLengthError, parseLong, parseVersionType, writeValidationErrors, type IndexState, type UpdateSpec, type VersionType,
} from './store';

export type BulkActionName = 'index' | 'create' | 'delete' | 'update';

export interface BulkOperation {
  readonly action: BulkActionName;
  readonly line: number;
  readonly index: string | undefined;
  readonly id: string | undefined;
  readonly version: number | undefined;
  readonly versionType: VersionType;
  readonly ifSeqNo: number | undefined;
  readonly ifPrimaryTerm: number | undefined;
  /** index/create: the parsed source line, or the Error if it was not JSON (which fails only this item). */
  readonly source?: unknown;
  readonly sourceText?: string;
  readonly update?: UpdateSpec & { readonly script?: unknown };
}

export interface BulkContext {
  /** The index an item writes to; if missing, auto-created (with dynamic mapping) when `autoCreate`, else a 404. */
  index(name: string, autoCreate: boolean): IndexState;
  /** The error fault injection fails this item with, if any (it counts what it injects). */
  rejectItem(index: string, action: BulkActionName): OpenSearchError | undefined;
  count(stat: string, by?: number): void;
  readonly forcedRefresh: boolean;
}

export const SCRIPTS_UNSUPPORTED = 'scripted updates are not supported by the OpenSearch stand-in';
const ACTIONS: ReadonlySet<string> = new Set(['index', 'create', 'delete', 'update']);
const PARAMETERS: ReadonlySet<string> = new Set(['_index', '_id', 'routing', 'op_type', 'version', 'version_type',
  'if_seq_no', 'if_primary_term', 'retry_on_conflict', 'pipeline', '_source', 'require_alias']);
const UPDATE_FIELDS: ReadonlySet<string> = new Set(['doc', 'upsert', 'doc_as_upsert', 'detect_noop', 'script',
  'scripted_upsert', '_source', 'if_seq_no', 'if_primary_term']);

function token(value: unknown): string {
  if (Array.isArray(value)) return 'START_ARRAY';
  if (value === null) return 'VALUE_NULL';
  switch (typeof value) {
    case 'object': return 'START_OBJECT';
    case 'string': return 'VALUE_STRING';
    case 'number': return 'VALUE_NUMBER';
    default: return 'VALUE_BOOLEAN';
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw jsonParseError(error);
  }
}

/** Parses an NDJSON bulk body; throws what OpenSearch answers for the whole request (400). */
export function parseBulk(text: string, defaultIndex: string | undefined): BulkOperation[] {
  const operations: BulkOperation[] = [];
  let from = 0;
  let line = 0;
  const nextLine = (): string | undefined => {
    const marker = text.indexOf('\n', from);
    if (marker === -1) {
      if (from !== text.length) throw illegalArgument('The bulk request must be terminated by a newline [\\n]');
      return undefined;
    }
    const slice = text.slice(from, text[marker - 1] === '\r' ? marker - 1 : marker);
    from = marker + 1;
    line += 1;
    return slice;
  };
  for (let actionLine = nextLine(); actionLine !== undefined; actionLine = nextLine()) {
    if (actionLine.trim() === '') continue;
    const parsed = parseJson(actionLine);
    const malformed = (what: string): OpenSearchError => illegalArgument(`Malformed action/metadata line [${line}], ${what}`);
    if (!isPlainObject(parsed)) throw malformed(`expected START_OBJECT but found [${token(parsed)}]`);
    const [action] = Object.keys(parsed);
    if (action === undefined) throw malformed('expected FIELD_NAME but found [END_OBJECT]');
    if (!ACTIONS.has(action)) throw malformed(`expected field [create], [delete], [index] or [update] but found [${action}]`);
    const meta = parsed[action];
    if (!isPlainObject(meta)) throw malformed(`expected START_OBJECT or END_OBJECT but found [${token(meta)}]`);
    for (const [name, value] of Object.entries(meta)) {
      if (!PARAMETERS.has(name)) throw illegalArgument(`Action/metadata line [${line}] contains an unknown parameter [${name}]`);
      if (Array.isArray(value) || (isPlainObject(value) && name !== '_source')) {
        throw malformed(`expected a simple value for field [${name}] but found [${token(value)}]`);
      }
    }
    const actionLineNumber = line;
    const base = {
      line: actionLineNumber,
      index: meta._index === undefined || meta._index === null ? defaultIndex : String(meta._index),
      id: meta._id === undefined || meta._id === null ? undefined : String(meta._id),
      version: parseLong(meta.version, 'version'),
      versionType: parseVersionType(meta.version_type),
      ifSeqNo: parseLong(meta.if_seq_no, 'if_seq_no'),
      ifPrimaryTerm: parseLong(meta.if_primary_term, 'if_primary_term'),
    };
    if (action === 'delete') {
      operations.push({ action, ...base });
      continue;
    }
    const sourceLine = nextLine();
    if (sourceLine === undefined) break; // OpenSearch drops an action whose source line is missing
    if (action === 'update') {
      if (base.version !== undefined || base.versionType !== 'internal') {
        throw illegalArgument('Update requests do not support versioning. Please use `if_seq_no` and `if_primary_term` instead');
      }
      operations.push({ action, ...base, update: parseUpdate(sourceLine) });
      continue;
    }
    let source: unknown;
    try {
      source = JSON.parse(sourceLine) as unknown;
    } catch (error) {
      source = error instanceof Error ? error : new Error(String(error));
    }
    const create = action === 'create' || String(meta.op_type ?? '') === 'create';
    operations.push({ action: create ? 'create' : 'index', ...base, source, sourceText: sourceLine });
  }
  validateBulk(operations);
  return operations;
}

export function parseUpdate(text: string): UpdateSpec & { script?: unknown } {
  const body = parseJson(text);
  if (!isPlainObject(body)) throw new OpenSearchError(400, 'x_content_parse_exception', '[1:1] [UpdateRequest] expected START_OBJECT');
  for (const name of Object.keys(body)) {
    if (!UPDATE_FIELDS.has(name)) {
      throw new OpenSearchError(400, 'x_content_parse_exception', `[1:2] [UpdateRequest] unknown field [${name}]`);
    }
  }
  const object = (value: unknown): Record<string, unknown> | undefined => (isPlainObject(value) ? value : undefined);
  return {
    doc: object(body.doc),
    upsert: object(body.upsert),
    docAsUpsert: body.doc_as_upsert === true || body.doc_as_upsert === 'true',
    detectNoop: body.detect_noop !== false && body.detect_noop !== 'false',
    script: body.script,
  };
}

/** BulkRequest#validate: any invalid item fails the whole request with action_request_validation_exception. */
function validateBulk(operations: readonly BulkOperation[]): void {
  const errors: string[] = operations.length === 0 ? ['no requests added'] : [];
  for (const op of operations) {
    if (op.index === undefined || op.index === '') errors.push('index is missing');
    if (op.action === 'update') {
      if (op.id === undefined || op.id === '') errors.push('id is missing');
      if (op.update?.doc === undefined && op.update?.script === undefined) errors.push('script or doc is missing');
      const tooLong = docIdLengthError(op.id);
      if (tooLong !== undefined) errors.push(tooLong);
      continue;
    }
    if (op.action !== 'delete' && op.sourceText?.trim() === '') errors.push('source is missing');
    errors.push(...writeValidationErrors(op.action, op));
  }
  if (errors.length > 0) throw validationFailed(errors);
}

/** Executes parsed operations in order; each item succeeds or fails on its own. */
export function executeBulk(operations: readonly BulkOperation[], context: BulkContext): Record<string, unknown> {
  const started = Date.now();
  let errors = false;
  const items = operations.map((op) => {
    const index = op.index ?? '';
    const id = op.id ?? (op.action === 'index' || op.action === 'create' ? autoId() : undefined);
    context.count('bulkItems');
    let item: Record<string, unknown>;
    try {
      // Deletes only create a missing index when they carry an external version (TransportBulkAction).
      const target = context.index(index, op.action !== 'delete' || op.versionType !== 'internal');
      const injected = context.rejectItem(index, op.action);
      if (injected !== undefined) throw injected;
      const params = { ...op, id };
      const result =
        op.action === 'delete'
          ? target.delete({ ...params, id: id ?? '' })
          : op.action === 'update'
            ? runUpdate(target, id ?? '', op)
            : target.index({ ...params, opType: op.action }, op.source);
      item = { ...result.body, ...(context.forcedRefresh ? { forced_refresh: true } : {}), status: result.status };
    } catch (error) {
      if (!(error instanceof OpenSearchError)) throw error;
      errors = true;
      if (error.status === 409) context.count('conflicts');
      if (/mapper|mapping/.test(error.type)) context.count('mappingErrors');
      item = { _index: index, _id: id ?? null, status: error.status, error: error.itemError() };
    }
    return { [op.action]: item };
  });
  return { took: Date.now() - started, errors, items };
}

function runUpdate(target: IndexState, id: string, op: BulkOperation): { status: number; body: Record<string, unknown> } {
  if (op.update?.script !== undefined) {
    throw illegalArgument(SCRIPTS_UNSUPPORTED);
  }
  return target.update(id, op.update ?? {}, op);
}
