/** Index settings of the OpenSearch stand-in: flat `index.*` keys with string values, as OpenSearch keeps them. */
import { illegalArgument } from './errors';
import { isPlainObject } from './mapping';

/** How long OpenSearch remembers deleted documents' versions unless `index.gc_deletes` says otherwise. */
export const DEFAULT_GC_DELETES = '60s';

/**
 * `{ index: { gc_deletes: "1d" } }`, `{ "index.gc_deletes": "1d" }` and `{ gc_deletes: "1d" }` all mean the
 * setting `index.gc_deletes`: OpenSearch flattens nested settings and prefixes unqualified ones with `index.`.
 */
export function flattenSettings(raw: unknown): Record<string, string> {
  const flat: Record<string, string> = {};
  const visit = (value: unknown, key: string): void => {
    if (isPlainObject(value)) {
      for (const [child, nested] of Object.entries(value)) visit(nested, key ? `${key}.${child}` : child);
      return;
    }
    if (value === null || value === undefined) return;
    const name = key.startsWith('index.') ? key : `index.${key}`;
    flat[name] = Array.isArray(value) ? value.map(String).join(',') : String(value);
  };
  if (raw !== undefined && raw !== null) {
    if (!isPlainObject(raw)) throw illegalArgument('malformed settings: expected an object');
    visit(raw, '');
  }
  return flat;
}

/** Flat settings back into OpenSearch's nested rendering (`GET /<index>/_settings`). */
export function nestSettings(flat: Readonly<Record<string, string>>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(flat)) {
    const path = key.split('.');
    let level = out;
    for (const segment of path.slice(0, -1)) {
      const next = level[segment];
      if (isPlainObject(next)) {
        level = next;
      } else {
        const created: Record<string, unknown> = {};
        level[segment] = created;
        level = created;
      }
    }
    level[path[path.length - 1] ?? key] = value;
  }
  return out;
}

const TIME_UNITS: Record<string, number> = {
  nanos: 1e-6,
  micros: 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
};

/** A TimeValue ("500ms", "60s", "1d"; "0" and "-1" need no unit) in milliseconds, or OpenSearch's refusal. */
export function parseTimeValue(value: string, setting: string): number {
  const text = value.trim().toLowerCase();
  if (text === '0') return 0;
  if (text === '-1') return -1;
  const match = /^(-?\d+(?:\.\d+)?)\s*(nanos|micros|ms|s|m|h|d)$/.exec(text);
  if (match === null) {
    throw illegalArgument(
      `failed to parse setting [${setting}] with value [${value}] as a time value: unit is missing or unrecognized`,
    );
  }
  return Number(match[1]) * (TIME_UNITS[match[2] ?? 'ms'] ?? 1);
}

/** Checks the settings the stand-in gives meaning to. */
export function validateSettings(flat: Readonly<Record<string, string>>): void {
  const gc = flat['index.gc_deletes'];
  if (gc !== undefined) parseTimeValue(gc, 'index.gc_deletes');
  for (const name of ['index.number_of_shards', 'index.number_of_replicas']) {
    const count = flat[name];
    if (count !== undefined && !/^\d+$/.test(count)) {
      throw illegalArgument(`Failed to parse value [${count}] for setting [${name}]`);
    }
  }
}
