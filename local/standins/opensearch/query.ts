/**
 * Query DSL subset of the OpenSearch stand-in: match_all, match_none, term, terms, ids, exists, range, match,
 * constant_score and bool (must, filter, should, must_not, minimum_should_match). Fields are matched as OpenSearch
 * indexes them: keyword values exactly (unless longer than `ignore_above`), text values by the tokens of a
 * lower-casing standard-like analyzer (so `term` on a text field matches a single lower-cased token), numbers,
 * booleans and dates by value. Unmapped fields match nothing. Scores are constant (1 per matching scoring clause,
 * 0 in filter context): the stand-in does no relevance ranking.
 */
import { OpenSearchError } from './errors';
import {
  DATE_TYPES, fieldType, FLOAT_TYPES, INTEGER_RANGES, isPlainObject, type FieldMapping, type Mappings,
} from './mapping';
import type { IndexState, StoredDoc } from './store';

/** The score of a matching document, undefined if it does not match. */
export type Matcher = (doc: StoredDoc) => number | undefined;

/** Epoch millis of a value of a date field (numbers are epoch millis), NaN if unparseable. */
export function dateMillis(value: unknown): number {
  if (typeof value === 'number') return value;
  const text = String(value);
  return /^-?\d+$/.test(text) ? Number(text) : Date.parse(text);
}

/**
 * The mapping of a field path used in queries and sorts: "a.b" walks object properties, "name.keyword" the
 * multi-field `keyword` of `name`. `sourcePath` is where its value lives in `_source`.
 */
export function resolveField(
  mappings: Mappings,
  path: string,
): { readonly field: FieldMapping; readonly sourcePath: readonly string[] } | undefined {
  let properties = mappings.properties;
  let field: FieldMapping | undefined;
  const sourcePath: string[] = [];
  for (const segment of path.split('.')) {
    const property = properties?.[segment];
    if (property !== undefined) {
      field = property;
      sourcePath.push(segment);
      properties = property.properties;
    } else if (field?.fields?.[segment] !== undefined) {
      field = field.fields[segment];
      properties = undefined;
    } else {
      return undefined;
    }
  }
  return field === undefined ? undefined : { field, sourcePath };
}

/** Every leaf value at `path` in a document, flattening arrays (of objects too), as OpenSearch indexes them. */
export function valuesAt(source: unknown, path: readonly string[]): unknown[] {
  if (Array.isArray(source)) return source.flatMap((element) => valuesAt(element, path));
  if (path.length === 0) return source === null || source === undefined ? [] : [source];
  if (!isPlainObject(source)) return [];
  const out: unknown[] = [];
  // Both {"a": {"b": 1}} and {"a.b": 1} hold a value at a.b.
  for (let take = 1; take <= path.length; take += 1) {
    const key = path.slice(0, take).join('.');
    if (key in source) out.push(...valuesAt(source[key], path.slice(take)));
  }
  return out;
}

export function parsingError(reason: string): OpenSearchError {
  return new OpenSearchError(400, 'parsing_exception', reason);
}

export function analyze(text: string): string[] {
  return text.toLowerCase().split(/[^\p{L}\p{N}_]+/u).filter((t) => t !== '');
}

function toBoolean(value: unknown): boolean | undefined {
  if (value === true || value === 'true') return true;
  if (value === false || value === 'false' || value === '') return false;
  return undefined;
}

/** The comparable form of a stored or queried value for a field type (numbers, millis, booleans, strings). */
export function comparable(type: string, value: unknown): number | string | boolean | undefined {
  if (INTEGER_RANGES[type] !== undefined) {
    const n = Number(value);
    return Number.isNaN(n) ? undefined : Math.trunc(n);
  }
  if (FLOAT_TYPES.has(type)) {
    const n = Number(value);
    return Number.isNaN(n) ? undefined : n;
  }
  if (DATE_TYPES.has(type)) {
    const n = dateMillis(value);
    return Number.isNaN(n) ? undefined : n;
  }
  if (type === 'boolean') return toBoolean(value);
  return typeof value === 'object' ? undefined : String(value);
}

