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

  it("refuses a payload over Lambda's 6 MB before any environment sees it", async () => {
    const before = (await invoke(a, { action: 'env' })).invocations as number;
    const error = await invoke(a, { action: 'env', pad: 'x'.repeat(6 * 1024 * 1024) }).catch((caught: unknown) => caught);
    expect(error).toMatchObject({ name: 'RequestEntityTooLargeException' });
    expect(await invoke(a, { action: 'env', pad: 'x'.repeat(6 * 1024 * 1024 - 100) })).toMatchObject({ invocations: before + 1 });
  });

  it('fails an invocation whose response is over 6 MB, after the handler ran, as Lambda does', async () => {
    const error = await invoke(a, { action: 'big', bytes: 6 * 1024 * 1024 }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(FunctionError);
    expect(error).toMatchObject({ errorType: 'Function.ResponseSizeTooLarge' });
    expect(await invoke(a, { action: 'big', bytes: 1_000 })).toMatchObject({ pad: 'x'.repeat(1_000) });
  });

  it('runs one event at a time per environment, and as many at once as it has environments', async () => {
    // Overlap is read from when each invocation ran, not from wall-clock bounds, so a slow machine cannot flake it.
    const overlap = (x: Record<string, unknown>, y: Record<string, unknown>) =>
      (x.startedAt as number) < (y.endedAt as number) && (y.startedAt as number) < (x.endedAt as number);
    const [b1, b2] = await Promise.all([invoke(b, { action: 'sleep', ms: 300 }), invoke(b, { action: 'sleep', ms: 300 })]);
    expect(new Set([b1?.thread, b2?.thread]).size).toBe(2);
    expect(overlap(b1 as Record<string, unknown>, b2 as Record<string, unknown>)).toBe(true);

    const [a1, a2] = await Promise.all([invoke(a, { action: 'sleep', ms: 200 }), invoke(a, { action: 'sleep', ms: 200 })]);
    expect(a1?.thread).toBe(a2?.thread);
    expect(overlap(a1 as Record<string, unknown>, a2 as Record<string, unknown>)).toBe(false);
  });
});

describe('LocalFunction: memory, as on Lambda', () => {
  const functions: LocalFunction[] = [];
  afterAll(async () => {
    await Promise.all(functions.map((fn) => fn.stop()));
  });

  it('caps the heap at memoryMb: an invocation that needs more dies (Runtime.ExitError) and the environment is replaced', async () => {
    const fn = new LocalFunction({ functionName: 'hog', entry, environment: {}, memoryMb: 256 });
    functions.push(fn);
    expect(await invoke(fn, { action: 'hog', mb: 10 })).toMatchObject({ invocations: 1, memoryLimitInMB: '256' });
    // Near its heap limit V8 collects again and again before it gives up: on a loaded machine that takes seconds, so
    // the invocation gets longer than the others to die of memory rather than of its timeout.
    const long = { getRemainingTimeInMillis: () => 50_000 };
    const error = await (fn.invoke({ action: 'hog', mb: 600 } as never, long) as Promise<unknown>).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(FunctionError);
    expect(error).toMatchObject({ errorType: 'Runtime.ExitError' });
    expect((error as Error).message).toContain('signal: killed');
    // A fresh environment: a cold start.
    expect(await invoke(fn, { action: 'hog', mb: 10 })).toMatchObject({ invocations: 1 });
    expect(() => new LocalFunction({ functionName: 'x', entry, environment: {}, memoryMb: 64 })).toThrow(RangeError);
  });
});

