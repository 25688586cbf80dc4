import { mapLimited } from '../../shared/async/limited';
import type { AccountImage } from '../../shared/accounts/account';
import type { DeliveryMode } from '../../shared/ordering/delivery-mode';
import { formatVersions } from '../../shared/ordering/version-ranges';
import type { Watermark } from '../../shared/ordering/watermark';
import type { CommandIO } from '../io';
import { runtimeOf, type AnyRuntimePlugin } from '../plugin-runtimes';
import { destinationOf, modeOf, selectDestinations, type PipelineTarget } from '../target';
import { epochWindowOf, unchangedSinceWindow, type EpochWindow } from './epoch-window';
import { describeError, targetSummary } from './format';
import { ledgerOf, loadWatermarks, owedUnder, scanAccounts, versionsMissing } from './ledger-scan';
import { contentReader, repairLatestState, type ContentReader } from './reconcile-contents';
import { printReport, type DestinationReconcile, type Lagging } from './reconcile-print';
import { scanUndeliveredDeletions } from './undelivered-deletions';

export interface ReconcileOptions {
  /** Only this destination (a built-in or a plug-in of the target). @default all */
  readonly destination?: string;
  /**
   * Also read the destinations themselves: audit (the current version's object), search (the document's version), a
   * plug-in through its runtime half's `reconcileReader`. Destinations without a reader say so and are compared by
   * the ledger only.
   */
  readonly contents?: boolean;
  /** Re-deliver the current state of every account found out of sync to `latest-state` destinations (search). */
  readonly repair?: boolean;
  /** Parallel scan segments. @default 4 */
  readonly segments?: number;
  /** Runtime halves of plug-ins `fanout` does not ship (`destinations/runtime-registry.ts` has the others), by name. */
  readonly runtimes?: Readonly<Record<string, AnyRuntimePlugin>>;
}

/** Accounts named as samples of those unchanged since a replay's start (there may be most of the table). */
const UNCHANGED_SAMPLES = 5;

/**
 * `fanout reconcile`: every account of the table against each destination's watermark (lagging: below the table's
 * version; missing: none at all, unless a replay's window owes it nothing), the ledger's watermarks of accounts gone
 * from the table against their deletion (`deletionsNotDelivered`), with `contents` against the destination itself, and with `repair` the current
 * state re-delivered to the latest-state destinations (search: external versioning makes that safe). Exit code 0 when
 * everything matches or was repaired, 1 otherwise.
 */