/** Values a document has for a field, as indexed; undefined if the field is not mapped (or not searchable). */
function indexedValues(index: IndexState, path: string, doc: StoredDoc): { type: string; values: unknown[] } | undefined {
  if (path === '_id') return { type: 'keyword', values: [doc.id] };
  if (path === '_index') return { type: 'keyword', values: [index.name] };
  const resolved = resolveField(index.mappings, path);
  if (resolved === undefined) return undefined;
  const type = fieldType(resolved.field);
  let values = valuesAt(doc.source, resolved.sourcePath);
  const ignoreAbove = resolved.field.ignore_above;
  if (type === 'keyword' && typeof ignoreAbove === 'number') values = values.filter((v) => String(v).length <= ignoreAbove);
  return { type, values };
}

function termMatches(index: IndexState, path: string, query: unknown, doc: StoredDoc): boolean {
  const indexed = indexedValues(index, path, doc);
  if (indexed === undefined) return false;
  const { type, values } = indexed;
  if (type === 'text' || type === 'match_only_text') return values.some((v) => analyze(String(v)).includes(String(query)));
  const wanted = comparable(type, query);
  return wanted !== undefined && values.some((v) => comparable(type, v) === wanted);
}

/** The one `field: spec` pair of a term/match/range query body. */
function singleField(kind: string, body: unknown): [string, unknown] {
  if (!isPlainObject(body)) throw parsingError(`[${kind}] query malformed, no start_object after query name`);
  const fields = Object.entries(body).filter(([k]) => k !== 'boost' && k !== '_name');
  const [first, second] = fields;
  if (first === undefined) throw parsingError(`[${kind}] query doesn't support empty field`);
  if (second !== undefined) {
    throw parsingError(`[${kind}] query doesn't support multiple fields, found [${first[0]}] and [${second[0]}]`);
  }
  return first;
}

function asArray(value: unknown): unknown[] {
  if (value === undefined || value === null) return [];
  return Array.isArray(value) ? value : [value];
}

/** Compiles a query for one index. `scoring` is false in filter context. */
export function compile(query: unknown, index: IndexState, scoring = true): Matcher {
  const score = scoring ? 1 : 0;
  if (query === undefined || query === null) return () => score;
  if (!isPlainObject(query)) throw parsingError('[_na] query malformed, must start with start_object');
  const [kind, second] = Object.keys(query);
  if (kind === undefined) return () => score;
  if (second !== undefined) throw parsingError(`[${kind}] malformed query, expected [END_OBJECT] but found [FIELD_NAME]`);
  const body = query[kind];
  switch (kind) {
    case 'match_all':
      return () => score;
    case 'match_none':
      return () => undefined;
    case 'term': {
      const [field, spec] = singleField(kind, body);
      const value = isPlainObject(spec) ? spec.value : spec;
      if (value === undefined || isPlainObject(value)) throw parsingError(`[term] query does not support [${field}]`);
      const caseInsensitive = isPlainObject(spec) && spec.case_insensitive === true;
      return (doc) =>
        termMatches(index, field, value, doc) ||
        (caseInsensitive && indexedValues(index, field, doc)?.values.some((v) => String(v).toLowerCase() === String(value).toLowerCase()))
          ? score
          : undefined;
    }
    case 'terms': {
      const [field, values] = singleField(kind, body);
      if (!Array.isArray(values)) throw parsingError(`[terms] query does not support [${field}]`);
      return (doc) => (values.some((v) => termMatches(index, field, v, doc)) ? score : undefined);
    }
    case 'ids': {
      const ids = new Set(asArray(isPlainObject(body) ? body.values : undefined).map(String));
      return (doc) => (ids.has(doc.id) ? score : undefined);
    }
    case 'exists': {
      const field = isPlainObject(body) ? body.field : undefined;
      if (typeof field !== 'string') throw parsingError('[exists] must be provided with a [field]');
      return (doc) => ((indexedValues(index, field, doc)?.values.length ?? 0) > 0 ? score : undefined);
    }
    case 'range':
      return compileRange(body, index, score);
    case 'match': {
      const [field, spec] = singleField(kind, body);
      const text = isPlainObject(spec) ? spec.query : spec;
      const and = isPlainObject(spec) && String(spec.operator ?? 'or').toLowerCase() === 'and';
      return (doc) => {
        const indexed = indexedValues(index, field, doc);
        if (indexed === undefined) return undefined;
        if (indexed.type !== 'text' && indexed.type !== 'match_only_text') return termMatches(index, field, text, doc) ? score : undefined;
        const tokens = new Set(indexed.values.flatMap((v) => analyze(String(v))));
        const wanted = analyze(String(text));
        const hit = and ? wanted.every((t) => tokens.has(t)) : wanted.some((t) => tokens.has(t));
        return hit && wanted.length > 0 ? score : undefined;
      };
    }
    case 'constant_score': {
      const filter = compile(isPlainObject(body) ? body.filter : undefined, index, false);
      const boost = isPlainObject(body) && typeof body.boost === 'number' ? body.boost : 1;
      return (doc) => (filter(doc) === undefined ? undefined : scoring ? boost : 0);
    }
    case 'bool':
      return compileBool(body, index, scoring);
    default:
      throw new OpenSearchError(400, 'parsing_exception', `unknown query [${kind}]`, {}, {
        type: 'named_object_not_found_exception',
        reason: `[1:1] unknown field [${kind}]`,
      });
  }
}

