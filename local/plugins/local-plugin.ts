import type { S3Client } from '@aws-sdk/client-s3';
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { Accepted } from '../pipeline/read-back';

/** What `npm start` hands a plug-in's local half: the emulators' clients and endpoints, and a per-run name suffix. */
export interface LocalPluginContext {
  /** fauxqs (SQS). */
  readonly sqs: SQSClient;
  /** fauxqs (S3), behind the create-only proxy. */
  readonly s3: S3Client;
  readonly endpoints: Readonly<Record<string, string>>;
  /** Appended to resource names so runs on a shared emulator do not meet. */
  readonly suffix: string;
}

/** A plug-in's destination, running locally: its emulator or stand-in, created for one run. */
export interface LocalStandIn {
  /** The function's own variables, as the plug-in's infra half sets them on AWS, pointed at the local service. */
  readonly environment: Readonly<Record<string, string>>;
  /** Everything the destination accepted, in arrival order: the pipeline verifies it as it verifies the built-ins. */
  readBack(): Promise<Accepted[]>;
  /**
   * `npm start -- --fail <name>:<rate>`: make that fraction of the destination's calls fail as the real service fails
   * them (retryable), from now on; 0 ends it. Optional: without it, `--fail` for this plug-in is refused.
   */
  failCalls?(rate: number, seed: number): void;
  stop(): Promise<void>;
}

/** The local half of a destination plug-in: how `npm start -- --destinations ...,<name>` runs it for real. */
export interface LocalPlugin {
  start(context: LocalPluginContext): Promise<LocalStandIn>;
}
