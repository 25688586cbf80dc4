import { DESTINATION_NAMES, type DestinationName } from '../../infra/config/pipeline-config';
import type { DestinationDetails, DestinationSummary } from '../../local/pipeline/verify-pipeline';
import { DESTINATION_MODES } from '../../shared/config/consumer-config';
import type { PipelineReport } from '../../local/pipeline/run-pipeline';
import type { ReportInput, TimedChange, TimedDelivery, TimelineEvent } from '../../local/report/report-input';

export const T0 = 1_800_000_000_000;

/**
 * A small made-up run: 3 accounts, 30 changes over 10 s, each destination delivering every change 200-1400 ms after
 * its commit (search skips some as stale), one crash and one on-failure batch on the timeline.
 */
export function reportFixture(options: { ok?: boolean; hostileText?: string } = {}): ReportInput {
  const ok = options.ok ?? true;
  const changes: TimedChange[] = [];
  for (let i = 0; i < 30; i += 1) {
    const accountId = `acct-${i % 3}`;
    changes.push({ accountId, version: Math.floor(i / 3) + 1, createdAtMicros: (T0 + i * 333) * 1000 });
  }
  const delay = (i: number, destination: number): number => 200 + ((i * 97 + destination * 131) % 1200);
  const accepted = {} as Record<DestinationName, TimedDelivery[]>;
  for (const [d, name] of DESTINATION_NAMES.entries()) {
    accepted[name] = changes
      .map((change, i) => ({ accountId: change.accountId, version: change.version, at: change.createdAtMicros / 1000 + delay(i, d) }))
      // search (latest-state) skipped every third version as stale: its successor served it.
      .filter((delivery) => name !== 'search' || delivery.version % 3 !== 0 || delivery.version === 10)
      .sort((a, b) => a.at - b.at);
  }
  const events: TimelineEvent[] = [
    { atMs: T0 + 4_000, destination: 'fraud', kind: 'crash before-destination-call' },
    { atMs: T0 + 6_500, destination: 'audit', kind: 'on-failure batch (RetryAttemptsExhausted)' },
  ];
  const destinations = {} as Record<DestinationName, DestinationSummary>;
  const details = {} as Record<DestinationName, DestinationDetails>;
  for (const name of DESTINATION_NAMES) {
    const failing = !ok && name === 'fraud';
    destinations[name] = {
      delivered: accepted[name].length,
      duplicatesSkipped: 1,
      stale: name === 'search' ? 6 : 0,
      healed: 0,
      parked: failing ? 4 : 0,
      deadLettered: failing ? 2 : 0,
      orderViolations: 0,
      missing: failing ? 4 : 0,
      recordsPerSecond: 3,
      latencyMs: { p50: 800, p99: 1400 },
    };
    details[name] = {
      name,
      mode: DESTINATION_MODES[name],
      received: accepted[name].length,
      healed: 0,
      redelivered: 0,
      missing: destinations[name].missing,
      orderViolations: 0,
      unexpected: 0,
      contentMismatches: 0,
      droppedAbsent: 0,
      samples: options.hostileText ? [options.hostileText] : [],
      ok: !failing,
      waitingAccounts: failing ? 1 : 0,
      finalStateMismatches: 0,
      retries: 2,
      quarantined: 0,
      failedRecords: 0,
      warmLatencyMs: { p50: 800, p95: 1300, p99: 1400, samples: 12 },
      stagesMs: { streamRead: 150, kinesisPut: 20, efoPush: 500, batchWait: 60, ledgerRead: 15, destinationWrite: 25, total: 770, withoutEfoPush: 270, samples: 12 },
    };
  }
  const report: PipelineReport = {
    ok,
    changes: 30,
    accounts: 3,
    destinations,
    details: {
      seed: 1,
      shards: 2,
      capture: { expected: 30, complete: true },
      bridge: { captured: 30, put: 32, duplicates: 2, crossShardDuplicates: 1, displaced: 3, delayed: 0, putRetries: 0, retryDuplicates: 0, pollErrors: 0, putErrors: 0, unconvertible: 0, abandoned: 0, dropped: 0 },
      workload: { attempted: { deposit: 10, withdrawal: 10, transfer: 4 }, succeeded: { deposit: 10, withdrawal: 9, transfer: 4 }, insufficientFunds: 1, conflicts: 0, versionsWritten: 30, durationMs: 10_000 },
      converged: ok,
      destinations: details,
      timingsMs: { setup: 2_000, workload: 10_000, converge: 3_000, verify: 500, total: 15_500 },
    },
  };
  return {
    report,
    timeline: { startedAtMs: T0 - 2_000, changes, events },
    accepted,
    standingFaults: options.hostileText ? [options.hostileText] : [],
    generatedAt: '2026-12-03T00:00:00.000Z',
    command: 'npm start -- fixture',
  };
}
