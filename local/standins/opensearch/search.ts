/**
 * `_search` and `_count` of the OpenSearch stand-in over one or more indices: query (see ./query), from/size with
 * OpenSearch's max_result_window, sort on mapped fields, `_source` filtering, `version` and
 * `seq_no_primary_term`, and `track_total_hits` (exact up to 10,000 by default, then relation "gte").
 * Searches are real-time: there is no refresh interval to wait for.
 */
import { illegalArgument, OpenSearchError, searchFailure } from './errors';
import { fieldType, isPlainObject } from './mapping';
import { comparable, compile, resolveField, valuesAt } from './query';
import { PRIMARY_TERM, type IndexState, type StoredDoc } from './store';

interface SortSpec {
  readonly field: string;
  readonly order: 'asc' | 'desc';
  readonly unmappedType?: string | undefined;
}

interface Candidate {
  readonly index: IndexState;
  readonly doc: StoredDoc;
  readonly score: number;
  readonly position: number;
  sortValues: (number | string | null)[];
}

const MAX_RESULT_WINDOW = 10_000;

function parseSort(raw: unknown): SortSpec[] {
  if (raw === undefined || raw === null) return [];
  if (typeof raw === 'string') {
    return raw.split(',').filter((s) => s !== '').map((entry) => {
      const [field = entry, order] = entry.split(':');
      return { field, order: order === 'desc' || (order === undefined && field === '_score') ? 'desc' : 'asc' };
    });
  }
  if (Array.isArray(raw)) return raw.flatMap(parseSort);
  if (!isPlainObject(raw)) throw illegalArgument('malformed sort format, within the sort array, an object, or an actual string are allowed');
  return Object.entries(raw).map(([field, spec]) => {
    const options = isPlainObject(spec) ? spec : { order: spec };
    const order = options.order === undefined ? (field === '_score' ? 'desc' : 'asc') : String(options.order).toLowerCase();
    if (order !== 'asc' && order !== 'desc') throw illegalArgument(`Unknown SortOrder [${String(options.order)}]`);
    const unmappedType = typeof options.unmapped_type === 'string' ? options.unmapped_type : undefined;
    return { field, order, unmappedType };
  });
}

/** The sort value of a document for one sort: min for asc, max for desc over multi-valued fields. */
function sortValue(candidate: Candidate, spec: SortSpec): number | string | null {
  if (spec.field === '_score') return candidate.score;
  if (spec.field === '_doc') return candidate.position;
  if (spec.field === '_id') return candidate.doc.id;
  const { index } = candidate;
  const resolved = resolveField(index.mappings, spec.field);
  if (resolved === undefined) {
    if (spec.unmappedType !== undefined) return null;
    throw searchFailure(index.name, new OpenSearchError(400, 'query_shard_exception',
      `No mapping found for [${spec.field}] in order to sort on`, { index: index.name, index_uuid: index.uuid }));
  }
  const type = fieldType(resolved.field);
  if (type === 'text' || type === 'match_only_text') {
    throw searchFailure(index.name, illegalArgument(
      'Text fields are not optimised for operations that require per-document field data like aggregations and ' +
        'sorting, so these operations are disabled by default. Please use a keyword field instead. Alternatively, ' +
        `set fielddata=true on [${spec.field}] in order to load field data by uninverting the inverted index. ` +
        'Note that this can use significant memory.'));
  }
  const values = valuesAt(candidate.doc.source, resolved.sourcePath)
    .map((v) => comparable(type, v))
    .map((v) => (typeof v === 'boolean' ? Number(v) : v))
    .filter((v): v is number | string => v !== undefined);
  if (values.length === 0) return null;
  const sorted = [...values].sort(compareValues);
  return (spec.order === 'asc' ? sorted[0] : sorted[sorted.length - 1]) ?? null;
}