describe('LocalFunction: execution environments that die', () => {
  const crashEntry = fileURLToPath(new URL('../fixtures/sdk-calls-handler.ts', import.meta.url));
  const functions: LocalFunction[] = [];
  afterAll(async () => {
    await Promise.all(functions.map((fn) => fn.stop()));
  });

  it('fails an invocation whose runtime exits with Runtime.ExitError and replaces the environment', async () => {
    const fn = new LocalFunction({ functionName: 'exits', entry: crashEntry, environment: { LEDGER_TABLE_NAME: 'Ledger' } });
    functions.push(fn);
    expect(await invoke(fn, {})).toMatchObject({ invocations: 1 });
    const error = await invoke(fn, { action: 'exit' }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(FunctionError);
    expect(error).toMatchObject({ errorType: 'Runtime.ExitError', functionName: 'exits' });
    // A fresh environment: the module state started over (a cold start).
    expect(await invoke(fn, {})).toMatchObject({ invocations: 1 });
  });

  it('injects seeded crashes right before the chosen call, and reports where each hit', async () => {
    const crashes: string[] = [];
    const fn = new LocalFunction({
      functionName: 'crashes',
      entry: crashEntry,
      environment: { LEDGER_TABLE_NAME: 'Ledger' },
      crashes: { rate: 1, seed: 7, onCrash: ({ point }) => crashes.push(point) },
    });
    functions.push(fn);
    for (let i = 0; i < 6; i += 1) {
      const error = await invoke(fn, {}).catch((caught: unknown) => caught);
      expect(error).toMatchObject({ errorType: 'Runtime.ExitError' });
    }
    expect(crashes).toHaveLength(6);
    expect(crashes.every((point) => ['before-ledger-write', 'before-destination-call', 'mid-batch'].includes(point))).toBe(true);

    const calm = new LocalFunction({ functionName: 'calm', entry: crashEntry, environment: { LEDGER_TABLE_NAME: 'Ledger' }, crashes: { rate: 0, seed: 7 } });
    functions.push(calm);
    // Without a crash both calls are made (and fail: nothing listens there).
    expect(await invoke(calm, {})).toMatchObject({ calls: [expect.any(String), expect.any(String)] });
  });
});

describe('LocalFunction: invocations that run past the function timeout', () => {
  const hangEntry = fileURLToPath(new URL('./lambda-hang-handler.ts', import.meta.url));
  const logs: string[] = [];
  const fn = new LocalFunction({ functionName: 'hangs', entry: hangEntry, environment: {}, timeoutMs: 1_000, onLogLine: (line) => logs.push(line) });
  afterAll(() => fn.stop());

  it.each(['hang', 'spin'] as const)('ends one that does not finish (%s) with Sandbox.Timedout and starts a fresh environment', async (action) => {
    await invoke(fn, { action: 'answer' });
    expect((await invoke(fn, { action: 'answer' })).invocations).toBeGreaterThanOrEqual(2);
    const started = Date.now();
    const error = await invoke(fn, { action }).catch((caught: unknown) => caught);
    const took = Date.now() - started;
    expect(error).toBeInstanceOf(FunctionError);
    expect(error).toMatchObject({ errorType: 'Sandbox.Timedout', functionName: 'hangs' });
    expect((error as Error).message).toContain('Task timed out after 1.00 seconds');
    expect(took).toBeGreaterThanOrEqual(990);
    expect(took).toBeLessThan(5_000);
    // The timed-out environment is gone: the next invocation is a cold start (module state begins again).
    expect(await invoke(fn, { action: 'answer' })).toMatchObject({ invocations: 1 });
    expect(logs.some((line) => line.includes('Task timed out after 1.00 seconds'))).toBe(true);
  });

  it('by default takes the timeout from the context handed to invoke', async () => {
    const short = new LocalFunction({ functionName: 'short', entry: hangEntry, environment: {} });
    try {
      const error = await short.invoke({ action: 'hang' } as never, { getRemainingTimeInMillis: () => 500 }).catch((caught: unknown) => caught);
      expect(error).toMatchObject({ errorType: 'Sandbox.Timedout' });
      expect((error as Error).message).toContain('after 0.50 seconds');
    } finally {
      await short.stop();
    }
  });
});
