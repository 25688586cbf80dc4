import type * as iam from 'aws-cdk-lib/aws-iam';

/** What a consumer needs from its destination: the environment its handler reads, and the right to write to it. */
export interface DestinationTarget {
  /** Environment variables for the consumer's function (see the README's configuration table). */
  readonly environment: Readonly<Record<string, string>>;
  /** Lets `grantee` write to this destination, and to nothing else of it. */
  grantDeliver(grantee: iam.IGrantable): void;
  /** True when the stack created the resource; false when it was imported by ARN or endpoint. */
  readonly owned: boolean;
}
