import { describe, expect, test } from 'vitest';
import { emptyWatermark, patched, type Watermark } from '../../shared/ordering/watermark';

/** A watermark with every field set to something no default has, so a field `patched` forgets to copy shows. */
function everyFieldSet(): Watermark {
  const w = emptyWatermark('acct');
  const filled = Object.fromEntries(Object.keys(w).map((key, index) => [key, `value-${index}`]));
  return filled as unknown as Watermark;
}

describe('patched', () => {
  test('copies every field of the watermark (emptyWatermark lists them all)', () => {
    const w = everyFieldSet();
    const copy = patched(w, {});
    expect(copy).toEqual(w);
    expect(copy).not.toBe(w);
    expect(Object.keys(copy)).toEqual(Object.keys(emptyWatermark('acct')));
  });

  test('replaces the fields the patch names, clears those given as undefined, and leaves the source alone', () => {
    const w = everyFieldSet();
    const next = patched(w, { version: 7, home: undefined });
    expect(next).toEqual({ ...w, version: 7, home: undefined });
    expect(w.version).toBe(everyFieldSet().version);
    expect(Object.keys(next)).toEqual(Object.keys(w));
  });
});
