import type { S3Client } from '@aws-sdk/client-s3';
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { DestinationSettings } from '../../infra/config/pipeline-config';
import type { Accepted } from '../pipeline/read-back';
import type { DestinationFaultKinds, FaultRule } from '../standins/fault-spec';
import type { S3CreateOnlyProxy } from '../standins/s3-create-only-proxy';

/**
 * What `npm start` hands a destination's local half: the emulators every run has anyway (its dead-letter queues and
 * on-failure bucket live there), and a per-run name suffix. A service only the destination uses (OpenSearch,
 * EventBridge, a webhook's server) is its local half's to start and stop, so a run starts only what its destinations
 * use.
 */
export interface LocalPluginContext<Settings extends DestinationSettings = DestinationSettings> {
  /** fauxqs (SQS). */
  readonly sqs: SQSClient;
  /** fauxqs (S3), behind the create-only proxy. */
  readonly s3: S3Client;
  /**
   * The create-only proxy `s3` goes through. Shared, as the run's on-failure bucket is behind it too: its log of the
   * objects it created is the only record of S3 writes in arrival order, and its faults are S3's.
   */
  readonly s3Proxy: S3CreateOnlyProxy;
  /** `fauxqs` (SQS and S3 unproxied) and `s3` (the proxy). */
  readonly endpoints: Readonly<{ fauxqs: string; s3: string }>;
  /** Appended to resource names so runs on a shared emulator do not meet. */
  readonly suffix: string;
  /**
   * The destination's settings in this run: the configuration's for a built-in (search's index is named there), the
   * defaults every destination has for a plug-in.
   */
  readonly settings: Settings;
}

/** A version a destination accepted, as a cheap log of it has it. */
export interface AcceptedVersion {
  readonly accountId: string;
  readonly version: number;
}

/** What a destination holds for one account now. */
export interface HeldVersion {
  readonly version: number;
  /** Absent for a tombstone. */
  readonly balance: number | undefined;
}

/** A destination running locally: its emulator or stand-in, created for one run. */
export interface LocalStandIn {
  /**
   * The function's own variables, as the infra half sets them on AWS, pointed at the local service. They win over the
   * run's endpoint variables, so a stand-in can put itself in front of a shared emulator (a fault proxy).
   */
  readonly environment: Readonly<Record<string, string>>;
  /** Services it started for itself, by name (`opensearch`): `--keep-running` prints them, the state file keeps them. */
  readonly endpoints?: Readonly<Record<string, string>>;
  /** Its resource in a few words (`audit bucket ordered-fanout-audit`) for `--keep-running`; else its environment is shown. */
  readonly resource?: string;
  /** Everything the destination accepted, in arrival order: the pipeline verifies every destination from this. */
  readBack(): Promise<Accepted[]>;
  /**
   * What it accepted so far, cheaply and while faults may still be on: the run polls it every 250 ms to see
   * convergence, and a fault run's operator reads it between actions. Needed when `readBack` goes through a client
   * the faults refuse, or reads too much to poll (audit reads every object). @default readBack
   */
  acceptedSoFar?(): Promise<readonly AcceptedVersion[]> | readonly AcceptedVersion[];
  /**
   * What it holds now per account, for a destination whose holdings can differ from the writes it accepted (an index
   * whose documents are deleted, or rebuilt by a replay): verification then also checks each account against the
   * table's final version and balance.
   */
  currentState?(): Promise<ReadonlyMap<string, HeldVersion>>;
  /**
   * `npm start -- --fail <name>:<rate>`: make that fraction of the destination's calls fail as the real service fails
   * them (retryable), from now on; 0 ends it. Optional: without it, `--fail` for this destination is refused.
   */
  failCalls?(rate: number, seed: number): void;
  /**
   * `--destination-faults`: replace what it injects (`--fail` included) with these rules, each a fault of its local
   * half's `faults`, seeded; `[]` ends every fault (the outage is over before the operator redrives). Needed with
   * `faults`.
   */
  injectFaults?(rules: readonly FaultRule[], seed: number): void;
  /** What it counted of the faults it injected, by kind, zeros left out: the report puts them beside the rules. */
  injectedCounts?(): Readonly<Record<string, number>>;
  stop(): Promise<void>;
}

/** The local half of a destination: how `npm start -- --destinations ...,<name>` runs it for real. */
export interface LocalPlugin<Settings extends DestinationSettings = DestinationSettings> {
  start(context: LocalPluginContext<Settings>): Promise<LocalStandIn>;
  /**
   * The faults its stand-in can inject for `--destination-faults`, and its share of `all`. Declared here rather than
   * on the stand-in: the spec is checked before anything starts. Without it, a spec naming the destination is refused.
   */
  readonly faults?: DestinationFaultKinds;
  /**
   * Why a fault run may or may not see it accept a version again (`S3 is create-only`): the report prints it beside
   * the duplicates it counted. In-order destinations need none: the engine's replay after a crash says why.
   */
  readonly duplicates?: string;
}
