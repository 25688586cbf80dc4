import { createInterface } from 'node:readline';
import { Worker } from 'node:worker_threads';
import type { Context, KinesisStreamBatchResponse, KinesisStreamEvent } from 'aws-lambda';
import { prng } from '../prng';
import { crashPointOfExitCode, type CrashPlan, type CrashPoint, type InitDone, type InvokeRequest, type InvokeResponse, type LedgerRead } from './protocol';
import { LAMBDA_PAYLOAD_LIMIT_BYTES } from '../lambda-event';

/** Lambda's limit on an execution environment's init phase (loading the handler module), apart from the timeout. */
const INIT_LIMIT_MS = 10_000;

export type { CrashPoint } from './protocol';

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
  /** Fault injection: invocations whose execution environment dies (`--crash-rate`). @default none */
  readonly crashes?: CrashInjection;
  /**
   * The function's timeout (Lambda's `Timeout`), counted from when an environment starts the invocation: one still
   * running then is ended like on Lambda (see `LocalFunction`). @default the context's remaining time when `invoke`
   * is called
   */
  readonly timeoutMs?: number;
  /**
   * The function's memory (Lambda's `MemorySize`, MB): the environment's JavaScript heap is capped at it, and an
   * invocation that needs more dies as on Lambda (`Runtime.ExitError`, "signal: killed"), its environment replaced.
   * The handler's context reports it as `memoryLimitInMB`. @default no cap (a context reporting 1024)
   */
  readonly memoryMb?: number;
  /**
   * The local stage clock: called, with the invocation's event, when its handler had its batch's watermarks from
   * the ledger (the first `DynamoDBLedger.load` of the invocation answered; see `ledger-read-marks.ts`). Given, each
   * environment times the ledger's loads; never called for a handler that reads no ledger. @default not timed
   */
  readonly onLedgerRead?: (event: unknown, atMs: number) => void;
}

/**
 * Seeded crashes of execution environments. An invocation is armed with chance `rate`; an armed one dies at a point
 * drawn for it (see `CrashPoint`): right before its n-th ledger write, destination call or any call, n drawn from the
 * batch's size; if it never gets there, after its work and before its answer. Like Lambda, the invocation then fails
 * with `Runtime.ExitError` and the environment is replaced by a fresh one (a cold start) for the next invocation.
 */
export interface CrashInjection {
  readonly rate: number;
  readonly seed: number;
  /** Called for each injected crash, with where it hit and how many records the invocation carried. */
  readonly onCrash?: (crash: { readonly point: CrashPoint; readonly records: number }) => void;
}

/**
 * A function error, as Lambda reports it: the handler threw, its runtime exited (`Runtime.ExitError`), or it ran past
 * its timeout (`Sandbox.Timedout`).
 */
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
 * time; with `concurrency` environments, that many invocations (e.g. one per shard) run at once. An environment whose
 * runtime exits (an injected crash, or `process.exit` in the handler) fails its invocation with `Runtime.ExitError`
 * and is replaced by a fresh one. An invocation still running at its timeout is ended as Lambda ends it: the worker is
 * terminated (whatever the handler was doing, a pending promise or a busy loop, stops there), the invocation fails
 * with `Sandbox.Timedout` ("Task timed out after N seconds"), and the next one gets a fresh environment.
 */
export class LocalFunction {
  readonly functionName: string;
  readonly #options: LocalFunctionOptions;
  readonly #environments: Environment[];
  readonly #waiting: ((environment: Environment) => void)[] = [];
  readonly #random: (() => number) | undefined;
  #stopped = false;

  constructor(options: LocalFunctionOptions) {
    const rate = options.crashes?.rate ?? 0;
    if (!(rate >= 0 && rate <= 1)) throw new RangeError(`crash rate must be within 0..1, got ${rate}`);
    const timeoutMs = options.timeoutMs;
    if (timeoutMs !== undefined && !(Number.isFinite(timeoutMs) && timeoutMs > 0)) {
      throw new RangeError(`timeoutMs must be a positive number of ms, got ${timeoutMs}`);
    }
    const memoryMb = options.memoryMb;
    if (memoryMb !== undefined && !(Number.isInteger(memoryMb) && memoryMb >= 128 && memoryMb <= 10_240)) {
      throw new RangeError(`memoryMb must be an integer from 128 to 10240 (Lambda's MemorySize), got ${memoryMb}`);
    }
    this.functionName = options.functionName;
    this.#options = options;
    this.#random = options.crashes && rate > 0 ? prng(options.crashes.seed) : undefined;
    this.#environments = Array.from({ length: options.concurrency ?? 1 }, () => new Environment(options));
  }

