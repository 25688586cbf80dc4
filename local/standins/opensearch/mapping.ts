/**
 * Mappings of the OpenSearch stand-in: what a document's fields must look like, and the dynamic mapping that
 * unmapped fields add. Checks are OpenSearch's with `coerce: true` (its default): numeric strings are numbers,
 * fractions are truncated into integer fields, numbers and booleans are accepted as keyword/text.
 */
import { illegalArgument, mapperParsing, strictDynamicMapping, type ErrorCause } from './errors';

export interface FieldMapping {
  type?: string;
  properties?: Record<string, FieldMapping>;
  fields?: Record<string, FieldMapping>;
  dynamic?: boolean | string;
  enabled?: boolean;
  ignore_above?: number;
  format?: string;
  [parameter: string]: unknown;
}

export interface Mappings {
  dynamic?: boolean | string;
  properties?: Record<string, FieldMapping>;
  [parameter: string]: unknown;
}

const OBJECT_TYPES = new Set(['object', 'nested']);
const INTEGER_RANGES: Record<string, readonly [number, number, string]> = {
  byte: [-128, 127, 'a byte'],
  short: [-32_768, 32_767, 'a short'],
  integer: [-2_147_483_648, 2_147_483_647, 'an integer'],
  long: [-9_223_372_036_854_775_808, 9_223_372_036_854_775_807, 'a long'],
  unsigned_long: [0, 18_446_744_073_709_551_615, 'an unsigned long'],
};
const FLOAT_TYPES = new Set(['double', 'float', 'half_float', 'scaled_float']);
const STRING_TYPES = new Set(['keyword', 'text', 'match_only_text', 'wildcard', 'constant_keyword', 'search_as_you_type']);
const DATE_TYPES = new Set(['date', 'date_nanos']);
/** Types whose values may be JSON objects. */
const STRUCTURED_TYPES = new Set(['geo_point', 'geo_shape', 'flat_object', 'join', 'completion', 'rank_features',
  'integer_range', 'long_range', 'float_range', 'double_range', 'date_range', 'ip_range', 'percolator']);
const KNOWN_TYPES = new Set([...OBJECT_TYPES, ...Object.keys(INTEGER_RANGES), ...FLOAT_TYPES, ...STRING_TYPES,
  ...DATE_TYPES, ...STRUCTURED_TYPES, 'boolean', 'ip', 'binary', 'knn_vector', 'alias', 'token_count', 'rank_feature']);

const NUMERIC = /^\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*$/;
/** strict_date_optional_time: yyyy[-MM[-dd['T'HH[:mm[:ss[.SSS]]][zone]]]]. */
const ISO_DATE = /^[+-]?\d{4,}(-\d{2}(-\d{2}(T\d{2}(:\d{2}(:\d{2}([.,]\d{1,9})?)?)?(Z|[+-]\d{2}(:?\d{2})?)?)?)?)?$/;

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function fieldType(field: FieldMapping): string {
  return field.type ?? 'object';
}

/** `dynamic` as OpenSearch normalises it: "true", "false" or "strict"; undefined when not set on this level. */
function dynamicOf(level: { dynamic?: unknown }): string | undefined {
  return level.dynamic === undefined ? undefined : String(level.dynamic);
}

/** Reads the `mappings` of an index creation or put-mapping body, expanding dotted field names into objects. */
export function parseMappings(raw: unknown): Mappings {
  if (raw === undefined || raw === null) return {};
  if (!isPlainObject(raw)) throw mapperParsing('Failed to parse mapping: Expected map for property [mappings]');
  const mappings: Mappings = { ...raw };
  if (raw.properties !== undefined) mappings.properties = parseProperties(raw.properties, '');
  return mappings;
}

function parseProperties(raw: unknown, path: string): Record<string, FieldMapping> {
  if (!isPlainObject(raw)) throw mapperParsing(`Expected map for property [properties] on field [${path || '_doc'}]`);
  const out: Record<string, FieldMapping> = {};
  for (const [rawName, definition] of Object.entries(raw)) {
    const [name, ...rest] = rawName.split('.');
    if (name === undefined || name === '') throw mapperParsing(`name cannot be empty string`);
    const fullPath = path ? `${path}.${name}` : name;
    if (rest.length > 0) {
      const nested = parseProperties({ [rest.join('.')]: definition }, fullPath);
      const existing = out[name] ?? { properties: {} };
      existing.properties = { ...existing.properties, ...nested };
      out[name] = existing;
      continue;
    }
    if (!isPlainObject(definition)) throw mapperParsing(`Expected map for property [fields] on field [${fullPath}]`);
    const field: FieldMapping = { ...definition };
    if (field.type !== undefined && !KNOWN_TYPES.has(field.type)) {
      throw mapperParsing(`No handler for type [${String(field.type)}] declared on field [${name}]`);
    }
    if (definition.properties !== undefined) field.properties = parseProperties(definition.properties, fullPath);
    if (definition.fields !== undefined) field.fields = parseProperties(definition.fields, fullPath);
    out[name] = field;
  }
  return out;
}

