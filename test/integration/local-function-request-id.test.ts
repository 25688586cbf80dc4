import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { LocalFunction } from '../../local/functions/local-function';

/*
 * On Lambda an invocation has one request id: the handler's `context.awsRequestId`, the `RequestId` of its log lines
 * (and Powertools' `function_request_id`) and the `requestContext.requestId` of the invocation record an event source
 * mapping sends to its on-failure destination are the same. Locally the mapping made one id and the environment
 * another, so an on-failure record could never be matched with the function's logs.
 */
const entry = fileURLToPath(new URL('../fixtures/context-echo-handler.ts', import.meta.url));

describe('LocalFunction: one request id per invocation, as on Lambda', () => {
  const fn = new LocalFunction({ functionName: 'ctx', entry, environment: {} });
  afterAll(() => fn.stop());

  it("hands the caller's awsRequestId to the handler's context", async () => {
    const answer = (await fn.invoke({} as never, { getRemainingTimeInMillis: () => 5_000, awsRequestId: 'req-0001' })) as unknown as Record<string, unknown>;
    expect(answer).toMatchObject({ awsRequestId: 'req-0001', functionName: 'ctx' });
    expect(answer.remainingMs).toBeLessThanOrEqual(5_000);
  });

  it('still makes one up when the caller has none', async () => {
    const answer = (await fn.invoke({} as never, { getRemainingTimeInMillis: () => 5_000 })) as unknown as Record<string, unknown>;
    expect(answer.awsRequestId).toMatch(/^[0-9a-f-]{36}$/);
  });
});