function compileBool(body: unknown, index: IndexState, scoring: boolean): Matcher {
  if (!isPlainObject(body)) throw parsingError('[bool] query malformed, no start_object after query name');
  const must = asArray(body.must).map((q) => compile(q, index, scoring));
  const should = asArray(body.should).map((q) => compile(q, index, scoring));
  const filter = asArray(body.filter).map((q) => compile(q, index, false));
  const mustNot = asArray(body.must_not).map((q) => compile(q, index, false));
  const required = must.length + filter.length;
  const minimumShould =
    body.minimum_should_match !== undefined ? Number.parseInt(String(body.minimum_should_match), 10) : required === 0 ? 1 : 0;
  if (required === 0 && should.length === 0) return () => (scoring ? 1 : 0);
  return (doc) => {
    let total = 0;
    for (const clause of [...must, ...filter]) {
      const s = clause(doc);
      if (s === undefined) return undefined;
      total += s;
    }
    if (mustNot.some((clause) => clause(doc) !== undefined)) return undefined;
    let matchedShould = 0;
    for (const clause of should) {
      const s = clause(doc);
      if (s !== undefined) {
        matchedShould += 1;
        total += s;
      }
    }
    return matchedShould >= (Number.isNaN(minimumShould) ? 0 : minimumShould) ? total : undefined;
  };
}

function compileRange(body: unknown, index: IndexState, score: number): Matcher {
  const [field, spec] = singleField('range', body);
  if (!isPlainObject(spec)) throw parsingError(`[range] query malformed, no start_object after query name`);
  return (doc) => {
    const indexed = indexedValues(index, field, doc);
    if (indexed === undefined) return undefined;
    const bound = (value: unknown): number | string | boolean | undefined =>
      value === undefined || value === null ? undefined : comparable(indexed.type, value);
    const gte = bound(spec.gte ?? (spec.include_lower === false ? undefined : spec.from));
    const gt = bound(spec.gt ?? (spec.include_lower === false ? spec.from : undefined));
    const lte = bound(spec.lte ?? (spec.include_upper === false ? undefined : spec.to));
    const lt = bound(spec.lt ?? (spec.include_upper === false ? spec.to : undefined));
    const inRange = indexed.values.some((raw) => {
      const v = comparable(indexed.type, raw);
      if (v === undefined) return false;
      return (gte === undefined || v >= gte) && (gt === undefined || v > gt) && (lte === undefined || v <= lte) && (lt === undefined || v < lt);
    });
    return inRange ? score : undefined;
  };
}
