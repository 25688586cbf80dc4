/**
 * The request body limit of the OpenSearch stand-in, as Amazon OpenSearch Service enforces it: `http.max_content_length`
 * is 10 MiB on small instance types (100 MiB on larger ones), and a larger body is answered
 * `413 {"Message":"Request size exceeded 10485760 bytes"}` by the service's front end, before OpenSearch sees it. (A
 * self-managed OpenSearch answers a bare 413 with no body; a client must not rely on the body either way.)
 */
import type { IncomingMessage } from 'node:http';

export const DEFAULT_MAX_CONTENT_LENGTH = 10 * 1024 * 1024;

export interface ReadBody {
  /** Bytes received (on the wire, before any decompression). */
  readonly bytes: number;
  /** The body; undefined when it was over the limit (its bytes were drained, not kept). */
  readonly body: Buffer | undefined;
}

/**
 * Reads a request body, keeping at most `max` bytes. An oversized body is still drained so that the client reads the
 * 413 rather than a reset connection while it is still writing.
 */
export async function readBodyWithin(request: IncomingMessage, max: number): Promise<ReadBody> {
  const chunks: Buffer[] = [];
  let bytes = 0;
  for await (const chunk of request) {
    bytes += (chunk as Buffer).length;
    if (bytes <= max) chunks.push(chunk as Buffer);
    else chunks.length = 0;
  }
  return { bytes, body: bytes <= max ? Buffer.concat(chunks) : undefined };
}

/** The answer to a body over the limit (the decompressed size counts too, as OpenSearch's own limit does). */
export function tooLarge(max: number): { status: 413; body: { Message: string } } {
  return { status: 413, body: { Message: `Request size exceeded ${max} bytes` } };
}

export function checkMaxContentLength(max: number | undefined): number {
  if (max === undefined) return DEFAULT_MAX_CONTENT_LENGTH;
  if (!Number.isSafeInteger(max) || max < 1) throw new RangeError(`maxContentLength must be a positive integer, got ${max}`);
  return max;
}
