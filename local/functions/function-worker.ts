/**
 * The execution environment of one local "Lambda function": a worker thread with its own `process.env`, which imports
 * the very handler module Lambda runs and invokes its `handler` export, one event at a time.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { pathToFileURL } from 'node:url';
import { localLambdaContext } from '../lambda-event';
import type { InvokeRequest, InvokeResponse, LedgerRead } from './protocol';

const { entry, functionName, crashes, memoryMb, ledgerReads } = workerData as {
  entry: string;
  functionName: string;
  crashes?: boolean;
  memoryMb?: number;
  ledgerReads?: boolean;
};
// Fault injection (`--crash-rate`) wraps the clients' call paths before the handler module, and its clients, load.
const hooks = crashes ? await import('./crash-hooks') : undefined;
hooks?.installCrashHooks();
// The stage clock's ledger-read mark, likewise wrapped before the handler module builds its ledger.
const reads = ledgerReads ? await import('./ledger-read-marks') : undefined;
reads?.installLedgerReadMarks((id, atMs) => parentPort?.postMessage({ ledgerRead: { id, atMs } } satisfies LedgerRead));
const loaded = import(pathToFileURL(entry).href) as Promise<{ handler: (event: unknown, context: unknown) => Promise<unknown> }>;
// Lambda's init phase (the module's load) is not part of an invocation's timeout: tell the environment when it is over.
// A module that fails to load still ends init; each invocation then answers with its error.
void loaded.then(
  () => parentPort?.postMessage({ initDone: true }),
  () => parentPort?.postMessage({ initDone: true }),
);

parentPort?.on('message', (request: InvokeRequest) => {
  void (async (): Promise<InvokeResponse> => {
    try {
      const { handler } = await loaded;
      hooks?.arm(request.crash);
      reads?.watchInvocation(request.id);
      const result = await handler(request.event, localLambdaContext(functionName, request.timeoutMs, memoryMb, request.awsRequestId));
      reads?.endInvocation();
      hooks?.dieIfStillArmed();
      return { id: request.id, ok: true, result };
    } catch (error) {
      reads?.endInvocation();
      hooks?.dieIfStillArmed();
      const { name, message, stack } = error instanceof Error ? error : new Error(String(error));
      return { id: request.id, ok: false, error: { name, message, stack } };
    }
  })().then((response) => parentPort?.postMessage(response));
});
