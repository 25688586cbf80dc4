/** Reading typed settings from environment variables, each failure naming the variable. */

export type Env = Readonly<Record<string, string | undefined>>;

export class ConfigurationError extends Error {
  constructor(
    readonly variable: string,
    message: string,
  ) {
    super(`${variable}: ${message}`);
    this.name = 'ConfigurationError';
  }
}

export function requiredString(env: Env, name: string): string {
  const value = env[name]?.trim();
  if (!value) throw new ConfigurationError(name, 'is required and is not set');
  return value;
}

export function optionalString(env: Env, name: string): string | undefined {
  const value = env[name]?.trim();
  return value ? value : undefined;
}

export function integer(env: Env, name: string, fallback: number, bounds: { min: number; max: number }): number {
  const raw = optionalString(env, name);
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!/^-?\d+$/.test(raw) || !Number.isSafeInteger(value)) {
    throw new ConfigurationError(name, `must be an integer, got "${raw}"`);
  }
  if (value < bounds.min || value > bounds.max) {
    throw new ConfigurationError(name, `must be between ${bounds.min} and ${bounds.max}, got ${value}`);
  }
  return value;
}

export function oneOf<T extends string>(env: Env, name: string, allowed: readonly T[], fallback: T): T {
  const raw = optionalString(env, name);
  if (raw === undefined) return fallback;
  if (!(allowed as readonly string[]).includes(raw)) {
    throw new ConfigurationError(name, `must be one of ${allowed.join(', ')}, got "${raw}"`);
  }
  return raw as T;
}

export function boolean(env: Env, name: string, fallback: boolean): boolean {
  const raw = optionalString(env, name)?.toLowerCase();
  if (raw === undefined) return fallback;
  if (raw === 'true' || raw === '1') return true;
  if (raw === 'false' || raw === '0') return false;
  throw new ConfigurationError(name, `must be true or false, got "${raw}"`);
}

export function url(env: Env, name: string): string | undefined {
  const raw = optionalString(env, name);
  if (raw === undefined) return undefined;
  try {
    const parsed = new URL(raw);
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new Error('not http(s)');
  } catch {
    throw new ConfigurationError(name, `must be an http(s) URL, got "${raw}"`);
  }
  return raw;
}

/** An optional string that must satisfy `isValid`; `rule` says what it must be. */
export function formatted(env: Env, name: string, isValid: (value: string) => boolean, rule: string): string | undefined {
  const raw = optionalString(env, name);
  if (raw !== undefined && !isValid(raw)) throw new ConfigurationError(name, `must be ${rule}, got "${raw}"`);
  return raw;
}
