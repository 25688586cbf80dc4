import { createInterface } from 'node:readline';
import { Worker } from 'node:worker_threads';
import type { Context, KinesisStreamBatchResponse, KinesisStreamEvent } from 'aws-lambda';
import type { InvokeRequest, InvokeResponse } from './protocol';

export interface LocalFunctionOptions {
  readonly functionName: string;
  /** The handler module, e.g. `consumers/audit/handler.ts`; its `handler` export is invoked. */
  readonly entry: string;
  /** The function's environment variables, as the stack would set them (plus local endpoints). */
  readonly environment: Readonly<Record<string, string>>;
  /** Every line the function writes to stdout or stderr (Powertools' JSON logs and EMF metrics). */
  readonly onLogLine?: (line: string) => void;
  /** Execution environments (worker threads); an invocation goes to an idle one, or waits. @default 1 */
  readonly concurrency?: number;
}

/** A function error, as Lambda reports it: the handler threw. */
export class FunctionError extends Error {
  constructor(
    readonly functionName: string,
    readonly errorType: string,
    message: string,
  ) {
    super(`${functionName}: ${errorType}: ${message}`);
    this.name = 'FunctionError';
  }
}

/**
 * A local stand-in for one Lambda function: execution environments as worker threads, each with its own
 * `process.env` and module state, running the handler module. Like Lambda, an environment handles one event at a
 * time; with `concurrency` environments, that many invocations (e.g. one per shard) run at once.
 */
export class LocalFunction {
  readonly functionName: string;
  readonly #environments: Environment[];
  readonly #waiting: ((environment: Environment) => void)[] = [];

  constructor(options: LocalFunctionOptions) {
    this.functionName = options.functionName;
    this.#environments = Array.from({ length: options.concurrency ?? 1 }, () => new Environment(options));
  }

  /**
   * Invokes the handler with `event` (a Kinesis event for a consumer, anything for a scheduled sweeper); rejects with
   * a `FunctionError` when the handler throws.
   */
  async invoke(event: KinesisStreamEvent | object, context: Pick<Context, 'getRemainingTimeInMillis'>): Promise<KinesisStreamBatchResponse | void> {
    const environment = await this.#acquire();
    try {
      return (await environment.invoke(event, context.getRemainingTimeInMillis())) as KinesisStreamBatchResponse | void;
    } finally {
      this.#release(environment);
    }
  }

  async stop(): Promise<void> {
    await Promise.all(this.#environments.map((environment) => environment.stop()));
  }

  #acquire(): Promise<Environment> {
    const idle = this.#environments.find((environment) => !environment.busy);
    if (idle) {
      idle.busy = true;
      return Promise.resolve(idle);
    }
    return new Promise((resolve) => this.#waiting.push(resolve));
  }

  #release(environment: Environment): void {
    const next = this.#waiting.shift();
    if (next) next(environment);
    else environment.busy = false;
  }
}

/** One worker thread running the handler module. */
class Environment {
  busy = false;
  readonly #worker: Worker;
  readonly #functionName: string;
  readonly #pending = new Map<number, { resolve: (value: unknown) => void; reject: (error: unknown) => void }>();
  #nextId = 1;

  constructor(options: LocalFunctionOptions) {
    this.#functionName = options.functionName;
    this.#worker = new Worker(new URL('./worker-bootstrap.mjs', import.meta.url), {
      workerData: { entry: options.entry, functionName: options.functionName },
      env: { ...process.env, ...options.environment },
      stdout: true,
      stderr: true,
    });
    for (const stream of [this.#worker.stdout, this.#worker.stderr]) {
      createInterface({ input: stream }).on('line', (line) => options.onLogLine?.(line));
    }
    this.#worker.on('message', (response: InvokeResponse) => {
      const waiting = this.#pending.get(response.id);
      if (!waiting) return;
      this.#pending.delete(response.id);
      if (response.ok) waiting.resolve(response.result);
      else waiting.reject(new FunctionError(this.#functionName, response.error.name, response.error.message));
    });
    this.#worker.on('error', (error) => this.#failAll(error));
    this.#worker.on('exit', (code) => this.#failAll(new Error(`${this.#functionName}: execution environment exited (${code})`)));
  }

  #failAll(error: unknown): void {
    for (const waiting of this.#pending.values()) waiting.reject(error);
    this.#pending.clear();
  }

  invoke(event: unknown, timeoutMs: number): Promise<unknown> {
    const id = this.#nextId++;
    const request: InvokeRequest = { id, event, timeoutMs };
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      this.#worker.postMessage(request);
    });
  }

  async stop(): Promise<void> {
    await this.#worker.terminate();
  }
}