/** Put-mapping: adds fields; changing the type of an existing field is refused as OpenSearch does. */
export function mergeMappings(current: Mappings, incoming: Mappings): Mappings {
  const merged: Mappings = { ...current, ...incoming };
  merged.properties = mergeProperties(current.properties ?? {}, incoming.properties ?? {}, '');
  return merged;
}

function mergeProperties(
  current: Record<string, FieldMapping>,
  incoming: Record<string, FieldMapping>,
  path: string,
): Record<string, FieldMapping> {
  const out = { ...current };
  for (const [name, field] of Object.entries(incoming)) {
    const fullPath = path ? `${path}.${name}` : name;
    const existing = out[name];
    if (existing === undefined) {
      out[name] = field;
      continue;
    }
    if (fieldType(existing) !== fieldType(field)) {
      throw illegalArgument(
        `mapper [${fullPath}] cannot be changed from type [${fieldType(existing)}] to [${fieldType(field)}]`,
      );
    }
    const next: FieldMapping = { ...existing, ...field };
    if (existing.properties || field.properties) {
      next.properties = mergeProperties(existing.properties ?? {}, field.properties ?? {}, fullPath);
    }
    if (existing.fields || field.fields) next.fields = { ...existing.fields, ...field.fields };
    out[name] = next;
  }
  return out;
}

/**
 * Checks a document against the mappings. Throws the OpenSearchError OpenSearch answers with
 * (`mapper_parsing_exception`, `strict_dynamic_mapping_exception`); returns the mappings extended by dynamic
 * mapping, or undefined if the document added no field.
 */
export function applyDocument(mappings: Mappings, source: Record<string, unknown>, id: string): Mappings | undefined {
  const next = structuredClone(mappings);
  const context = { id, changed: false };
  walkObject(next, source, '', dynamicOf(next) ?? 'true', context);
  return context.changed ? next : undefined;
}

interface WalkContext {
  readonly id: string;
  changed: boolean;
}

function walkObject(
  level: { properties?: Record<string, FieldMapping>; dynamic?: unknown },
  object: Record<string, unknown>,
  path: string,
  inherited: string,
  context: WalkContext,
): void {
  const dynamic = dynamicOf(level) ?? inherited;
  for (const [rawKey, rawValue] of Object.entries(object)) {
    const [key, ...rest] = splitAndValidatePath(rawKey);
    // DocumentParser: a metadata field's name at the root is refused whatever the mapping (dynamic false included).
    if (path === '' && METADATA_FIELDS.has(rawKey)) {
      throw mapperParsing(`Field [${rawKey}] is a metadata field and cannot be added inside a document. Use the index API request parameters.`);
    }
    if (key === undefined) throw mapperParsing(`field name cannot be an empty string`);
    // A dotted name stands for objects: {"a.b": 1} is {"a": {"b": 1}}.
    const value = rest.length > 0 ? { [rest.join('.')]: rawValue } : rawValue;
    const fullPath = path ? `${path}.${key}` : key;
    let field = level.properties?.[key];
    if (field === undefined) {
      if (dynamic === 'strict') throw strictDynamicMapping(key, path || '_doc');
      if (dynamic === 'false') continue;
      field = inferMapping(value);
      if (field === undefined) continue;
      level.properties ??= {};
      level.properties[key] = field;
      context.changed = true;
    }
    checkValue(field, value, fullPath, dynamic, context);
  }
}

/** OpenSearch 2.x's built-in metadata fields (IndicesModule#getBuiltInMetadataFields): refused at a document's root. */
const METADATA_FIELDS: ReadonlySet<string> = new Set([
  '_id', '_routing', '_index', '_source', '_type', '_version', '_seq_no', '_primary_term', '_field_names', '_ignored',
  '_data_stream_timestamp', '_nested_path',
]);

/** The refusal of a field name, wrapped as DocumentParser wraps it ("failed to parse", caused by the reason). */
function badFieldName(reason: string): ReturnType<typeof mapperParsing> {
  return mapperParsing('failed to parse', { type: 'illegal_argument_exception', reason });
}

/**
 * DocumentParser#splitAndValidatePath: a name's parts, split at dots as Java's `String#split` does (trailing empty
 * parts dropped); an empty part before the last, a name of dots only, or a name of whitespace only is refused.
 */
function splitAndValidatePath(name: string): string[] {
  if (name.includes('.')) {
    const parts = name.split('.');
    while (parts.length > 0 && parts.at(-1) === '') parts.pop();
    if (parts.length === 0) throw badFieldName('field name cannot contain only dots');
    for (const part of parts) {
      if (part.trim() !== '') continue;
      if (part !== '') throw badFieldName(`object field cannot contain only whitespace: ['${name}']`);
      throw badFieldName(`object field starting or ending with a [.] makes object resolution ambiguous: [${name}]`);
    }
    return parts;
  }
  if (name === '') throw badFieldName('field name cannot be an empty string');
  if (name.trim() === '') throw badFieldName(`field name cannot contain only whitespace: ['${name}']`);
  return [name];
}

