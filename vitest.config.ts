import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Emulators start once per run and are stopped afterwards, also when tests fail.
    globalSetup: ['test/support/global-setup.ts'],
    env: {
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      // Every client in the tests talks to a local emulator or stand-in; these keep the SDK from looking further.
      AWS_ACCESS_KEY_ID: 'local',
      AWS_SECRET_ACCESS_KEY: 'local',
      AWS_REGION: 'us-east-1',
    },
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Two cores: more workers only queue behind the JVM.
    maxWorkers: 2,
  },
});
