import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ScanCommand } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { LocalEnvironment } from './environment';
import type { Accepted } from './read-back';
import { EXACT_NUMBERS } from '../../shared/accounts/image-json';

/**
 * `--dump <dir>`: `<destination>.jsonl`, one line per delivery the destination accepted, in arrival order
 * (`{"accountId","version"}`), and `table.jsonl`, one line per account with its final `version` and `balance`.
 */
export async function dumpRun(dir: string, env: LocalEnvironment, accepted: Readonly<Record<string, readonly Accepted[]>>): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const written: string[] = [];
  // Every destination of the run, plug-ins included.
  for (const [name, deliveries] of Object.entries(accepted)) {
    const file = join(dir, `${name}.jsonl`);
    await writeFile(file, deliveries.map(({ accountId, version }) => `${JSON.stringify({ accountId, version })}\n`).join(''));
    written.push(file);
  }
  const accounts: { accountId: string; version: number; balance: number }[] = [];
  let startKey: Record<string, import('@aws-sdk/client-dynamodb').AttributeValue> | undefined;
  do {
    const page = await env.dynamodb.send(
      new ScanCommand({ TableName: env.resources.accountsTable, ConsistentRead: true, ExclusiveStartKey: startKey }),
    );
    for (const item of page.Items ?? []) {
      const account = unmarshall(item, EXACT_NUMBERS) as { account_id: string; version: number; balance: number };
      accounts.push({ accountId: account.account_id, version: account.version, balance: account.balance });
    }
    startKey = page.LastEvaluatedKey;
  } while (startKey);
  accounts.sort((a, b) => (a.accountId < b.accountId ? -1 : 1));
  const table = join(dir, 'table.jsonl');
  await writeFile(table, accounts.map((account) => `${JSON.stringify(account)}\n`).join(''));
  written.push(table);
  return written;
}
