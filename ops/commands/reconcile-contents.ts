import type { AccountImage } from '../../shared/accounts/account';
import { readConsumerConfig } from '../../shared/config/consumer-config';
import { buildPluginRuntime } from '../../shared/destination-plugin/plugin-runtime';
import type { Delivery } from '../../shared/ordering/ports';
import { adapterContext, runtimeOf, type AnyRuntimePlugin } from '../plugin-runtimes';
import { destinationOf, type PipelineTarget } from '../target';

/** What `reconcile --contents` reads in a destination, and what `--repair` writes to it. */

const REPAIR_CHUNK = 500;

/** Reads what a destination holds of an account's current version. */
export type ContentReader = { read(account: { readonly accountId: string; readonly version: number }): Promise<number | null>; close(): void };

export interface Repair {
  accounts: number;
  delivered: number;
  alreadyCurrent: number;
  stale: number;
  failed: number;
  failures: { accountId: string; detail: string }[];
}

/**
 * How the destination's contents can be read, built-in or plug-in alike: by its runtime half's `reconcileReader` (audit
 * by HeadObject, search by GET of the document); or why they cannot (`note`), which `reconcile` prints.
 */
export async function contentReader(
  target: PipelineTarget,
  name: string,
  runtimes: Readonly<Record<string, AnyRuntimePlugin>> = {},
): Promise<{ reader: ContentReader } | { note: string }> {
  const plugin = await runtimeOf(name, runtimes);
  if (!plugin) {
    return { note: `plug-in ${name} is not one fanout ships (destinations/runtime-registry.ts lists them), so it has no reconcile reader here: only the ledger was compared` };
  }
  if (!plugin.reconcileReader) return { note: `${name} has no reconcile reader (its runtime half defines no reconcileReader): only the ledger was compared` };
  // The reader gets what the function has: its settings from the function environment, and the same client options.
  const env = { AWS_REGION: await target.dynamodb.config.region(), ...(await target.environment(name)) };
  return { reader: plugin.reconcileReader(plugin.readSettings(env), await adapterContext(target, env)) };
}

/**
 * Re-delivers each item as a synthetic change of its current version through the destination's own adapter (its
 * runtime half, built from the function environment): for `latest-state` destinations, which keep only the newest
 * version and refuse an older one, so a repeat is harmless.
 */
export async function repairLatestState(target: PipelineTarget, name: string, plugin: AnyRuntimePlugin, items: readonly AccountImage[]): Promise<Repair> {
  const region = await target.dynamodb.config.region();
  const env = { AWS_REGION: region, ...(await target.environment(name)) };
  const config = readConsumerConfig(name, env);
  const noTelemetry = { invocation: () => undefined, batch: () => undefined, batchError: () => undefined };
  const runtime = buildPluginRuntime(plugin, env, { telemetry: noTelemetry });
  const repair: Repair = { accounts: items.length, delivered: 0, alreadyCurrent: 0, stale: 0, failed: 0, failures: [] };
  try {
    for (let start = 0; start < items.length; start += REPAIR_CHUNK) {
      const chunk = items.slice(start, start + REPAIR_CHUNK);
      const deliveries: Delivery[] = chunk.map((item) => ({
        record: {
          accountId: item.account_id,
          version: item.version,
          previousVersion: item.version - 1,
          kind: item.version === 1 ? 'INSERT' : 'MODIFY',
          newImage: item,
          createdAtMicros: Date.now() * 1000,
          eventId: `reconcile-${item.account_id}-${item.version}`,
          sequenceNumber: 'reconcile',
          shardId: 'reconcile',
        },
        healed: false,
        replay: config.epoch.replay,
        epoch: destinationOf(target, name).epoch,
      }));
      const results = await runtime.destination.deliver(deliveries);
      results.forEach((result, i) => {
        if (result.status === 'delivered') repair.delivered += 1;
        else if (result.status === 'duplicate') repair.alreadyCurrent += 1;
        else if (result.status === 'stale') repair.stale += 1;
        else {
          repair.failed += 1;
          repair.failures.push({ accountId: chunk[i]?.account_id ?? '?', detail: `${result.reason}: ${result.detail}` });
        }
      });
    }
  } finally {
    runtime.close();
  }
  return repair;
}
