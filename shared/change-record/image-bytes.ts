/**
 * Images the decoder read from a payload small enough that the image's stored size cannot exceed a bound: the
 * DynamoDB size of an attribute map is never more than the UTF-8 bytes of its DynamoDB JSON, and a payload holds
 * its images' JSON. Keyed by the image object itself (weakly), so a copy or a changed image (a heal) is not covered
 * and is measured as before; nothing is added to the record, its parked item or its dead letter.
 */
const bounded = new WeakMap<object, number>();

/** Notes that `image` takes at most `bytes` stored. */
export function noteImageBytes(image: object, bytes: number): void {
  bounded.set(image, bytes);
}

/** What the decoder knows of `image`'s stored size, if anything. */
export function knownImageBytes(image: object): number | undefined {
  return bounded.get(image);
}
