import { Stack, Token } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { PipelineConfigError } from '../config/pipeline-config';

/**
 * A pipeline's name starts its alarm names (CloudWatch: up to 255 characters, no control characters) and its EFO
 * consumer names (Kinesis: `[a-zA-Z0-9_.-]`, up to 128), and is the `service` dimension of its metrics (up to 1024):
 * so only the characters all three take. At most 128, a CloudFormation stack name's limit, so that every stack's name
 * is a valid default. (An EFO consumer name that would be longer than 128 is shortened, `consumerNameStem`.)
 */
export const PIPELINE_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/** A `pipelineName` that does not fit where it goes, or one another pipeline of the same stack already has. */
export class PipelineNameError extends PipelineConfigError {
  constructor(message: string, where: string) {
    super('pipelineName', `${message} (from ${where})`);
    this.name = 'PipelineNameError';
  }
}

/**
 * Checks the characters and length of `name`. A name that is still a token (a nested stack's name, say) is left to
 * CloudFormation, which refuses a bad alarm or consumer name at deploy.
 */
export function checkPipelineName(name: string, where: string): string {
  if (Token.isUnresolved(name) || PIPELINE_NAME_PATTERN.test(name)) return name;
  throw new PipelineNameError(`must be 1-128 letters, digits, '.', '_' or '-', starting with a letter or digit, got ${JSON.stringify(name)}`, where);
}

/** Per stack, the pipelines' names and the path of the construct that has each. */
const CLAIMED = new WeakMap<Stack, Map<string, string>>();

/**
 * The name of the pipeline `scope` makes, `given` or its stack's name, checked and claimed in its stack: a second
 * pipeline of the same name in one stack would share its alarm names (CloudFormation refuses the deploy) and, worse,
 * its metric series, so each one's alarms would fire on the other's dead letters.
 */
export function claimPipelineName(scope: Construct, given: string | undefined): string {
  const stack = Stack.of(scope);
  const where = `the props of ${scope.node.path}`;
  const name = checkPipelineName(given ?? stack.stackName, where);
  const claimed = CLAIMED.get(stack) ?? new Map<string, string>();
  CLAIMED.set(stack, claimed);
  const holder = claimed.get(name);
  if (holder !== undefined) {
    const hint = given === undefined ? ': set a `pipelineName` of its own on each' : '';
    throw new PipelineNameError(`"${name}" is already the pipeline name of ${holder} in stack ${stack.node.path}${hint}`, where);
  }
  claimed.set(name, scope.node.path);
  return name;
}
