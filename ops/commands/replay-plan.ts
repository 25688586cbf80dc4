import { REPLAY_READ_MARGIN_SECONDS } from '../../infra/config/consumer-environment';
import type { DeliveryMode } from '../../shared/ordering/delivery-mode';
import type { CommandIO } from '../io';

/** What a replay will do (`fanout replay` prints it; `--json` puts it under `plan`). */
export interface ReplayPlan {
  /** A built-in's name or a plug-in's. */
  readonly destination: string;
  readonly mode: DeliveryMode;
  /** The target's description, e.g. `stack OrderedFanout in eu-west-1`. */
  readonly target: string;
  readonly kind: 'aws' | 'local';
  /** Where the new mapping starts (AT_TIMESTAMP), normalised to `toISOString()`. */
  readonly from: string;
  readonly retentionHours: number;
  /** Changes created before this are delivered with `replay: true`, later ones as live changes (when the command ran). */
  readonly replayBefore: string;
  readonly current: { readonly epoch: string; readonly streamConsumerArn: string; readonly startingPosition: string };
  readonly next: {
    readonly epoch: string;
    /** Each account starts at its first change at or after `from`, by the records' own times (EPOCH_REPLAY_FROM). */
    readonly window: 'from-time';
    readonly streamConsumerName: string;
    readonly startingPosition: 'AT_TIMESTAMP';
    readonly startingPositionTimestamp: string;
    /** Where the window starts (`--from`): the mapping reads from a little before it. */
    readonly replayFrom: string;
  };
  /** The destinations the replay leaves alone. */
  readonly others: readonly string[];
  /** Things to fix or know before applying. */
  readonly warnings: readonly string[];
  readonly apply: boolean;
}

/** What delivering everything again means for each built-in destination. */
const EFFECTS: Readonly<Record<string, string>> = {
  audit:
    'audit: objects already in the log are refused by S3 (create-only, counted as duplicates); only missing objects are written again, with "replay": true',
  search:
    'search: OpenSearch keeps each document at its newest version (external versioning refuses older ones); rewritten documents carry "replay": true. ' +
    'Accounts with no change since the start are not written (a replay holds no change of theirs): after a lost index, fanout reconcile --destination search --contents --repair writes their current state',
  fraud:
    'fraud: every event is sent again with "replay": true and its usual eventId (<account>#<version>): rules should route replay events away from live actions, receivers drop repeats by eventId',
};

/** A plug-in's effect, from what its mode promises (its adapter decides the rest: see its README section). */
function modeEffect(destination: string, mode: DeliveryMode): string {
  if (mode === 'latest-state') {
    // A latest-state replay has only the window's changes: an account untouched since the start has none to write.
    return `${destination}: each account's newest version since the start is written again where it does not hold that version or a newer one, with "replay": true; accounts with no change since the start are not written (fanout reconcile --destination ${destination} --repair writes their current state)`;
  }
  if (mode === 'in-order') {
    return `${destination}: every version is sent again, in order per account, with "replay": true and its usual id (<account>#<version>): receivers keep the highest version applied and drop what is not above it`;
  }
  return `${destination}: every version is delivered again with "replay": true; a destination that keeps one copy per version counts the rest as duplicates`;
}

export function printPlan(io: CommandIO, plan: ReplayPlan, context: { readonly stack: string; readonly configFile: string }): void {
  const { destination, current, next } = plan;
  const local = plan.kind === 'local';
  io.out(`replay ${destination} from ${plan.from} (${plan.target})`);
  io.out(`  current    epoch ${current.epoch}, EFO consumer ${current.streamConsumerArn}, starting ${current.startingPosition}`);
  io.out(`  new epoch  ${next.epoch} (each account starts at its first change at or after ${plan.from}, whatever order the records arrive in)`);
  io.out(`  new EFO    ${next.streamConsumerName}`);
  io.out(`  mapping    a new event source mapping from AT_TIMESTAMP ${next.startingPositionTimestamp}, ${REPLAY_READ_MARGIN_SECONDS / 60} minutes before the window (a change whose writer's clock runs ahead arrives early; what comes before ${next.replayFrom} is skipped) (the stream keeps ${plan.retentionHours} h)`);
  if (local) {
    io.out('  local      a one-off catch-up in this process: the new consumer, a function and a mapping run until they have read');
    io.out(`             up to the present, then stop and the consumer is deregistered; the live mapping of npm start keeps running`);
    io.out(`             on ${current.epoch} (nothing is removed; run again with a new --epoch to replay again)`);
  } else {
    io.out(`  removed    the old EFO consumer and its event source mapping (the ${current.epoch} epoch's watermarks stay in the ledger)`);
    io.out(`  deploy     ${context.configFile} gets ${destination}.epoch, startingPosition, startingPositionTimestamp, replayFrom and replayBefore;`);
    io.out(`             npx cdk deploy ${context.stack} -c ordered-fanout:config-file=${context.configFile} --require-approval never`);
  }
  io.out(`  delivered  every change since ${plan.from} again under epoch ${next.epoch}, versions already delivered included`);
  io.out(`  replay     deliveries of changes created before ${plan.replayBefore} carry "replay": true; later changes are live`);
  io.out(`             (EPOCH_REPLAY_BEFORE${local ? '' : ', replayBefore: once caught up, the new epoch carries on as the live feed'})`);
  io.out(`  ${EFFECTS[destination] ?? modeEffect(destination, plan.mode)}`);
  io.out(`  others     ${plan.others.join(', ')}: nothing changes (same epoch, consumer and mapping; nothing is delivered to them again)`);
  for (const warning of plan.warnings) io.out(`  WARNING    ${warning}`);
}
