import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { FunctionError, LocalFunction } from '../../local/functions/local-function';

const entry = fileURLToPath(new URL('../fixtures/echo-handler.ts', import.meta.url));
const context = { getRemainingTimeInMillis: () => 10_000 };
const invoke = (fn: LocalFunction, event: unknown) => fn.invoke(event as never, context) as unknown as Promise<Record<string, unknown>>;

describe('LocalFunction: a handler module in worker-thread execution environments', () => {
  const a = new LocalFunction({ functionName: 'a', entry, environment: { ECHO_NAME: 'alpha' } });
  const b = new LocalFunction({ functionName: 'b', entry, environment: { ECHO_NAME: 'beta' }, concurrency: 2 });
  afterAll(async () => {
    await Promise.all([a.stop(), b.stop()]);
  });

  it('gives each function its own environment variables and module state', async () => {
    expect(await invoke(a, { action: 'env' })).toMatchObject({ name: 'alpha', invocations: 1 });
    expect(await invoke(a, { action: 'env' })).toMatchObject({ name: 'alpha', invocations: 2 });
    expect(await invoke(b, { action: 'env' })).toMatchObject({ name: 'beta', invocations: 1 });
    expect(process.env.ECHO_NAME).toBeUndefined();
  });

  it('reports a thrown error as a FunctionError with its type', async () => {
    const error = await invoke(a, { action: 'throw' }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(FunctionError);
    expect(error).toMatchObject({ errorType: 'TypeError', functionName: 'a' });
  });

  it('runs one event at a time per environment, and as many at once as it has environments', async () => {
    const started = Date.now();
    const results = await Promise.all([invoke(b, { action: 'sleep', ms: 300 }), invoke(b, { action: 'sleep', ms: 300 })]);
    expect(Date.now() - started).toBeLessThan(550);
    expect(new Set(results.map((result) => result.thread)).size).toBe(2);

    const serialStart = Date.now();
    await Promise.all([invoke(a, { action: 'sleep', ms: 200 }), invoke(a, { action: 'sleep', ms: 200 })]);
    expect(Date.now() - serialStart).toBeGreaterThanOrEqual(390);
  });
});