function compareValues(a: number | string, b: number | string): number {
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  const x = String(a);
  const y = String(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

function globToRegExp(pattern: string): RegExp {
  return new RegExp(`^${pattern.split('*').map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`);
}

/** `_source` includes/excludes on dotted paths (with `*` wildcards). */
function filterSource(source: Record<string, unknown>, includes: string[], excludes: string[], prefix = ''): Record<string, unknown> {
  const matches = (patterns: string[], path: string): boolean =>
    patterns.some((p) => globToRegExp(p).test(path) || path.startsWith(`${p}.`));
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(source)) {
    const path = prefix ? `${prefix}.${key}` : key;
    if (matches(excludes, path)) continue;
    const included = includes.length === 0 || matches(includes, path);
    const filterChild = (child: unknown): unknown =>
      isPlainObject(child) ? filterSource(child, included ? [] : includes, excludes, path) : child;
    if (isPlainObject(value) || (Array.isArray(value) && value.some(isPlainObject))) {
      const mayContain = included || includes.some((p) => p.startsWith(`${path}.`) || p.includes('*'));
      if (!mayContain) continue;
      const filtered = Array.isArray(value) ? value.filter((v) => included || isPlainObject(v)).map(filterChild) : filterChild(value);
      if (included || (isPlainObject(filtered) ? Object.keys(filtered).length > 0 : (filtered as unknown[]).length > 0)) {
        out[key] = filtered;
      }
    } else if (included) {
      out[key] = value;
    }
  }
  return out;
}

function sourceFilter(raw: unknown): ((s: Record<string, unknown>) => Record<string, unknown>) | false {
  if (raw === false || raw === 'false') return false;
  if (raw === undefined || raw === null || raw === true || raw === 'true') return (s) => s;
  const list = (v: unknown): string[] => (v === undefined ? [] : (Array.isArray(v) ? v : String(v).split(',')).map(String));
  const includes = isPlainObject(raw) ? list(raw.includes ?? raw.include) : list(raw);
  const excludes = isPlainObject(raw) ? list(raw.excludes ?? raw.exclude) : [];
  return (s) => filterSource(s, includes, excludes);
}

function candidates(indices: readonly IndexState[], query: unknown): Candidate[] {
  const out: Candidate[] = [];
  let position = 0;
  for (const index of indices) {
    const matcher = compile(query, index);
    for (const doc of index.docs.values()) {
      const score = matcher(doc);
      if (score !== undefined) out.push({ index, doc, score, position: position++, sortValues: [] });
    }
  }
  return out;
}

function shards(indices: readonly IndexState[]): Record<string, number> {
  return { total: indices.length, successful: indices.length, skipped: 0, failed: 0 };
}

function numberParam(body: Record<string, unknown>, query: URLSearchParams, name: string, fallback: number): number {
  const raw = query.get(name) ?? body[name];
  if (raw === undefined || raw === null) return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n)) throw illegalArgument(`Failed to parse int parameter [${name}] with value [${String(raw)}]`);
  if (n < 0) throw illegalArgument(`[${name}] parameter cannot be negative, found [${n}]`);
  return n;
}

function flag(body: Record<string, unknown>, query: URLSearchParams, name: string): boolean {
  const raw = query.get(name) ?? body[name];
  return raw === true || raw === 'true' || raw === '';
}

export function search(indices: readonly IndexState[], body: Record<string, unknown>, query: URLSearchParams): Record<string, unknown> {
  const started = Date.now();
  const from = numberParam(body, query, 'from', 0);
  const size = numberParam(body, query, 'size', 10);
  if (from + size > MAX_RESULT_WINDOW) {
    throw searchFailure(indices[0]?.name ?? '_all', illegalArgument(
      `Result window is too large, from + size must be less than or equal to: [${MAX_RESULT_WINDOW}] but was ` +
        `[${from + size}]. See the scroll api for a more efficient way to request large data sets. This limit can be ` +
        'set by changing the [index.max_result_window] index level setting.'));
  }
  const sort = parseSort(query.get('sort') ?? body.sort);
  const matched = candidates(indices, body.query);
  if (sort.length > 0) {
    for (const c of matched) c.sortValues = sort.map((spec) => sortValue(c, spec));
    matched.sort((a, b) => {
      for (const [i, spec] of sort.entries()) {
        const x = a.sortValues[i] ?? null;
        const y = b.sortValues[i] ?? null;
        if (x === y) continue;
        if (x === null) return 1; // missing values sort last in either order
        if (y === null) return -1;
        const c = compareValues(x, y);
        if (c !== 0) return spec.order === 'asc' ? c : -c;
      }
      return a.position - b.position;
    });
  } else {
    matched.sort((a, b) => b.score - a.score || a.position - b.position);
  }
  const scored = sort.length === 0 || sort.some((s) => s.field === '_score') || flag(body, query, 'track_scores');
  const filter = sourceFilter(query.get('_source') ?? body._source);
  const withVersion = flag(body, query, 'version');
  const withSeqNo = flag(body, query, 'seq_no_primary_term');
  const hits = matched.slice(from, from + size).map((c) => ({
    _index: c.index.name,
    _id: c.doc.id,
    ...(withVersion ? { _version: c.doc.version } : {}),
    ...(withSeqNo ? { _seq_no: c.doc.seqNo, _primary_term: PRIMARY_TERM } : {}),
    _score: scored ? c.score : null,
    ...(filter === false ? {} : { _source: filter(structuredClone(c.doc.source)) }),
    ...(sort.length > 0 ? { sort: c.sortValues } : {}),
  }));
  const track = query.get('track_total_hits') ?? body.track_total_hits;
  const cap = track === true || track === 'true' ? Infinity : typeof track === 'number' ? track : Number(track ?? MAX_RESULT_WINDOW);
  const total = track === false || track === 'false'
    ? {}
    : { total: matched.length > cap ? { value: cap, relation: 'gte' } : { value: matched.length, relation: 'eq' } };
  const maxScore = scored && matched.length > 0 ? matched.reduce((max, c) => Math.max(max, c.score), -Infinity) : null;
  return {
    took: Date.now() - started,
    timed_out: false,
    _shards: shards(indices),
    hits: { ...total, max_score: maxScore, hits },
  };
}

export function count(indices: readonly IndexState[], body: Record<string, unknown>): Record<string, unknown> {
  return { count: candidates(indices, body.query).length, _shards: shards(indices) };
}
