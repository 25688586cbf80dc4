import type * as iam from 'aws-cdk-lib/aws-iam';

/** What a consumer needs from its destination: the environment its handler reads, and the right to write to it. */
export interface DestinationTarget {
  /** Environment variables for the consumer's function (see the README's configuration table). */
  readonly environment: Readonly<Record<string, string>>;
  /** Lets `grantee` write to this destination, and to nothing else of it. */
  grantDeliver(grantee: iam.IGrantable): void;
  /** True when the stack created the resource; false when it was imported by ARN or endpoint. */
  readonly owned: boolean;
  /**
   * Called once, with the consumer's role, before `grantDeliver`: for a destination that must name its writer on its
   * own side (a created search domain maps it in fine-grained access control). @default nothing to do
   */
  bindWriter?(writer: iam.IRole): void;
}