  /**
   * Invokes the handler with `event` (a Kinesis event for a consumer, anything for a scheduled sweeper); rejects with
   * a `FunctionError` when the handler throws or its environment dies.
   */
  async invoke(
    event: KinesisStreamEvent | object,
    context: Pick<Context, 'getRemainingTimeInMillis'> & Partial<Pick<Context, 'awsRequestId'>>,
  ): Promise<KinesisStreamBatchResponse | void> {
    // Lambda refuses a payload over 6 MB before any environment sees it (an event source mapping never builds one).
    const bytes = Buffer.byteLength(JSON.stringify(event), 'utf8');
    if (bytes > LAMBDA_PAYLOAD_LIMIT_BYTES) {
      throw Object.assign(new Error(`${bytes} byte payload is too large for the RequestResponse invocation type (${LAMBDA_PAYLOAD_LIMIT_BYTES} byte limit)`), {
        name: 'RequestEntityTooLargeException',
      });
    }
    const crash = this.#drawCrash(event);
    // Read before waiting for an environment: the clock starts when one takes the invocation, as on Lambda.
    const timeoutMs = this.#options.timeoutMs ?? context.getRemainingTimeInMillis();
    let environment = await this.#acquire();
    try {
      const answer = (await environment.invoke(event, timeoutMs, crash, context.awsRequestId)) as KinesisStreamBatchResponse | void;
      // Lambda's response has the same 6 MB limit; a larger one is an error the caller gets after the work was done.
      const answerBytes = answer === undefined ? 0 : Buffer.byteLength(JSON.stringify(answer), 'utf8');
      if (answerBytes > LAMBDA_PAYLOAD_LIMIT_BYTES) {
        throw new FunctionError(this.functionName, 'Function.ResponseSizeTooLarge', `Response payload size (${answerBytes} bytes) exceeded maximum allowed payload size (${LAMBDA_PAYLOAD_LIMIT_BYTES} bytes).`);
      }
      return answer;
    } catch (error) {
      if (error instanceof RuntimeExit && error.point) {
        const records = Array.isArray((event as { Records?: unknown }).Records) ? (event as { Records: unknown[] }).Records.length : 0;
        this.#options.crashes?.onCrash?.({ point: error.point, records });
      }
      if (error instanceof TimedOut) {
        // What Lambda writes to the function's log when it ends an invocation at its timeout.
        this.#options.onLogLine?.(`${new Date().toISOString()} ${context.awsRequestId ?? '-'} ${error.message}`);
        throw new FunctionError(this.functionName, 'Sandbox.Timedout', error.message);
      }
      throw error instanceof RuntimeExit ? new FunctionError(this.functionName, 'Runtime.ExitError', error.message) : error;
    } finally {
      if (environment.dead && !this.#stopped) {
        const index = this.#environments.indexOf(environment);
        environment = new Environment(this.#options);
        if (index >= 0) this.#environments[index] = environment;
        environment.busy = true;
      }
      this.#release(environment);
    }
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    await Promise.all(this.#environments.map((environment) => environment.stop()));
  }

  /** The crash this invocation is armed with, if any (drawn in the caller, so it replays from the seed). */
  #drawCrash(event: object): CrashPlan | undefined {
    const random = this.#random;
    if (!random || !(random() < (this.#options.crashes?.rate ?? 0))) return undefined;
    const records = Array.isArray((event as { Records?: unknown }).Records) ? (event as { Records: unknown[] }).Records.length : 1;
    const roll = random();
    const point = roll < 0.4 ? 'before-ledger-write' : roll < 0.7 ? 'before-destination-call' : 'mid-batch';
    // A point somewhere in the batch: a batch makes about one ledger write per version (in-order), fewer elsewhere.
    const spread = point === 'before-destination-call' ? Math.ceil(records / 10) : Math.ceil(records / 3);
    return { point, nth: 1 + Math.floor(random() * Math.max(1, spread)) };
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

/** The runtime of an environment exited during an invocation; `point` when it was an injected crash. */
class RuntimeExit extends Error {
  constructor(
    readonly code: number | 'signal: killed',
    readonly point: CrashPoint | undefined,
  ) {
    super(`Runtime exited with error: ${typeof code === 'number' ? `exit status ${code}` : code}${point ? ` (injected crash ${point})` : ''}`);
    this.name = 'RuntimeExit';
  }
}

/** The invocation ran past its timeout; its environment was terminated. */
class TimedOut extends Error {
  constructor(readonly timeoutMs: number) {
    super(`Task timed out after ${(timeoutMs / 1000).toFixed(2)} seconds`);
    this.name = 'TimedOut';
  }
}

/** One worker thread running the handler module. */
class Environment {
  busy = false;
  /** The runtime exited: the environment takes no more invocations. */
  dead = false;
  readonly #worker: Worker;
  readonly #functionName: string;
  readonly #pending = new Map<number, { event: unknown; resolve: (value: unknown) => void; reject: (error: unknown) => void }>();
  #nextId = 1;
  /** Settles when the handler module has loaded: an invocation's timeout starts after init, as on Lambda. */
  readonly #initDone: Promise<void>;
  #endInit: (() => void) | undefined;
  #initialized = false;

  constructor(options: LocalFunctionOptions) {
    this.#functionName = options.functionName;
    this.#worker = new Worker(new URL('./worker-bootstrap.mjs', import.meta.url), {
      workerData: {
        entry: options.entry,
        functionName: options.functionName,
        crashes: (options.crashes?.rate ?? 0) > 0,
        ...(options.memoryMb !== undefined ? { memoryMb: options.memoryMb } : {}),
        ...(options.onLedgerRead ? { ledgerReads: true } : {}),
      },
      env: { ...process.env, ...options.environment },
      stdout: true,
      stderr: true,
      ...(options.memoryMb !== undefined ? { resourceLimits: { maxOldGenerationSizeMb: options.memoryMb } } : {}),
    });
    for (const stream of [this.#worker.stdout, this.#worker.stderr]) {
      createInterface({ input: stream }).on('line', (line) => options.onLogLine?.(line));
    }
    this.#initDone = new Promise((resolve) => (this.#endInit = resolve));
    this.#worker.on('message', (response: InvokeResponse | InitDone | LedgerRead) => {
      if ('initDone' in response) return this.#endInit?.();
      if ('ledgerRead' in response) {
        const reading = this.#pending.get(response.ledgerRead.id);
        return reading && options.onLedgerRead?.(reading.event, response.ledgerRead.atMs);
      }
      const waiting = this.#pending.get(response.id);
      if (!waiting) return;
      this.#pending.delete(response.id);
      if (response.ok) waiting.resolve(response.result);
      else waiting.reject(new FunctionError(this.#functionName, response.error.name, response.error.message));
    });
    this.#worker.on('error', (error) => {
      this.dead = true;
      // Out of memory: on Lambda the runtime is killed (`Runtime exited with error: signal: killed`).
      this.#failAll((error as { code?: unknown }).code === 'ERR_WORKER_OUT_OF_MEMORY' ? new RuntimeExit('signal: killed', undefined) : error);
    });
    this.#worker.on('exit', (code) => {
      this.dead = true;
      this.#failAll(new RuntimeExit(code, crashPointOfExitCode(code)));
    });
  }

  /** Waits for init to end, at most `INIT_LIMIT_MS`; false when it did not. */
  async #init(): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const limit = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), INIT_LIMIT_MS)));
    const ended = await Promise.race([this.#initDone.then(() => true), limit]);
    clearTimeout(timer);
    this.#initialized = ended;
    return ended;
  }

  #failAll(error: unknown): void {
    // A worker that died during init ends init: the invocations waiting for it fail below (it is dead).
    this.#endInit?.();
    for (const waiting of this.#pending.values()) waiting.reject(error);
    this.#pending.clear();
  }

  /** Runs one invocation; rejects with `TimedOut` (the environment then dead) if it is still running after `timeoutMs`. */
  async invoke(event: unknown, timeoutMs: number, crash?: CrashPlan, awsRequestId?: string): Promise<unknown> {
    // Lambda gives init its own limit (10 s), apart from the function timeout.
    if (!this.#initialized && !(await this.#init())) {
      this.dead = true;
      void this.#worker.terminate();
      throw new TimedOut(INIT_LIMIT_MS);
    }
    if (this.dead) throw new RuntimeExit(-1, undefined);
    const id = this.#nextId++;
    const request: InvokeRequest = { id, event, timeoutMs, ...(awsRequestId ? { awsRequestId } : {}), ...(crash ? { crash } : {}) };
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        if (!this.#pending.delete(id)) return;
        // Taken out of `#pending` first, so the worker's exit is not reported as a runtime exit of this invocation.
        this.dead = true;
        void this.#worker.terminate();
        reject(new TimedOut(timeoutMs));
      }, Math.max(0, timeoutMs));
      this.#pending.set(id, {
        event,
        resolve: (value) => {
          clearTimeout(timer);
          resolve(value);
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      });
      this.#worker.postMessage(request);
    });
  }

  async stop(): Promise<void> {
    this.dead = true;
    await this.#worker.terminate();
  }
}
