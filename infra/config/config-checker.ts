import { PipelineConfigError } from './pipeline-config';

/**
 * The schema walker: specs for JSON values, and a checker that merges a raw value over a valid base, field by field,
 * against them. Every failure is a `PipelineConfigError` naming the path of the value, so one message format serves
 * the whole configuration (built-in sections, plug-in settings and a plug-in's own options).
 */

/** The path of an error about the configuration as a whole (it is not an object, or not JSON). */
export const ROOT_PATH = '(root)';

export interface IntSpec { readonly kind: 'int'; readonly min: number; readonly max: number; readonly note?: string }
export interface BoolSpec { readonly kind: 'bool' }
export interface EnumSpec<T extends string = string> { readonly kind: 'enum'; readonly values: readonly T[] }
export interface TextSpec { readonly kind: 'text'; readonly expected: string; readonly test: (value: string) => boolean }
export interface ListSpec { readonly kind: 'list'; readonly expected: string; readonly item: TextSpec }
/** One spec per field of `T`, optional fields included: the compiler holds the schema to the type. */
export type ObjectFields<T> = { readonly [K in keyof T]-?: Spec<NonNullable<T[K]>> };
export interface ObjectSpec<T> { readonly kind: 'object'; readonly fields: ObjectFields<T> }
export type Spec<T> = [T] extends [boolean] ? BoolSpec
  : [T] extends [number] ? IntSpec
  : [T] extends [string] ? (string extends T ? TextSpec : EnumSpec<T>)
  : [T] extends [readonly string[]] ? ListSpec
  : ObjectSpec<T>;
export type AnySpec = IntSpec | BoolSpec | EnumSpec | TextSpec | ListSpec | { readonly kind: 'object'; readonly fields: Readonly<Record<string, AnySpec>> };

export const int = (min: number, max: number, note?: string): IntSpec => ({ kind: 'int', min, max, ...(note === undefined ? {} : { note }) });
export const bool: BoolSpec = { kind: 'bool' };
export const oneOf = <T extends string>(...values: T[]): EnumSpec<T> => ({ kind: 'enum', values });
export const text = (expected: string, pattern: RegExp | ((value: string) => boolean)): TextSpec => ({
  kind: 'text',
  expected,
  test: typeof pattern === 'function' ? pattern : (value) => pattern.test(value),
});
export const object = <T>(fields: ObjectFields<T>): ObjectSpec<T> => ({ kind: 'object', fields });

/** How a given value reads in an error message. */
export function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return JSON.stringify(value.length > 100 ? `${value.slice(0, 100)}…` : value);
  if (typeof value === 'object') return 'an object';
  return String(value);
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length]!;
}

/** The known key `key` was probably meant as: same but for case, else the nearest within a third of its length. */
export function suggest(key: string, known: readonly string[]): string | undefined {
  const sameCase = known.find((candidate) => candidate.toLowerCase() === key.toLowerCase());
  if (sameCase !== undefined) return sameCase;
  const ranked = known.map((candidate) => ({ candidate, distance: editDistance(key.toLowerCase(), candidate.toLowerCase()) }));
  ranked.sort((a, b) => a.distance - b.distance);
  const best = ranked[0];
  return best !== undefined && best.distance <= Math.max(1, Math.floor(key.length / 3)) ? best.candidate : undefined;
}

export const join = (path: string, key: string): string => (path === '' ? key : `${path}.${key}`);

export class ConfigChecker {
  /**
   * @param source where the configuration came from, added to every message (`(from config file "...")`); undefined
   *   where the caller no longer knows it (a plug-in's options, checked where the stack resolves the plug-in).
   * @param now the time replay windows are measured from.
   */
  constructor(
    private readonly source: string | undefined,
    readonly now: number = Date.now(),
  ) {}

  fail(path: string, message: string): never {
    throw new PipelineConfigError(path, this.source === undefined ? message : `${message} (from ${this.source})`);
  }

  /** `raw` merged over `base` (a valid default, or undefined for an unset optional field), checked against `spec`. */
  value(spec: AnySpec, base: unknown, raw: unknown, path: string): unknown {
    if (raw === undefined) return base;
    const got = `got ${describe(raw)}`;
    switch (spec.kind) {
      case 'object':
        return this.object(spec.fields, isPlainObject(base) ? base : {}, raw, path);
      case 'bool':
        if (typeof raw !== 'boolean') this.fail(path, `must be true or false, ${got}`);
        return raw;
      case 'int':
        if (typeof raw !== 'number' || !Number.isInteger(raw) || raw < spec.min || raw > spec.max) {
          this.fail(path, `must be an integer between ${spec.min} and ${spec.max}${spec.note ?? ''}, ${got}`);
        }
        return raw;
      case 'enum':
        if (typeof raw !== 'string' || !spec.values.includes(raw)) this.fail(path, `must be one of ${spec.values.map((v) => `"${v}"`).join(', ')}, ${got}`);
        return raw;
      case 'text':
        if (typeof raw !== 'string' || !spec.test(raw)) this.fail(path, `must be ${spec.expected}, ${got}`);
        return raw;
      case 'list': {
        if (!Array.isArray(raw)) this.fail(path, `must be ${spec.expected}, ${got}`);
        const items = raw.map((item: unknown, i) => this.value(spec.item, undefined, item ?? null, `${path}[${i}]`));
        items.forEach((item, i) => {
          const first = items.indexOf(item);
          if (first < i) this.fail(`${path}[${i}]`, `must not repeat ${path}[${first}], got ${describe(item)} twice`);
        });
        return items;
      }
    }
  }

  /** `raw` merged over `base` field by field; a key `fields` lacks is refused, with the known key it most resembles. */
  object(fields: Readonly<Record<string, AnySpec>>, base: Record<string, unknown>, raw: unknown, path: string): Record<string, unknown> {
    if (!isPlainObject(raw)) this.fail(path === '' ? ROOT_PATH : path, `must be an object, got ${describe(raw)}`);
    const known = Object.keys(fields);
    for (const key of Object.keys(raw)) {
      if (Object.hasOwn(fields, key)) continue;
      const guess = suggest(key, known);
      this.fail(join(path, key), guess === undefined ? `unknown setting; expected one of ${known.join(', ')}` : `unknown setting; did you mean ${guess}?`);
    }
    const merged: Record<string, unknown> = {};
    for (const [key, spec] of Object.entries(fields)) {
      const value = this.value(spec, base[key], raw[key], join(path, key));
      if (value !== undefined) merged[key] = value;
    }
    return merged;
  }
}
