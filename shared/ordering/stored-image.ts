import { gzipSync } from 'node:zlib';
import type { ChangeRecord } from '../change-record/change-record';
import { exactImageValue } from '../accounts/image-json';
import { MAX_LAST_IMAGE_BYTES } from './limits';
import { patched, type Watermark } from './watermark';

/*
 * What the ledger stores weighs: a watermark's last image is kept for a heal only while it is small enough (every
 * mode), so an account's item stays far below DynamoDB's 400 KB whatever its items hold; a parked record is measured
 * against the bounds of an item and of a transaction (`in-order`).
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

/** Parked records bigger than this as an item are stored gzipped (`parkedRecordForm`). */
export const GZIP_PARKED_ABOVE_BYTES = 64 * 1024;

const PARKED_ITEM_OVERHEAD = 512;

/**
 * The size of `record` as a parked ledger item, by DynamoDB's rules for item size (see `itemBytes`); gzipped when
 * bigger than `GZIP_PARKED_ABOVE_BYTES` (see `parkedRecordForm`). The Kinesis data it came in (`payloadBytes`) holds
 * both images as DynamoDB JSON, which is never smaller than their stored form: below the bound it is taken as is,
 * without walking the images.
 */
export function parkedRecordBytes(record: ChangeRecord, boundBytes: number): number {
  return parkedRecordForm(record, boundBytes).bytes;
}

/**
 * How a parked record is stored: as a map of its fields, or, when that would take more than
 * `GZIP_PARKED_ABOVE_BYTES`, as the gzip of its exact JSON (`gzip`). A change holds both images of an item of up to
 * 400 KB, so a big item's change would not fit in one (DynamoDB's limit too) and could not wait parked at all; text
 * compresses several times. One rule for the engine, which measures what it parks, and the ledger, which stores it.
 */
export function parkedRecordForm(record: ChangeRecord, boundBytes: number): { readonly bytes: number; readonly gzip?: Uint8Array } {
  const plain =
    record.payloadBytes !== undefined && record.payloadBytes + PARKED_ITEM_OVERHEAD <= Math.min(boundBytes, GZIP_PARKED_ABOVE_BYTES)
      ? record.payloadBytes + PARKED_ITEM_OVERHEAD
      : PARKED_ITEM_OVERHEAD + itemBytes(record.oldImage ?? null) + itemBytes(record.newImage ?? null);
  if (plain <= GZIP_PARKED_ABOVE_BYTES) return { bytes: plain };
  const gzip = gzippedRecord(record);
  return { bytes: PARKED_ITEM_OVERHEAD + gzip.byteLength, gzip };
}

/** The same record is measured by the engine and then written by the ledger: gzipped once. */
const GZIPPED = new WeakMap<ChangeRecord, Uint8Array>();

/** A parked record's gzipped form: its exact JSON (`exactImageValue`), which the ledger's reader revives. */
export function gzippedRecord(record: ChangeRecord): Uint8Array {
  let gzip = GZIPPED.get(record);
  if (gzip === undefined) {
    gzip = gzipSync(JSON.stringify(record, exactImageValue));
    GZIPPED.set(record, gzip);
  }
  return gzip;
}

/**
 * A value's stored size as DynamoDB counts it: strings and names by their UTF-8 bytes, a number at most 21 bytes, a
 * boolean or null 1, a list or map 3 bytes and 1 per element on top of the elements (sets as lists).
 */
export function itemBytes(value: unknown): number {
  if (typeof value === 'string') return utf8Bytes(value);
  if (typeof value === 'number' || typeof value === 'bigint') return 21;
  if (value === null || typeof value !== 'object') return 1;
  if (value instanceof Uint8Array) return value.byteLength;
  let total = 3;
  const items: Iterable<unknown> | undefined = value instanceof Set || Array.isArray(value) ? value : undefined;
  if (items !== undefined) {
    for (const item of items) total += 1 + itemBytes(item);
    return total;
  }
  const object = value as Record<string, unknown>;
  for (const key in object) if (object[key] !== undefined) total += 1 + utf8Bytes(key) + itemBytes(object[key]);
  return total;
}

function utf8Bytes(text: string): number {
  let bytes = 0;
  for (let index = 0; index < text.length; index += 1) {
    const code = text.charCodeAt(index);
    if (code < 0x80) bytes += 1;
    else if (code < 0x800) bytes += 2;
    // A surrogate pair is one 4-byte character: 2 + 2.
    else if (code >= 0xd800 && code <= 0xdfff) bytes += 2;
    else bytes += 3;
  }
  return bytes;
}
