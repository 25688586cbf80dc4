import type { KinesisClient } from '@aws-sdk/client-kinesis';
import { afterAll, beforeAll } from 'vitest';
import { startKinesisLocal, type RunningKinesisLocal } from '../../local/emulators/kinesis-local';

/** kinesis-local (kinesis-mock) for one test file: started before its tests with a client, both stopped after. */
export function useKinesisLocal(): { client: () => KinesisClient; emulator: () => RunningKinesisLocal } {
  let emulator: RunningKinesisLocal;
  let client: KinesisClient;
  beforeAll(async () => {
    emulator = await startKinesisLocal();
    client = emulator.client();
  });
  afterAll(async () => {
    client?.destroy();
    await emulator?.stop();
  });
  return { client: () => client, emulator: () => emulator };
}
