/**
 * A handler module for the time-out tests of `LocalFunction` and the local event source mapping: it hangs (a promise
 * that never settles), spins (a busy loop), or answers, as the event asks. A Kinesis event hangs when one of its
 * records' data is `hang`. Module state counts invocations, so a fresh environment shows as a count starting over.
 */
let invocations = 0;

interface Event {
  readonly action?: 'hang' | 'spin' | 'answer';
  readonly Records?: readonly { readonly kinesis: { readonly data: string } }[];
}

export async function handler(event: Event): Promise<unknown> {
  invocations += 1;
  const hangs = event.action === 'hang' || (event.Records ?? []).some((record) => Buffer.from(record.kinesis.data, 'base64').toString() === 'hang');
  if (hangs) await new Promise(() => undefined);
  if (event.action === 'spin') for (;;);
  return { invocations };
}
