import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { canonical } from '../../shared/ordering/change-digest';
import { sameAttributes } from '../../shared/ordering/heal';

const KEYS = ['account_id', 'balance', 'version', 'status', 'note', 'tags'];
const IGNORED = new Set(['balance', 'version']);

/** Attribute values as unmarshalled images hold them, from a small pool so that equal values are common. */
const value: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  leaf: fc.oneof(fc.constant(undefined), fc.constant(null), fc.constantFrom(0, -0, 1, 2.5, Number.NaN), fc.constantFrom('', 'a', 'b'), fc.boolean()),
  node: fc.oneof(
    { weight: 3, arbitrary: tie('leaf') },
    { weight: 1, arbitrary: fc.array(tie('leaf'), { maxLength: 2 }) },
    { weight: 1, arbitrary: fc.dictionary(fc.constantFrom('x', 'y'), tie('leaf'), { maxKeys: 2 }) },
    { weight: 1, arbitrary: fc.uniqueArray(fc.constantFrom('p', 'q'), { maxLength: 2 }).map((items) => new Set(items)) },
  ),
})).node;

const image = fc.dictionary(fc.constantFrom(...KEYS), value, { maxKeys: KEYS.length });

function without(object: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(object).filter(([key]) => !IGNORED.has(key)));
}

describe('sameAttributes', () => {
  test('agrees with comparing canonical texts without the ignored attributes', () => {
    fc.assert(
      fc.property(image, image, fc.boolean(), (a, b, related) => {
        // Half the pairs are one image and a copy with a few attributes replaced: mostly equal, sometimes not.
        const other = related ? { ...a, ...Object.fromEntries(Object.entries(b).slice(0, 2)) } : b;
        expect(sameAttributes(a, other, IGNORED)).toBe(canonical(without(a)) === canonical(without(other)));
        expect(sameAttributes(other, a, IGNORED)).toBe(canonical(without(a)) === canonical(without(other)));
      }),
      { numRuns: 3000 },
    );
  });

  test('an attribute missing on one side differs from one set to null; undefined counts as missing', () => {
    expect(sameAttributes({ note: null }, {}, IGNORED)).toBe(false);
    expect(sameAttributes({ note: undefined }, {}, IGNORED)).toBe(true);
    expect(sameAttributes({ note: 'a', balance: 1 }, { note: 'a', balance: 2 }, IGNORED)).toBe(true);
    expect(sameAttributes({ tags: new Set(['p', 'q']) }, { tags: new Set(['q', 'p']) }, IGNORED)).toBe(true);
  });
});
