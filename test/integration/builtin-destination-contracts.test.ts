import { EventBridgeClient, PutEventsCommand, type PutEventsCommandOutput, type PutEventsResultEntry } from '@aws-sdk/client-eventbridge';
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { auditVersionOfKey } from '../../destinations/audit/local';
import { startFauxqs } from 'fauxqs';
import { afterAll, beforeAll } from 'vitest';
import { auditRuntime } from '../../consumers/audit/runtime';
import { S3AuditLog } from '../../consumers/audit/s3-audit-log';
import { EventBridgeBus, MAX_PUT_EVENTS_ENTRIES } from '../../consumers/fraud/eventbridge-bus';
import type { FraudEventDetail } from '../../consumers/fraud/fraud-event';
import { fraudRuntime } from '../../consumers/fraud/runtime';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../../local/emulators/dynamodb-local';
import { startEventBridgeStandIn, type EventBridgeStandIn } from '../../local/standins/eventbridge/server';
import { startS3CreateOnlyProxy, type S3CreateOnlyProxy } from '../../local/standins/s3-create-only-proxy';
import { Client } from '@opensearch-project/opensearch';
import { OpenSearchIndex } from '../../consumers/search/opensearch-index';
import { searchRuntime } from '../../consumers/search/runtime';
import { startOpenSearchStandIn, type OpenSearchStandIn } from '../../local/standins/opensearch/server';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { deliverInAccountWaves, describeRecord, NOT_SENT_DEADLINE, requiredString, type RuntimePlugin } from '../../shared/destination-plugin';
import { describeDestinationContract } from '../support/destination-contract';
import { applyCallFaults, clientFaultState, contractFaults, holdInReverse, isRefused, type ClientFaultState } from '../support/faulty-client';
import { startOpenSearchFaultProxy, type OpenSearchFaultProxy } from '../support/opensearch-fault-proxy';

/**
 * The built-ins pass the same contract as a plug-in: audit (S3, every-version), fraud (EventBridge, in-order) and
 * search (OpenSearch, latest-state).
 */

const aws = { region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS };
let fauxqs: Awaited<ReturnType<typeof startFauxqs>>;
let proxy: S3CreateOnlyProxy;
let s3: S3Client;
let eventBridge: EventBridgeStandIn;
let events: EventBridgeClient;
let buckets = 0;
let openSearch: OpenSearchStandIn;
let indexes = 0;

beforeAll(async () => {
  fauxqs = await startFauxqs({ port: 0, logger: false });
  proxy = await startS3CreateOnlyProxy(`http://127.0.0.1:${fauxqs.port}`);
  s3 = new S3Client({ ...aws, endpoint: proxy.endpoint, forcePathStyle: true });
  eventBridge = await startEventBridgeStandIn();
  events = new EventBridgeClient({ ...aws, endpoint: eventBridge.endpoint });
  openSearch = await startOpenSearchStandIn();
});
afterAll(async () => {
  s3.destroy();
  events.destroy();
  await eventBridge.stop();
  await openSearch.stop();
  await proxy.stop();
  await fauxqs.stop();
});

/** S3 through the contract's faults: a refused account's (or version's) PutObject answers 403 AccessDenied, as a bucket policy would. */
function faultyS3(state: ClientFaultState): S3Client {
  const send = async (command: PutObjectCommand, options?: { abortSignal?: AbortSignal }) => {
    await applyCallFaults(state, 1, options?.abortSignal);
    const metadata = command.input.Metadata ?? {};
    if (isRefused(state, metadata['account-id'] ?? '', Number(metadata.version))) {
      throw Object.assign(new Error('Access Denied'), { name: 'AccessDenied', $fault: 'client', $metadata: { httpStatusCode: 403 } });
    }
    return s3.send(command, options);
  };
  return { send } as unknown as S3Client;
}

describeDestinationContract(auditRuntime, async ({ retrier }) => {
  buckets += 1;
  const bucket = `contract-audit-${buckets}`;
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  const state = clientFaultState();
  const from = proxy.created.length;
  return {
    destination: new S3AuditLog({ client: faultyS3(state), bucket, retrier }),
    faults: contractFaults(state),
    readBack: async () => {
      const held: { accountId: string; version: number }[] = [];
      for (const { path } of proxy.created.slice(from)) {
        const version = await auditVersionOfKey(s3, bucket, decodeURIComponent(path.slice(bucket.length + 2)));
        if (version) held.push(version);
      }
      return held;
    },
    close: async () => undefined,
  };
});

/** EventBridge through the contract's faults: a refused account's (or version's) entries answer `MalformedDetail`, entry by entry. */
function faultyEvents(state: ClientFaultState): EventBridgeClient {
  const send = async (command: PutEventsCommand, options?: { abortSignal?: AbortSignal }): Promise<PutEventsCommandOutput> => {
    const entries = command.input.Entries ?? [];
    await applyCallFaults(state, entries.length, options?.abortSignal);
    const refused = entries.map((entry) => {
      const { accountId, version } = JSON.parse(entry.Detail ?? '{}') as FraudEventDetail;
      return isRefused(state, accountId, version);
    });
    const passed = entries.filter((_, index) => !refused[index]);
    const answer = passed.length > 0 ? await events.send(new PutEventsCommand({ Entries: passed }), options) : { Entries: [] };
    const answers = [...(answer.Entries ?? [])];
    const merged: PutEventsResultEntry[] = refused.map((isRefused) =>
      isRefused ? { ErrorCode: 'MalformedDetail', ErrorMessage: 'refused by the contract test' } : (answers.shift() as PutEventsResultEntry),
    );
    return { ...answer, Entries: merged, FailedEntryCount: merged.filter((entry) => entry.ErrorCode).length } as PutEventsCommandOutput;
  };
  return { send } as unknown as EventBridgeClient;
}

