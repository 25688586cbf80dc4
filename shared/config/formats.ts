/*
 * Value formats that both the stack's configuration (at synth) and a consumer's environment (at cold start) check, so
 * a value the stack refuses is refused by the function too, with the same rule.
 */

/** An AWS region name, e.g. `eu-west-1`, `us-gov-west-1`. */
export const REGION_PATTERN = '[a-z]{2}(?:-[a-z]+)+-\\d{1,2}';
const REGION = new RegExp(`^${REGION_PATTERN}$`);

export function isRegion(value: string): boolean {
  return REGION.test(value);
}

const ISO_TIME = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(?:Z|[+-](\d{2}):(\d{2}))$/;

/** A calendar-valid ISO 8601 date and time with a time zone; `Date.parse` alone accepts February 30th. */
export function isIsoTime(value: string): boolean {
  const m = ISO_TIME.exec(value);
  if (m === null) return false;
  const [year, month, day, hour, minute, second, offsetHours, offsetMinutes] = m.slice(1).map((part) => Number(part ?? 0));
  const daysInMonth = new Date(Date.UTC(year!, month!, 0)).getUTCDate();
  return month! >= 1 && month! <= 12 && day! >= 1 && day! <= daysInMonth && hour! <= 23 && minute! <= 59 && second! <= 59
    && offsetHours! <= 23 && offsetMinutes! <= 59 && !Number.isNaN(Date.parse(value));
}

const INDEX_NAME = /^(?![-_+])(?!\.\.?$)[^A-Z\\/*?"<>|,#:\s]+$/;

/** What OpenSearch accepts as an index name: lower case, none of `\ / * ? " < > | , # :` or space, at most 255 bytes. */
export function isIndexName(value: string): boolean {
  return INDEX_NAME.test(value) && Buffer.byteLength(value, 'utf8') <= 255;
}

export const INDEX_NAME_RULE = 'an OpenSearch index name (lower case, no \\ / * ? " < > | , # : or space, not starting with - _ +, at most 255 bytes)';

/** An origin (`https://host[:port]`): no credentials, path, query or fragment. */
export function isOrigin(value: string, protocols: readonly ('http:' | 'https:')[]): boolean {
  try {
    const url = new URL(value);
    return (protocols as readonly string[]).includes(url.protocol) && value.startsWith(`${url.protocol}//`) && url.hostname !== ''
      && url.username === '' && url.password === '' && url.pathname === '/' && !/[?#]/.test(value);
  } catch {
    return false;
  }
}
