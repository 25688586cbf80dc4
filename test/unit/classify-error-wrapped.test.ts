import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { classifyError } from '../../shared/retry/classify-error';

/*
 * Error shapes the SDK or Node produce that classifyError missed. A throttling 400 it did not know was `reject`: the
 * record dead-lettered REJECTED at once, never retried. A network failure wrapped by Node's fetch was `unexpected`:
 * the whole batch thrown and bisected, for a connection refused.
 */

const metadata = (httpStatusCode: number) => ({ httpStatusCode, requestId: 'req-1', attempts: 1, totalRetryDelay: 0 });
const serviceError = (name: string, status: number) =>
  Object.assign(new Error(`${name} happened`), { name, $fault: 'client', $metadata: metadata(status) });

describe('classifyError on shapes it used to miss', () => {
  it.each(['TransactionInProgressException', 'PriorRequestNotComplete', 'BandwidthLimitExceeded', 'EC2ThrottledException'])(
    'retries %s (400), which the SDK itself counts as throttling',
    (name) => {
      expect(classifyError(serviceError(name, 400))).toBe('retry');
    },
  );

  it('retries throttling under a prefixed name (KMS.ThrottlingException)', () => {
    expect(classifyError(serviceError('KMS.ThrottlingException', 400))).toBe('retry');
  });

  it("retries Node's fetch failing on a refused connection (TypeError: fetch failed, the socket error as its cause)", async () => {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as { port: number };
    await new Promise<void>((resolve) => server.close(() => resolve()));
    const error = await fetch(`http://127.0.0.1:${port}/`).then(
      () => undefined,
      (thrown: unknown) => thrown,
    );
    expect(error).toBeInstanceOf(TypeError);
    expect(classifyError(error)).toBe('retry');
  });

  it('retries undici socket and time-out errors, wrapped or not', () => {
    const socket = Object.assign(new Error('other side closed'), { code: 'UND_ERR_SOCKET' });
    expect(classifyError(socket)).toBe('retry');
    expect(classifyError(new TypeError('fetch failed', { cause: Object.assign(new Error('Connect Timeout Error'), { code: 'UND_ERR_CONNECT_TIMEOUT' }) }))).toBe('retry');
  });

  it('retries an AggregateError of network failures (every connection attempt refused)', () => {
    const refused = (address: string) => Object.assign(new Error(`connect ECONNREFUSED ${address}`), { code: 'ECONNREFUSED' });
    expect(classifyError(new AggregateError([refused('::1:443'), refused('127.0.0.1:443')]))).toBe('retry');
  });

  it('still calls a bug unexpected, whatever it wraps that is not a network failure', () => {
    expect(classifyError(new TypeError('fetch failed', { cause: new RangeError('Invalid array length') }))).toBe('unexpected');
    expect(classifyError(new AggregateError([new TypeError('a'), Object.assign(new Error('b'), { code: 'ECONNRESET' })]))).toBe('unexpected');
    expect(classifyError(new AggregateError([]))).toBe('unexpected');
    // A wrapped refusal stays unexpected: the wrapper may be our own bug.
    expect(classifyError(new Error('wrapped', { cause: serviceError('ValidationException', 400) }))).toBe('unexpected');
    // A cause cycle ends.
    const loop: Error & { cause?: unknown } = new Error('loop');
    loop.cause = loop;
    expect(classifyError(loop)).toBe('unexpected');
    expect(classifyError('ECONNRESET')).toBe('unexpected');
    expect(classifyError(null)).toBe('unexpected');
  });
});
