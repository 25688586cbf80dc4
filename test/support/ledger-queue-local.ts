import { S3Client } from '@aws-sdk/client-s3';
import { SQSClient } from '@aws-sdk/client-sqs';
import { startFauxqs } from 'fauxqs';
import { ledgerQueueLocal } from '../../destinations/ledger-queue/local';
import { parsePipelineConfig } from '../../infra/config/load-config';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../../local/emulators/dynamodb-local';
import type { LocalStandIn } from '../../local/plugins/local-plugin';
import type { S3CreateOnlyProxy } from '../../local/standins/s3-create-only-proxy';
import { DESTINATION_CLIENT_DEFAULTS } from '../../shared/consumer/clients';

/** ledger-queue's local half on a fauxqs of its own, with a client on fauxqs and one as the function has it. */
export interface LedgerQueueLocal {
  readonly fauxqsEndpoint: string;
  /** fauxqs itself: what the stand-in's faults never touch (creating queues, reading back). */
  readonly direct: SQSClient;
  readonly standIn: LocalStandIn;
  /** What the function's SQS clients get: the stand-in's endpoint, one attempt per call (the adapter retries). */
  readonly viaProxy: SQSClient;
  readonly queueUrl: string;
  stop(): Promise<void>;
}

export async function startLedgerQueueLocal(suffix: string): Promise<LedgerQueueLocal> {
  const aws = { region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS };
  const fauxqs = await startFauxqs({ port: 0, logger: false });
  const endpoint = `http://127.0.0.1:${fauxqs.port}`;
  const direct = new SQSClient({ ...aws, endpoint });
  // The stand-in uses SQS only: S3 is there because every local half gets it.
  const standIn = await ledgerQueueLocal.start({
    sqs: direct,
    s3: new S3Client({ ...aws, endpoint }),
    s3Proxy: {} as S3CreateOnlyProxy,
    endpoints: { fauxqs: endpoint, s3: endpoint },
    suffix,
    settings: parsePipelineConfig({}, 'defaults').destinations.audit,
  });
  const viaProxy = new SQSClient({ ...aws, ...DESTINATION_CLIENT_DEFAULTS, endpoint: standIn.environment.AWS_ENDPOINT_URL_SQS as string });
  return {
    fauxqsEndpoint: endpoint,
    direct,
    standIn,
    viaProxy,
    queueUrl: standIn.environment.LEDGER_QUEUE_URL as string,
    async stop() {
      viaProxy.destroy();
      await standIn.stop();
      direct.destroy();
      await fauxqs.stop();
    },
  };
}
