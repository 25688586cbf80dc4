import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';
import { isShipped, loadRuntime, SHIPPED_DESTINATIONS, UnknownRuntimeError } from '../../destinations/runtime-registry';
import { runtimeOf } from '../../ops/plugin-runtimes';
import { DESTINATION_MODES } from '../../shared/config/consumer-config';
import type { RuntimePlugin } from '../../shared/destination-plugin/runtime-plugin';

const ROOT = new URL('../../', import.meta.url).pathname;

describe('the runtime registry: every destination that ships, built-in or plug-in', () => {
  it('lists the built-ins and the shipped plug-ins, each loading the runtime half of that name', async () => {
    expect(SHIPPED_DESTINATIONS).toEqual(['audit', 'search', 'fraud', 'ledger-queue']);
    for (const name of SHIPPED_DESTINATIONS) expect((await loadRuntime(name)).name).toBe(name);
  });

  it('agrees with the built-ins\' modes that are kept for what predates recorded modes', async () => {
    for (const [name, mode] of Object.entries(DESTINATION_MODES)) expect((await loadRuntime(name)).mode, name).toBe(mode);
    expect((await loadRuntime('ledger-queue')).mode).toBe('in-order');
  });

  it('refuses a name it does not have, listing those it has', async () => {
    expect(isShipped('webhook')).toBe(false);
    expect(isShipped('toString')).toBe(false);
    await expect(loadRuntime('webhook')).rejects.toThrow(UnknownRuntimeError);
    await expect(loadRuntime('webhook')).rejects.toThrow('no destination "webhook" ships with fanout: it knows audit, search, fraud, ledger-queue');
  });

  it('is what fanout runs, after the overrides it is given', async () => {
    const own = { name: 'audit', mode: 'every-version' } as RuntimePlugin;
    expect(await runtimeOf('audit', { audit: own })).toBe(own);
    expect(await runtimeOf('ledger-queue')).toBe(await loadRuntime('ledger-queue'));
    expect(await runtimeOf('webhook')).toBeUndefined();
  });

  it('pulls in no aws-cdk-lib: the runtime halves are what the Lambda bundles are made of', async () => {
    const result = await build({
      entryPoints: [`${ROOT}destinations/runtime-registry.ts`],
      bundle: true,
      platform: 'node',
      format: 'esm',
      write: false,
      metafile: true,
      logLevel: 'silent',
    });
    const inputs = Object.keys(result.metafile.inputs);
    expect(inputs.some((input) => input.includes('consumers/search/runtime.ts'))).toBe(true);
    expect(inputs.some((input) => input.includes('destinations/ledger-queue/runtime.ts'))).toBe(true);
    expect(inputs.filter((input) => /node_modules\/(aws-cdk-lib|constructs)\//.test(input))).toEqual([]);
  }, 60_000);
});