function inferMapping(value: unknown): FieldMapping | undefined {
  if (Array.isArray(value)) {
    const first = value.find((v) => v !== null);
    return first === undefined ? undefined : inferMapping(first);
  }
  if (value === null || value === undefined) return undefined;
  if (typeof value === 'boolean') return { type: 'boolean' };
  if (typeof value === 'number') return { type: Number.isInteger(value) ? 'long' : 'float' };
  if (typeof value === 'string') {
    if (/^\d{4}-\d{2}-\d{2}/.test(value) && ISO_DATE.test(value) && !Number.isNaN(Date.parse(value))) {
      return { type: 'date' };
    }
    return { type: 'text', fields: { keyword: { type: 'keyword', ignore_above: 256 } } };
  }
  return { properties: {} };
}

/** Java's rendering of a parsed value, as OpenSearch quotes it in "Preview of field's value". */
function preview(value: unknown): string {
  if (isPlainObject(value)) {
    return `{${Object.entries(value).map(([k, v]) => `${k}=${preview(v)}`).join(', ')}}`;
  }
  if (Array.isArray(value)) return `[${value.map(preview).join(', ')}]`;
  return String(value);
}

function checkValue(field: FieldMapping, value: unknown, path: string, dynamic: string, context: WalkContext): void {
  if (value === null || value === undefined) return;
  if (Array.isArray(value)) {
    for (const element of value) checkValue(field, element, path, dynamic, context);
    return;
  }
  const type = fieldType(field);
  if (OBJECT_TYPES.has(type)) {
    if (field.enabled === false) return;
    if (!isPlainObject(value)) {
      const leaf = path.slice(path.lastIndexOf('.') + 1);
      throw mapperParsing(
        `object mapping for [${path}] tried to parse field [${leaf}] as object, but found a concrete value`,
      );
    }
    walkObject(field, value, path, dynamic, context);
    return;
  }
  const cause = valueProblem(field, type, value);
  if (cause !== undefined) {
    throw mapperParsing(
      `failed to parse field [${path}] of type [${type}] in document with id '${context.id}'. ` +
        `Preview of field's value: '${preview(value)}'`,
      cause,
    );
  }
}

/** Why OpenSearch cannot parse `value` into a field of `type`, or undefined if it can. */
function valueProblem(field: FieldMapping, type: string, value: unknown): ErrorCause | undefined {
  if (isPlainObject(value)) {
    if (STRUCTURED_TYPES.has(type)) return undefined;
    return { type: 'illegal_state_exception', reason: "Can't get text on a START_OBJECT" };
  }
  const range = INTEGER_RANGES[type];
  if (range !== undefined || FLOAT_TYPES.has(type)) {
    if (typeof value === 'boolean') {
      return {
        type: 'json_parse_exception',
        reason: `Current token (VALUE_${String(value).toUpperCase()}) not numeric, can not use numeric value accessors`,
      };
    }
    const number = typeof value === 'number' ? value : NUMERIC.test(String(value)) ? Number(value) : Number.NaN;
    if (Number.isNaN(number)) return { type: 'number_format_exception', reason: `For input string: "${String(value)}"` };
    if (range !== undefined && (Math.trunc(number) < range[0] || Math.trunc(number) > range[1])) {
      return { type: 'illegal_argument_exception', reason: `Value [${String(value)}] is out of range for ${range[2]}` };
    }
    return undefined;
  }
  if (type === 'boolean') {
    if (typeof value === 'boolean' || value === 'true' || value === 'false' || value === '') return undefined;
    return {
      type: 'illegal_argument_exception',
      reason: `Failed to parse value [${String(value)}] as only [true] or [false] are allowed.`,
    };
  }
  if (DATE_TYPES.has(type)) return dateProblem(field, value);
  return undefined;
}

function dateProblem(field: FieldMapping, value: unknown): ErrorCause | undefined {
  if (typeof value === 'number' && Number.isFinite(value)) return undefined;
  const text = String(value);
  if (/^-?\d+$/.test(text)) return undefined; // epoch_millis
  const custom = typeof field.format === 'string' && field.format !== '';
  if ((custom || ISO_DATE.test(text)) && !Number.isNaN(Date.parse(text))) return undefined;
  const format = custom ? String(field.format) : 'strict_date_optional_time||epoch_millis';
  return {
    type: 'illegal_argument_exception',
    reason: `failed to parse date field [${text}] with format [${format}]`,
    caused_by: { type: 'date_time_parse_exception', reason: 'Failed to parse with all enclosed parsers' },
  };
}

export { FLOAT_TYPES, INTEGER_RANGES, STRING_TYPES, DATE_TYPES };
