import { MAX_LAST_IMAGE_BYTES } from './limits';
import { patched, type Watermark } from './watermark';

/*
 * What of a watermark the ledger stores, in every mode: the last image is kept for a heal only while it is small
 * enough, so an account's item stays far below DynamoDB's 400 KB whatever its items hold.
 */

/**
 * The image to store as the watermark's `lastImage`: kept for a heal when small enough (see `MAX_LAST_IMAGE_BYTES`).
 * Applied once per ledger write (`storable`), not per delivered version: between writes the run holds the full image.
 * `boundBytes`, when the caller knows one (the payload the image came in), spares measuring the image.
 */
export function keepableImage(image: Watermark['lastImage'], boundBytes?: number): Watermark['lastImage'] {
  if (image === undefined) return undefined;
  if (boundBytes !== undefined && boundBytes <= MAX_LAST_IMAGE_BYTES) return image;
  return approximateBytes(image, MAX_LAST_IMAGE_BYTES) <= MAX_LAST_IMAGE_BYTES ? image : undefined;
}

/** The watermark as the ledger may store it: bounded in size (an image too big to keep is dropped). */
export function storable(w: Watermark, imageBoundBytes?: number): Watermark {
  const image = keepableImage(w.lastImage, imageBoundBytes);
  return image === w.lastImage ? w : patched(w, { lastImage: image });
}

/**
 * A cheap upper estimate of a value's stored size (UTF-8 at 3 bytes a character at most), that stops counting once
 * past `limit`. Images hold sets (unmarshalled string and number sets), lists and maps as well as plain objects.
 */
function approximateBytes(value: unknown, limit: number): number {
  if (typeof value === 'string') return value.length * 3 + 2;
  if (value === null || typeof value !== 'object') return 24;
  let total = 2;
  const items: Iterable<unknown> | undefined = value instanceof Set || Array.isArray(value) ? value : value instanceof Map ? value.entries() : undefined;
  if (items !== undefined) {
    for (const item of items) {
      total += 1 + approximateBytes(item, limit - total);
      if (total > limit) break;
    }
    return total;
  }
  // for-in rather than Object.entries: this runs for every delivered record, and allocates nothing.
  const object = value as Record<string, unknown>;
  for (const key in object) {
    total += key.length * 3 + 4 + approximateBytes(object[key], limit - total);
    if (total > limit) break;
  }
  return total;
}

