import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { DYNAMODB_LOCAL_JVM_FLAGS, startDynamoDBLocal } from '../../local/emulators/dynamodb-local';

// /proc shows a process's command line on Linux (CI and this machine); elsewhere there is nothing to read.
const onLinux = process.platform === 'linux';

describe('DynamoDB Local JVM', () => {
  it.runIf(onLinux)('starts with the warm-up flags in front of the jar, and answers', async () => {
    const dynamodb = await startDynamoDBLocal({ jvmFlags: DYNAMODB_LOCAL_JVM_FLAGS });
    try {
      const args = readFileSync(`/proc/${dynamodb.pid}/cmdline`, 'utf8').split('\0');
      const jar = args.indexOf('-jar');
      expect(jar).toBeGreaterThan(0);
      for (const flag of DYNAMODB_LOCAL_JVM_FLAGS) {
        expect(args.indexOf(flag)).toBeGreaterThan(0);
        expect(args.indexOf(flag)).toBeLessThan(jar);
      }
      expect(args).toContain(String(dynamodb.port));
    } finally {
      await dynamodb.stop();
    }
  }, 60_000);
});
