/**
 * The AWS JSON 1.1 wire protocol as the EventBridge stand-in speaks it: `POST /` with
 * `X-Amz-Target: AWSEvents.<Operation>`, JSON bodies, errors as `{ "__type": <code>, "message": <text> }`.
 * SigV4 is not verified; the Authorization header is only read for the region of its credential scope.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';

export const JSON_1_1 = 'application/x-amz-json-1.1';
export const TARGET_PREFIX = 'AWSEvents.';
/** A bound on what the stand-in reads of one request body, well above any valid PutEvents call. */
export const MAX_BODY_BYTES = 8 * 1024 * 1024;

/** An error answered as an AWS JSON error body. `status` is the HTTP status code. */
export class AwsError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
    this.name = code;
  }
}

export const validationError = (message: string): AwsError => new AwsError('ValidationException', message);

export function readBody(request: IncomingMessage, limit = MAX_BODY_BYTES): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) tooLarge = true;
      else chunks.push(chunk);
    });
    request.on('end', () => {
      if (tooLarge) reject(new AwsError('RequestEntityTooLargeException', `Request body is over ${limit} bytes.`, 413));
      else resolve(Buffer.concat(chunks).toString('utf8'));
    });
    request.on('error', reject);
  });
}

/** Parses a JSON 1.1 request body into an object; an empty body is `{}`. */
export function parseInput(body: string): Record<string, unknown> {
  if (body.trim() === '') return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    throw new AwsError('SerializationException', 'The request body is not valid JSON.');
  }
  if (!isRecord(parsed)) throw new AwsError('SerializationException', 'The request body must be a JSON object.');
  return parsed;
}

/** The operation named by `X-Amz-Target`, or undefined when the header is missing or not for EventBridge. */
export function operationOf(request: IncomingMessage): string | undefined {
  const target = request.headers['x-amz-target'];
  if (typeof target !== 'string' || !target.startsWith(TARGET_PREFIX)) return undefined;
  return target.slice(TARGET_PREFIX.length);
}

/** The region of the SigV4 credential scope (`Credential=<key>/<date>/<region>/events/aws4_request`). */
export function regionOf(request: IncomingMessage, fallback = 'us-east-1'): string {
  const authorization = request.headers.authorization;
  const match = typeof authorization === 'string' ? /Credential=[^/,\s]+\/\d{8}\/([^/,\s]+)\//.exec(authorization) : null;
  return match?.[1] ?? fallback;
}

export function sendJson(response: ServerResponse, status: number, body: unknown): void {
  const payload = JSON.stringify(body);
  response.writeHead(status, {
    'Content-Type': JSON_1_1,
    'Content-Length': Buffer.byteLength(payload),
    'x-amzn-RequestId': randomUUID(),
  });
  response.end(payload);
}

export function sendError(response: ServerResponse, error: AwsError): void {
  sendJson(response, error.status, { __type: error.code, message: error.message });
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A required string member, else ValidationException in the service's wording. */
export function requiredString(input: Record<string, unknown>, member: string): string {
  const value = input[member];
  if (value === undefined || value === null) {
    throw validationError(`1 validation error detected: Value null at '${lowerFirst(member)}' failed to satisfy constraint: Member must not be null`);
  }
  if (typeof value !== 'string') throw new AwsError('SerializationException', `${member} must be a string.`);
  return value;
}

export function optionalString(input: Record<string, unknown>, member: string): string | undefined {
  const value = input[member];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw new AwsError('SerializationException', `${member} must be a string.`);
  return value;
}

export const lowerFirst = (name: string): string => name.charAt(0).toLowerCase() + name.slice(1);
