/**
 * The execution environment of one local "Lambda function": a worker thread with its own `process.env`, which imports
 * the very handler module Lambda runs and invokes its `handler` export, one event at a time.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { pathToFileURL } from 'node:url';
import { localLambdaContext } from '../lambda-event';
import type { InvokeRequest, InvokeResponse } from './protocol';

const { entry, functionName } = workerData as { entry: string; functionName: string };
const loaded = import(pathToFileURL(entry).href) as Promise<{ handler: (event: unknown, context: unknown) => Promise<unknown> }>;

parentPort?.on('message', (request: InvokeRequest) => {
  void (async (): Promise<InvokeResponse> => {
    try {
      const { handler } = await loaded;
      const result = await handler(request.event, localLambdaContext(functionName, request.timeoutMs));
      return { id: request.id, ok: true, result };
    } catch (error) {
      const { name, message, stack } = error instanceof Error ? error : new Error(String(error));
      return { id: request.id, ok: false, error: { name, message, stack } };
    }
  })().then((response) => parentPort?.postMessage(response));
});
