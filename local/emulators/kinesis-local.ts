import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { KinesisClient, ListStreamsCommand } from '@aws-sdk/client-kinesis';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { EmulatorStartError, LOCAL_CREDENTIALS, LOCAL_REGION } from './dynamodb-local';
import { freeLoopbackPort } from './free-port';

export interface RunningKinesisLocal {
  /** Plain HTTP endpoint. */
  readonly endpoint: string;
  readonly port: number;
  /** A client for it: HTTP/1.1 (kinesis-local's SubscribeToShard fails over HTTP/2), local credentials. */
  client(options?: { maxAttempts?: number }): KinesisClient;
  stop(): Promise<void>;
}

/**
 * Starts `kinesis-local` (kinesis-mock, built for Node: EFO `SubscribeToShard`, 365-day retention, `AT_TIMESTAMP`) on
 * a free loopback port and waits until it answers. It ignores SIGTERM, so `stop()` sends SIGKILL and waits for exit.
 */
export async function startKinesisLocal(options: { readyTimeoutMs?: number; logLevel?: string } = {}): Promise<RunningKinesisLocal> {
  const require = createRequire(import.meta.url);
  const main = require.resolve('kinesis-local/main.js');
  const [port, tlsPort] = [await freeLoopbackPort(), await freeLoopbackPort()];
  const child = spawn(process.execPath, [main], {
    env: {
      ...process.env,
      KINESIS_MOCK_PLAIN_PORT: String(port),
      KINESIS_MOCK_TLS_PORT: String(tlsPort),
      KINESIS_MOCK_CERT_PATH: join(dirname(main), 'server.json'),
      AWS_REGION: LOCAL_REGION,
      LOG_LEVEL: options.logLevel ?? 'ERROR',
      ROOT_LOG_LEVEL: 'ERROR',
      // Streams become ACTIVE (and consumers registered) quickly, as the pipeline waits for both.
      CREATE_STREAM_DURATION: '0ms',
      REGISTER_STREAM_CONSUMER_DURATION: '0ms',
      DELETE_STREAM_DURATION: '0ms',
      SHARD_LIMIT: '200',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const collect = (chunk: Buffer): void => {
    output = (output + chunk.toString()).slice(-4000);
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const killOnExit = (): void => void child.kill('SIGKILL');
  process.once('exit', killOnExit);
  const endpoint = `http://127.0.0.1:${port}`;
  const client = (clientOptions: { maxAttempts?: number } = {}): KinesisClient =>
    new KinesisClient({
      endpoint,
      region: LOCAL_REGION,
      credentials: LOCAL_CREDENTIALS,
      requestHandler: new NodeHttpHandler(),
      ...(clientOptions.maxAttempts ? { maxAttempts: clientOptions.maxAttempts } : {}),
    });
  const stop = async (): Promise<void> => {
    process.removeListener('exit', killOnExit);
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGKILL');
    await exited;
  };

  const probe = client({ maxAttempts: 1 });
  const deadline = Date.now() + (options.readyTimeoutMs ?? 60_000);
  try {
    for (;;) {
      if (child.exitCode !== null) throw new Error(`it exited with code ${child.exitCode}`);
      try {
        await probe.send(new ListStreamsCommand({}));
        break;
      } catch {
        if (Date.now() > deadline) throw new Error(`no answer on ${endpoint}`);
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    }
  } catch (error) {
    await stop();
    throw new EmulatorStartError('kinesis-local', (error as Error).message, output);
  } finally {
    probe.destroy();
  }
  return { endpoint, port, client, stop };
}
