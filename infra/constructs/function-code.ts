import { existsSync } from 'node:fs';
import { dirname, isAbsolute, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Duration } from 'aws-cdk-lib';
import type * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';

/**
 * The package root: the directory of the nearest `package.json` above this module. Searched for rather than fixed,
 * because this module runs from `infra/constructs/` in a checkout and from `dist/` once built into the package.
 */
export const PACKAGE_ROOT = findPackageRoot(dirname(fileURLToPath(import.meta.url)));

/** Kept under its old name: entries, `projectRoot` and the lock file of every function are found from it. */
export const PROJECT_ROOT = `${PACKAGE_ROOT}/`;

/** Where `npm run build` puts the prebuilt handlers: `dist/lambda/<source without .ts>/index.js`. */
export const PREBUILT_DIR = 'dist/lambda';

/**
 * How every function of the pipeline is bundled, from the sources or ahead of time. The SDK is bundled too
 * (`externalModules: []`): the versions the tests ran are the ones that run.
 */
export const FUNCTION_BUNDLING: nodejs.BundlingOptions = {
  sourceMap: true,
  minify: true,
  target: 'node22',
  format: nodejs.OutputFormat.CJS,
  externalModules: [],
};

export interface PipelineFunctionProps {
  /**
   * The handler's source, exporting `handler`: relative to the package root (e.g. `consumers/audit/handler.ts`), or
   * an absolute path to a handler of your own (bundled from source, so it needs esbuild in your app).
   */
  readonly source: string;
  readonly description: string;
  readonly role: iam.IRole;
  readonly logGroup: logs.ILogGroup;
  readonly timeout: Duration;
  /** @default 128 (Lambda's) */
  readonly memorySize?: number;
  /** @default no reservation */
  readonly reservedConcurrentExecutions?: number;
  /** @default none */
  readonly environment?: Record<string, string>;
}

/**
 * A function of the pipeline (nodejs22.x on arm64). From a checkout, where the TypeScript source is there, it is a
 * `NodejsFunction` bundled at synth time by the local esbuild, so a change to the source is deployed without a build
 * step. From the built package, which ships no sources, it runs the handler `npm run build` bundled ahead of time with
 * the same options: an app that installs the package needs neither esbuild nor Docker, nor the pipeline's runtime
 * dependencies.
 */
export function pipelineFunction(scope: Construct, id: string, props: PipelineFunctionProps): lambda.Function {
  const common = {
    description: props.description,
    runtime: lambda.Runtime.NODEJS_22_X,
    architecture: lambda.Architecture.ARM_64,
    timeout: props.timeout,
    role: props.role,
    logGroup: props.logGroup,
    ...(props.memorySize !== undefined ? { memorySize: props.memorySize } : {}),
    ...(props.reservedConcurrentExecutions !== undefined ? { reservedConcurrentExecutions: props.reservedConcurrentExecutions } : {}),
    ...(props.environment !== undefined ? { environment: props.environment } : {}),
  };
  const entry = isAbsolute(props.source) ? props.source : join(PACKAGE_ROOT, props.source);
  if (existsSync(entry)) {
    return new nodejs.NodejsFunction(scope, id, {
      ...common,
      entry,
      handler: 'handler',
      // An absolute source is the app's own handler (a plug-in's): it is bundled in the app's project, with the app's
      // lock file, which CDK finds from the working directory. The installed package ships no lock file of its own.
      ...(isAbsolute(props.source) ? {} : { projectRoot: PROJECT_ROOT, depsLockFilePath: `${PROJECT_ROOT}package-lock.json` }),
      bundling: FUNCTION_BUNDLING,
    });
  }
  const prebuilt = prebuiltPath(props.source);
  if (!existsSync(join(prebuilt, 'index.js'))) {
    // A plug-in's own handler given relative lands here too: it is resolved against the package, not the app.
    throw new Error(
      `ordered-fanout: neither the source ${entry} nor its prebuilt bundle ${prebuilt}/index.js exists; run npm run build` +
        ` (a handler of your own app's plug-in must be an absolute path: relative ones are the package's)`,
    );
  }
  return new lambda.Function(scope, id, {
    ...common,
    code: lambda.Code.fromAsset(prebuilt),
    handler: 'index.handler',
  });
}

/** The directory `npm run build` bundles `source` into. */
export function prebuiltPath(source: string): string {
  return join(PACKAGE_ROOT, PREBUILT_DIR, source.replace(/\.ts$/, ''));
}

function findPackageRoot(from: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    if (dirname(dir) === dir) throw new Error(`ordered-fanout: no package.json above ${from}`);
  }
}