export async function reconcile(target: PipelineTarget, options: ReconcileOptions, io: CommandIO): Promise<number> {
  const names = selectDestinations(target, options.destination);
  const modes = new Map(Object.keys(target.destinations).map((name) => [name, modeOf(target, name)]));
  const modeOfName = (name: string): DeliveryMode => modes.get(name) as DeliveryMode;
  const latest = [...modes].filter(([, mode]) => mode === 'latest-state').map(([name]) => name);
  if (options.repair && options.destination && modeOfName(options.destination) !== 'latest-state') {
    const mode = modeOfName(options.destination);
    io.err(
      `reconcile --repair: refused for ${options.destination} (${mode}): only latest-state destinations (${latest.join(', ')}) can be ` +
        `repaired by re-delivering an account's current state; ${options.destination} needs every version` +
        `${mode === 'in-order' ? ' in order' : ''}, so use a replay or a redrive instead`,
    );
    // A request refused, not a check that failed: the usage exit code.
    return 2;
  }
  const repairing = new Map<string, AnyRuntimePlugin | undefined>();
  if (options.repair) for (const name of names.filter((n) => modeOfName(n) === 'latest-state')) repairing.set(name, await runtimeOf(name, options.runtimes));
  if (options.repair && repairing.size < names.length) {
    io.err(`reconcile --repair: only ${[...repairing.keys()].join(', ')} (latest-state) is repaired; ${names.filter((n) => !repairing.has(n)).join(', ')} only checked`);
  }

  const report: Record<string, DestinationReconcile> = {};
  const readers = new Map<string, ContentReader>();
  const windows = new Map<string, EpochWindow>();
  for (const name of names) {
    const entry: DestinationReconcile = {
      mode: modeOfName(name),
      epoch: destinationOf(target, name).epoch,
      accounts: 0,
      lagging: [],
      missing: [],
      deletionsNotDelivered: [],
      deletionsUnverified: [],
      replayFrom: null,
      unchangedSinceReplayStart: { count: 0, sample: [] },
      contents: null,
      repair: null,
      error: null,
      inSync: false,
    };
    report[name] = entry;
    try {
      const window = await epochWindowOf(target, name);
      windows.set(name, window);
      entry.replayFrom = window.from ?? null;
    } catch (error) {
      entry.error = `replay's start (function environment): ${describeError(error)}`;
    }
    if (!options.contents || entry.error) continue;
    try {
      const found = await contentReader(target, name, options.runtimes);
      if ('note' in found) {
        entry.contents = { checked: false, note: found.note, mismatched: [] };
      } else {
        readers.set(name, found.reader);
        entry.contents = { checked: true, mismatched: [] };
      }
    } catch (error) {
      entry.error = `contents: ${describeError(error)}`;
    }
  }
  const toRepair = new Map<string, Map<string, AccountImage>>([...repairing.keys()].map((name) => [name, new Map()]));

  const deletions = scanUndeliveredDeletions(
    target,
    names.map((name) => ({ destination: name, epoch: destinationOf(target, name).epoch })),
    {
      segments: options.segments ?? 4,
      onProgress: (done, total) => io.progress('ledger', done, total),
      onFound: (found) => {
        for (const { destination, accountId, watermark, lastKind } of found) {
          // Nothing says whether the last change was the REMOVE: listed apart, not counted against being in sync.
          if (lastKind === null) report[destination]?.deletionsUnverified.push({ accountId, watermark });
          else report[destination]?.deletionsNotDelivered.push({ accountId, watermark, lastKind });
        }
      },
    },
  ).catch((error: unknown) => {
    for (const name of names) (report[name] as DestinationReconcile).error ??= `ledger ${target.ledgerTable} (deletions): ${describeError(error)}`;
  });
  let scanned = 0;
  try {
    scanned = await scanAccounts(target, {
      segments: options.segments ?? 4,
      items: repairing.size > 0,
      onProgress: (done, total) => io.progress('scan', done, total),
      onPage: async (page) => {
        const ids = page.map((account) => account.accountId);
        await Promise.all(
          names.map(async (name) => {
            const entry = report[name] as DestinationReconcile;
            if (entry.error) return;
            try {
              const watermarks = await loadWatermarks(ledgerOf(target, name), ids);
              const reader = readers.get(name);
              const found = reader ? await mapLimited(page, 16, (account) => reader.read(account)) : [];
              const window = windows.get(name) ?? {};
              page.forEach((account, i) => {
                const { accountId, version } = account;
                const watermark = watermarks.get(accountId);
                // Owed nothing by the replay, but the destination may still lack it (a wiped index): contents decide.
                const unchanged = unchangedSinceWindow(window, watermark, account.updatedAt);
                if (unchanged) {
                  entry.unchangedSinceReplayStart.count += 1;
                  if (entry.unchangedSinceReplayStart.sample.length < UNCHANGED_SAMPLES) entry.unchangedSinceReplayStart.sample.push(accountId);
                }
                const mismatched = reader !== undefined && found[i] !== version;
                const lacking = !unchanged && versionsMissing(watermark, version, entry.mode) > 0;
                if (!watermark && !unchanged) entry.missing.push({ accountId, version });
                else if (watermark && lacking) entry.lagging.push(laggingOf(accountId, version, watermark, entry.mode));
                if (mismatched) entry.contents?.mismatched.push({ accountId, version, found: found[i] ?? null });
                const bad = lacking || mismatched;
                if (bad && account.item) toRepair.get(name)?.set(accountId, account.item);
              });
              entry.accounts += page.length;
            } catch (error) {
              entry.error = describeError(error);
            }
          }),
        );
      },
    });
  } catch (error) {
    for (const name of names) (report[name] as DestinationReconcile).error ??= `table ${target.accountsTable}: ${describeError(error)}`;
  } finally {
    for (const reader of readers.values()) reader.close();
  }
  await deletions;

  for (const [name, plugin] of repairing) {
    const entry = report[name] as DestinationReconcile;
    const items = [...(toRepair.get(name)?.values() ?? [])];
    if (entry.error || items.length === 0) continue;
    try {
      if (!plugin) throw new Error(`no runtime half of ${name} is known to fanout (destinations/runtime-registry.ts), so it cannot deliver to it`);
      entry.repair = await repairLatestState(target, name, plugin, items);
    } catch (error) {
      entry.error = `repair: ${describeError(error)}`;
    }
  }
  for (const entry of Object.values(report)) {
    const problems = entry.lagging.length + entry.missing.length + (entry.contents?.mismatched.length ?? 0);
    // A repair re-delivers current state, and a deleted account has none: its deletion stays for a redrive or replay.
    const repaired = problems === 0 || (entry.repair !== null && entry.repair.failed === 0);
    entry.inSync = entry.error === null && entry.deletionsNotDelivered.length === 0 && repaired;
  }
  const ok = names.every((name) => report[name]?.inSync === true);
  if (io.json) {
    io.out(JSON.stringify({ target: targetSummary(target), accounts: scanned, contents: options.contents ?? false, repair: options.repair ?? false, ok, destinations: report }, null, 2));
  } else {
    printReport(io, target, scanned, options, names, report, ok);
  }
  return ok ? 0 : 1;
}

function laggingOf(accountId: string, version: number, watermark: Watermark, mode: DeliveryMode): Lagging {
  const owed = mode === 'every-version' ? owedUnder(watermark, version) : [];
  return { accountId, version, watermark: watermark.version, ...(owed.length > 0 ? { owed: formatVersions(owed) } : {}) };
}
