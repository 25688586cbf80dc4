import { HeadObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { boolean, formatted, requiredString } from '../../shared/config/env';
import type { RuntimePlugin } from '../../shared/destination-plugin/runtime-plugin';
import { auditObjectKey } from './audit-object';
import { S3AuditLog } from './s3-audit-log';

export interface AuditRuntimeSettings {
  readonly bucket: string;
  readonly prefix: string;
  /** Path-style requests (fauxqs needs them locally). */
  readonly forcePathStyle: boolean;
}

/** The runtime half of the audit destination: every-version → S3, one create-only object per account version. */
export const auditRuntime: RuntimePlugin<AuditRuntimeSettings> = {
  name: 'audit',
  mode: 'every-version',
  readSettings: (env) => ({
    bucket: requiredString(env, 'AUDIT_BUCKET_NAME'),
    prefix: formatted(env, 'AUDIT_KEY_PREFIX', isKeyPrefix, 'an S3 key prefix of at most 256 bytes, not starting with "/", without control characters') ?? 'changes/',
    forcePathStyle: boolean(env, 'S3_FORCE_PATH_STYLE', false),
  }),
  createDestination(settings, { retrier, clientConfig }) {
    const client = new S3Client({ ...clientConfig('AWS_ENDPOINT_URL_S3'), forcePathStyle: settings.forcePathStyle });
    return { destination: new S3AuditLog({ client, bucket: settings.bucket, prefix: settings.prefix, retrier }), close: () => client.destroy() };
  },
  /** `fanout reconcile --contents`: an account's current version is held when its object exists (HeadObject). */
  reconcileReader(settings, { clientConfig }) {
    const client = new S3Client({ ...clientConfig('AWS_ENDPOINT_URL_S3'), forcePathStyle: settings.forcePathStyle });
    return {
      async read({ accountId, version }) {
        try {
          await client.send(new HeadObjectCommand({ Bucket: settings.bucket, Key: auditObjectKey(accountId, version, settings.prefix) }));
          return version;
        } catch (error) {
          const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
          if (status === 404 || (error as Error).name === 'NotFound') return null;
          throw error;
        }
      },
      close: () => client.destroy(),
    };
  },
};

/** A prefix every audit key can start with: S3 keys are at most 1,024 bytes, and the account id and version follow it. */
function isKeyPrefix(value: string): boolean {
  return !value.startsWith('/') && Buffer.byteLength(value, 'utf8') <= 256 && !/[\u0000-\u001f\u007f]/.test(value);
}
