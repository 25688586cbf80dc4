import { S3Client } from '@aws-sdk/client-s3';
import { readConsumerConfig } from '../../shared/config/consumer-config';
import type { Env } from '../../shared/config/env';
import { DESTINATION_CLIENT_DEFAULTS, endpointOptions, timeBoundRequestHandler } from '../../shared/consumer/clients';
import { createKinesisHandler } from '../../shared/consumer/kinesis-handler';
import { buildRuntime, type BuiltRuntime, type RuntimeOptions } from '../../shared/consumer/runtime';
import { S3AuditLog } from './s3-audit-log';

/** The audit consumer (every-version → S3), wired from environment variables. */
export function createAuditRuntime(env: Env = process.env, options: RuntimeOptions = {}): BuiltRuntime {
  const config = readConsumerConfig('audit', env);
  const audit = config.audit as NonNullable<typeof config.audit>;
  return buildRuntime(
    config,
    (retrier) => {
      const client = new S3Client({
        ...DESTINATION_CLIENT_DEFAULTS,
        region: config.region,
        forcePathStyle: config.s3ForcePathStyle,
        requestHandler: timeBoundRequestHandler(),
        ...endpointOptions(config.endpoints.s3),
      });
      return {
        destination: new S3AuditLog({ client, bucket: audit.bucket, prefix: audit.prefix, retrier }),
        close: () => client.destroy(),
      };
    },
    options,
  );
}

export const handler = createKinesisHandler(() => createAuditRuntime());
