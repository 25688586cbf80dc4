import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { canonical, changeDigest, hashCanonical, isDigestOf, legacyChangeDigest, TextHash } from '../../shared/ordering/change-digest';

/**
 * `canonical` as it was first written (JSON.stringify for every key and primitive, `sort()` for keys). Its text is
 * hashed into the heal digests the ledger stores, so a faster `canonical` must give exactly this text for every value.
 */
function reference(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map(reference).join(',')}]`;
  if (value instanceof Set) return reference([...value].sort());
  const object = value as Record<string, unknown>;
  const members = Object.keys(object)
    .sort()
    .filter((key) => object[key] !== undefined)
    .map((key) => `${JSON.stringify(key)}:${reference(object[key])}`);
  return `{${members.join(',')}}`;
}

/** Text with everything that needs escaping: quotes, backslashes, control characters, non-ASCII, lone surrogates. */
const text = fc.oneof(
  fc.string({ maxLength: 8 }),
  fc.string({ unit: 'binary', maxLength: 8 }),
  fc.constantFrom('"', '\\', '\n', '\u007f', '\u2028', '\ud800', 'é', 'a'.repeat(65), `${'b'.repeat(70)}"`),
);
const number = fc.oneof(fc.double(), fc.integer(), fc.constantFrom(-0, Number.NaN, Number.POSITIVE_INFINITY, 1e21, 5e-7, 2 ** 53));
const value: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  leaf: fc.oneof(fc.constant(undefined), fc.constant(null), fc.boolean(), number, text),
  node: fc.oneof(
    { weight: 3, arbitrary: tie('leaf') },
    { weight: 1, arbitrary: fc.array(tie('node'), { maxLength: 3 }) },
    // Keys that sort differently by code unit than by other orders, and index-like keys that objects list first.
    { weight: 1, arbitrary: fc.dictionary(fc.oneof(text, fc.constantFrom('10', '9', 'B', 'a', '_', 'É')), tie('node'), { maxKeys: 20 }) },
    { weight: 1, arbitrary: fc.uniqueArray(fc.oneof(text, fc.integer()), { maxLength: 4 }).map((items) => new Set(items)) },
  ),
})).node;

/** A change with text that needs escaping, a set, a list and nested maps: its digests are pinned below. */
const PINNED = {
  kind: 'MODIFY' as const,
  oldImage: {
    account_id: 'ACC-1', balance: 10, status: 'OPEN', version: 4, note: 'a "quoted" \\ back\nslash é',
    tags: new Set(['b', 'a']), list: [1, -0, 2.5e-7, 1e21, null, { z: 1, a: true }],
  },
  newImage: { account_id: 'ACC-1', balance: 15, status: 'OPEN', version: 5, last_change: { type: 'DEPOSIT' as const, amount: 5 } },
};

/** The hash of a text given whole. */
const hashOf = (text: string): string => {
  const digest = new TextHash();
  digest.text(text);
  return digest.hex();
};

describe('canonical', () => {
  test('gives the text the first implementation gave, for every value', () => {
    fc.assert(
      fc.property(value, (v) => {
        expect(canonical(v)).toBe(reference(v));
      }),
      { numRuns: 5000 },
    );
  });

  test('a digest stored by earlier releases is still the digest of its change', () => {
    // Computed by the release before canonical was rewritten (createHash, JSON.stringify per member).
    expect(legacyChangeDigest(PINNED)).toBe('rQxNZSRV94o_e1Os');
    expect(isDigestOf('rQxNZSRV94o_e1Os', PINNED)).toBe(true);
    expect(isDigestOf('rQxNZSRV94o_e1Os', { ...PINNED, kind: 'INSERT' })).toBe(false);
  });
});

describe('changeDigest', () => {
  test('hashes exactly the canonical text, walked rather than built, for every value', () => {
    fc.assert(
      fc.property(value, (v) => {
        const walked = new TextHash();
        hashCanonical(v, walked);
        expect(walked.hex()).toBe(hashOf(canonical(v)));
      }),
      { numRuns: 5000 },
    );
  });

  test('is v2: and 16 hex digits, pinned: a stored digest must stay the digest of its change', () => {
    expect(changeDigest(PINNED)).toMatch(/^v2:[0-9a-f]{16}$/);
    expect(changeDigest(PINNED)).toBe('v2:480cae7071d0e361');
    expect(isDigestOf(changeDigest(PINNED), PINNED)).toBe(true);
  });

  test('tells changes apart by kind and by any value at any depth, and not by key order or a copy', () => {
    const reordered = { ...PINNED, newImage: Object.fromEntries(Object.entries(PINNED.newImage).reverse()) as typeof PINNED.newImage };
    expect(changeDigest(reordered)).toBe(changeDigest(PINNED));
    expect(changeDigest(structuredClone(PINNED))).toBe(changeDigest(PINNED));
    const others = [
      { ...PINNED, kind: 'INSERT' as const },
      { ...PINNED, newImage: { ...PINNED.newImage, balance: 16 } },
      { ...PINNED, newImage: { ...PINNED.newImage, last_change: { type: 'DEPOSIT' as const, amount: 6 } } },
      { ...PINNED, oldImage: { ...PINNED.oldImage, tags: new Set(['a', 'c']) } },
      { ...PINNED, oldImage: undefined },
    ];
    for (const other of others) {
      expect(changeDigest(other)).not.toBe(changeDigest(PINNED));
      expect(isDigestOf(changeDigest(PINNED), other)).toBe(false);
    }
  });

  test('no two of many similar changes share a digest', () => {
    const digests = new Set<string>();
    for (let balance = 0; balance < 20_000; balance += 1) digests.add(changeDigest({ ...PINNED, newImage: { ...PINNED.newImage, balance } }));
    expect(digests.size).toBe(20_000);
  });
});