describeDestinationContract(
  fraudRuntime,
  async ({ retrier }) => {
    eventBridge.clear();
    const state = clientFaultState();
    return {
      destination: new EventBridgeBus({ client: faultyEvents(state), eventBusName: 'default', retrier }),
      faults: contractFaults(state),
      readBack: async () =>
        eventBridge.events('default').map((event) => {
          const { accountId, version } = event.detail as FraudEventDetail;
          return { accountId, version };
        }),
      entriesPerCall: () => state.entriesPerCall,
      close: async () => undefined,
    };
  },
  { maxEntriesPerCall: MAX_PUT_EVENTS_ENTRIES },
);

/** OpenSearch through a proxy that applies the contract's faults on the wire (the real client sees real answers). */
describeDestinationContract(searchRuntime, async ({ retrier }) => {
  indexes += 1;
  const index = `contract-search-${indexes}`;
  const state = clientFaultState();
  const proxy: OpenSearchFaultProxy = await startOpenSearchFaultProxy(openSearch.endpoint, state);
  const client = new Client({ node: proxy.endpoint, maxRetries: 0 });
  return {
    destination: new OpenSearchIndex({ client, index, retrier }),
    faults: contractFaults(state),
    // The document's own account: a long id's _id is a bounded form of it (`documentId`).
    readBack: async () => openSearch.writes(index).map(({ id, version, source }) => ({ accountId: typeof source?.account_id === 'string' ? source.account_id : id, version })),
    entriesPerCall: () => state.entriesPerCall,
    close: async () => {
      await client.close();
      await proxy.stop();
    },
  };
});

/**
 * The README's *Write your own destination* webhook, as written there, passes the same contract: its example once sent
 * the account id raw in a header, which fetch refuses for any character above U+00FF (every version of such an account
 * was retried until it was dead-lettered).
 */
const readmeWebhookRuntime: RuntimePlugin<{ url: string }> = {
  name: 'webhook',
  mode: 'in-order',
  readSettings: (env) => ({ url: requiredString(env, 'WEBHOOK_URL') }),
  createDestination: ({ url }, { retrier }) => ({
    destination: {
      name: 'webhook',
      mode: 'in-order',
      deliver: (deliveries, options) =>
        deliverInAccountWaves(deliveries, retrier, (wave, signal) =>
          Promise.all(wave.map(async ({ record }) => {
            if (signal?.aborted) return { kind: 'retry' as const, detail: NOT_SENT_DEADLINE };
            try {
              const response = await fetch(url, { method: 'POST', body: JSON.stringify(record), signal,
                headers: { 'content-type': 'application/json', 'idempotency-key': encodeURIComponent(`${record.accountId}#${record.version}`) } });
              if (response.ok) return { kind: 'done' as const, result: { status: 'delivered' as const } };
              const detail = `${describeRecord(record)}: HTTP ${response.status}`;
              return { kind: response.status === 429 || response.status >= 500 ? 'retry' as const : 'reject' as const, detail };
            } catch (error) {
              return { kind: 'retry' as const, detail: `${describeRecord(record)}: ${(error as Error).message}` };
            }
          })), options),
    },
    close: () => undefined,
  }),
};

/** The partner's endpoint: records each POST in arrival order, applying the contract's faults (503, 400, no answer, POSTs in flight together taken in reverse). */
async function startWebhookStandIn(state: ClientFaultState) {
  const received: { accountId: string; version: number }[] = [];
  const server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString()));
    request.on('end', async () => {
      state.entriesPerCall.push(1);
      if (state.reverse) await holdInReverse(state);
      if (state.hang) return;
      if (state.failNextCalls > 0) {
        state.failNextCalls -= 1;
        response.writeHead(503).end();
        return;
      }
      const { accountId, version } = JSON.parse(body) as { accountId: string; version: number };
      if (isRefused(state, accountId, version)) response.writeHead(400).end();
      else {
        received.push({ accountId, version });
        response.end();
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const stop = () => new Promise<void>((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  });
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`, received, stop };
}

describeDestinationContract(readmeWebhookRuntime, async ({ retrier }) => {
  const state = clientFaultState();
  const server = await startWebhookStandIn(state);
  return {
    destination: readmeWebhookRuntime.createDestination({ url: server.url }, { retrier, region: 'us-east-1', clientConfig: () => ({}) }).destination,
    faults: contractFaults(state),
    readBack: async () => server.received,
    entriesPerCall: () => state.entriesPerCall,
    close: () => server.stop(),
  };
}, { maxEntriesPerCall: 1 });
