import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { RecordingDeadLetterQueue, RecordingDestination } from '../../local/recording-destination';
import { isBadRecordReason } from '../../shared/change-record/bad-record';
import { decodeChangeRecord } from '../../shared/change-record/decode';
import type { KinesisRecordInput } from '../../shared/change-record/kinesis-input';
import { ChangeConsumer } from '../../shared/consumer/change-consumer';
import { encodeDeadLetter } from '../../shared/dead-letter/dead-letter-message';
import { MAX_SQS_PAYLOAD_BYTES } from '../../shared/dead-letter/sqs-dead-letter-queue';
import { InMemoryLedger } from '../../shared/ledger/in-memory-ledger';
import type { DeliveryMode } from '../../shared/ordering/delivery-mode';
import { kdsRecord } from '../support/kds-payload';

/*
 * The real payloads (`test/fixtures`, copies of `shared/fixtures`) mutated in every structural way: fields removed or
 * replaced by garbage, NaN-like and huge numbers, another table, duplicate keys, truncated or non-UTF-8 bytes, odd and
 * overlong account ids, images padded to 1 MB or nested thousands deep. The decoder must answer each with a record or a
 * typed bad record that names its position, and a consumer must deliver the good records around the bad ones and
 * dead-letter or dispose of every bad one. It found an overlong key copied whole into the bad record's detail and
 * account (see `decode-detail-size.test.ts`).
 */

type Json = unknown;
const FIXTURES: Record<string, Json>[] = readFileSync(new URL('../fixtures/kds-dynamodb-records.jsonl', import.meta.url), 'utf8')
  .trim()
  .split('\n')
  .map((line) => JSON.parse(line));
const CAPTURED = JSON.parse(readFileSync(new URL('../fixtures/lambda-kinesis-event-captured.json', import.meta.url), 'utf8')).Records.map(
  (r: { kinesis: { data: string } }) => JSON.parse(Buffer.from(r.kinesis.data, 'base64').toString('utf8')),
);
const BASES = [...FIXTURES, ...CAPTURED];

function paths(value: Json, prefix: (string | number)[] = []): (string | number)[][] {
  if (value === null || typeof value !== 'object') return [prefix];
  const keys = Array.isArray(value) ? value.map((_, i) => i) : Object.keys(value);
  return [prefix, ...keys.flatMap((key) => paths((value as Record<string | number, Json>)[key], [...prefix, key]))];
}
function setAt(root: Json, path: (string | number)[], value: Json | typeof REMOVE): Json {
  if (path.length === 0) return value === REMOVE ? undefined : value;
  let node = root as Record<string | number, Json>;
  for (const key of path.slice(0, -1)) node = node[key] as Record<string | number, Json>;
  const last = path[path.length - 1]!;
  if (value === REMOVE) {
    if (Array.isArray(node)) node.splice(last as number, 1);
    else delete node[last];
  } else node[last] = value;
  return root;
}
const REMOVE = Symbol('remove');

const numberText = fc.constantFrom('NaN', 'Infinity', '-Infinity', '1e400', '-1', '0', '-0', '1.5', '9007199254740993', '1e-400', '0x10', ' 1', '１', '', '1e21', '2.0', '+3', '.5');
const garbage: fc.Arbitrary<Json> = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }),
  numberText.map((N) => ({ N })),
  numberText,
  fc.constantFrom(1e308, -0, 0.1, 2 ** 53 + 2, -1, 0, 1.5e15, 1e20, Number.MAX_SAFE_INTEGER),
  fc.string({ unit: 'binary', maxLength: 40 }).map((S) => ({ S })),
  fc.constantFrom({ S: '\uD800' }, { SS: [] }, { L: 'x' }, { M: [] }, { NULL: false }, { B: '!!' }, { N: 5 }, { S: 5 }, {}, []),
);
const oddAccountId = fc.oneof(
  fc.string({ unit: 'binary', minLength: 1, maxLength: 20 }),
  fc.string({ unit: 'grapheme', minLength: 1, maxLength: 20 }),
  fc.constantFrom('../..', 'a/b?c#d', '%00', '\u0000', ' ', 'ACC-17 ', '\uD83D', 'x'.repeat(3000), '€'.repeat(800), 'constructor', '__proto__'),
);

type Mutation = (payload: Record<string, Json>) => string | Uint8Array;
const asText = (payload: Json) => JSON.stringify(payload);

const mutation: fc.Arbitrary<{ name: string; apply: Mutation }> = fc.oneof(
  fc.nat().map((n) => ({
    name: `remove path #${n}`,
    apply: (p: Record<string, Json>) => {
      const all = paths(p).filter((path) => path.length > 0);
      return asText(setAt(p, all[n % all.length]!, REMOVE));
    },
  })),
  fc.tuple(fc.nat(), garbage).map(([n, value]) => ({
    name: `replace path #${n} with ${JSON.stringify(value)}`,
    apply: (p: Record<string, Json>) => {
      const all = paths(p);
      return asText(setAt(p, all[n % all.length]!, value)) ?? '';
    },
  })),
  fc.constantFrom('accounts', 'Accounts ', '', 'Other', null).map((table) => ({
    name: `table ${table}`,
    apply: (p: Record<string, Json>) => asText({ ...p, tableName: table }),
  })),
  oddAccountId.map((id) => ({
    name: `account id ${JSON.stringify(id).slice(0, 40)}`,
    apply: (p: Record<string, Json>) => {
      const text = asText(p);
      const current = JSON.stringify(((p.dynamodb as Record<string, Record<string, Record<string, string>>>).Keys?.account_id?.S) ?? 'ACC-17');
      return text.split(current).join(JSON.stringify(id));
    },
  })),
  fc.tuple(garbage, fc.constantFrom('"version":', '"account_id":', '"Keys":', '"tableName":', '"eventName":', '"ApproximateCreationDateTime":')).map(([value, key]) => ({
    name: `duplicate ${key} ${JSON.stringify(value)}`,
    // A later duplicate key wins in JSON.parse: put the garbage after the real one.
    apply: (p: Record<string, Json>) => {
      const text = asText(p);
      const at = text.indexOf(key);
      if (at < 0) return text;
      const closing = text.indexOf('}', at);
      return `${text.slice(0, closing)},${key}${JSON.stringify(value)}${text.slice(closing)}`;
    },
  })),
  fc.nat().map((n) => ({
    name: `truncate at ${n}`,
    apply: (p: Record<string, Json>) => {
      const bytes = Buffer.from(asText(p));
      return bytes.subarray(0, n % bytes.length);
    },
  })),
  fc.tuple(fc.nat(), fc.constantFrom([0xff], [0xc3], [0xed, 0xa0, 0x80], [0xef, 0xbb, 0xbf], [0xf4, 0x90, 0x80, 0x80], [0x00])).map(([n, junk]) => ({
    name: `insert bytes ${junk} at ${n}`,
    apply: (p: Record<string, Json>) => {
      const bytes = Buffer.from(asText(p));
      const at = n % bytes.length;
      return Buffer.concat([bytes.subarray(0, at), Buffer.from(junk), bytes.subarray(at)]);
    },
  })),
  fc.tuple(fc.integer({ min: 1, max: 20_000 }), fc.constantFrom('M', 'L', 'json')).map(([depth, kind]) => ({
    name: `nest ${kind} ${depth} deep`,
    apply: (p: Record<string, Json>) => {
      const text = asText(p);
      const nested =
        kind === 'M'
          ? '{"M":{"a":'.repeat(depth) + '{"S":"x"}' + '}}'.repeat(depth)
          : kind === 'L'
            ? '{"L":['.repeat(depth) + '{"S":"x"}' + ']}'.repeat(depth)
            : '['.repeat(depth) + ']'.repeat(depth);
      return text.replace('"currency":', `"nested":${nested},"currency":`);
    },
  })),
  fc.integer({ min: 1, max: 1_000_000 }).map((size) => ({
    name: `pad ${size}`,
    apply: (p: Record<string, Json>) => asText(p).replace('"currency":', `"pad":{"S":"${'y'.repeat(size)}"},"currency":`),
  })),
);

const SHARD = 'shardId-000000000004';
const toData = (out: string | Uint8Array) => Buffer.from(out).toString('base64');
const mutated = fc.tuple(fc.nat({ max: BASES.length - 1 }), fc.array(mutation, { minLength: 1, maxLength: 3 })).map(([base, mutations]) => {
  let payload = structuredClone(BASES[base]) as Record<string, Json>;
  let out: string | Uint8Array = asText(payload);
  for (const m of mutations) {
    try {
      payload = JSON.parse(Buffer.from(out).toString('utf8'));
    } catch {
      break;
    }
    if (payload === null || typeof payload !== 'object') break;
    try {
      out = m.apply(payload);
    } catch {
      break; // too deep for this test's own JSON.stringify: keep what the previous mutation made
    }
  }
  return { names: mutations.map((m) => m.name), data: toData(out) };
});

describe('mutated real payloads: the decoder', () => {
  it('never throws; a bad record has a known reason, a detail and its position', () => {
    fc.assert(
      fc.property(mutated, fc.string(), ({ data }, sequenceNumber) => {
        const result = decodeChangeRecord({ data, sequenceNumber, shardId: SHARD }, { tableName: 'Accounts' });
        if (!result.ok) {
          expect(isBadRecordReason(result.bad.reason)).toBe(true);
          expect(result.bad.detail.length).toBeGreaterThan(0);
          expect(result.bad.detail.length).toBeLessThan(2_000);
          expect(result.bad.sequenceNumber).toBe(sequenceNumber);
          expect(result.bad.shardId).toBe(SHARD);
          expect(result.bad.data).toBe(data);
          if (result.bad.version !== undefined) expect(Number.isSafeInteger(result.bad.version) && result.bad.version >= 1).toBe(true);
        } else {
          expect(Number.isSafeInteger(result.record.version) && result.record.version >= 1).toBe(true);
          expect(Number.isSafeInteger(result.record.createdAtMicros)).toBe(true);
          expect(result.record.version).toBe(result.record.previousVersion + 1);
        }
      }),
      { numRuns: 500 },
    );
  });

  it('refuses a 1 MB deeply nested image without overflowing the stack', () => {
    for (const nested of ['{"M":{"a":'.repeat(60_000) + '{"S":"x"}' + '}}'.repeat(60_000), '{"L":['.repeat(90_000) + '{"S":"x"}' + ']}'.repeat(90_000), '['.repeat(500_000) + ']'.repeat(500_000)]) {
      const text = asText(FIXTURES[1]).replace('"currency":', `"nested":${nested},"currency":`);
      // How long it takes is the bench's to say, not a test's: here, that it answers and refuses.
      const result = decodeChangeRecord({ data: toData(text), sequenceNumber: '1', shardId: SHARD }, { tableName: 'Accounts' });
      expect(result.ok).toBe(false);
    }
  });
});

describe('mutated real payloads: a consumer on batches mixing good and bad records', () => {
  const image = (account: string, version: number) => ({ account_id: account, balance: 100 + version, currency: 'AUD', status: 'OPEN', version });
  const good = (account: string, version: number, sequenceNumber: string): KinesisRecordInput =>
    kdsRecord(
      version === 1
        ? { kind: 'INSERT', newImage: image(account, 1), tableName: 'Accounts' }
        : { kind: 'MODIFY', oldImage: image(account, version - 1), newImage: image(account, version), tableName: 'Accounts' },
      { sequenceNumber, shardId: SHARD, createdAtMicros: 1_800_000_000_000_000 + version },
    );

  it.each(['every-version', 'latest-state', 'in-order'] as DeliveryMode[])('%s: never throws; good records in order; every bad one dead-lettered or dispositioned', async (mode) => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer({ min: 1, max: 5 }), { minLength: 1, maxLength: 3 }),
        fc.array(mutated, { minLength: 1, maxLength: 6 }),
        fc.infiniteStream(fc.boolean()),
        async (lengths, bads, coin) => {
          const goods = lengths.map((length, a) => Array.from({ length }, (_, v) => ({ account: `GOOD-${a}`, version: v + 1 })));
          // Interleave: good records keep their per-account order; bad ones fall between them.
          const order: ({ kind: 'good'; account: string; version: number } | { kind: 'bad'; data: string })[] = [];
          const pending = [...bads];
          const byAccount = goods.map((list) => [...list]);
          const coins = coin[Symbol.iterator]();
          while (byAccount.some((l) => l.length > 0) || pending.length > 0) {
            if (pending.length > 0 && (coins.next().value || byAccount.every((l) => l.length === 0))) order.push({ kind: 'bad', data: pending.shift()!.data });
            else {
              const list = byAccount.find((l) => l.length > 0)!;
              order.push({ kind: 'good', ...list.shift()! });
            }
          }
          const inputs = order.map((entry, index) =>
            entry.kind === 'good' ? good(entry.account, entry.version, String(1000 + index)) : { data: entry.data, sequenceNumber: String(1000 + index), shardId: SHARD },
          );
          const destination = new RecordingDestination('dest', mode);
          const deadLetters = new RecordingDeadLetterQueue();
          const consumer = new ChangeConsumer({ destination, ledger: new InMemoryLedger({ destination: 'dest', epoch: 'live' }), deadLetters, accountsTable: 'Accounts', clock: () => 1_800_000_000_000 });
          const batch = await consumer.consume(inputs);
          for (const list of goods) {
            const account = list[0]!.account;
            // latest-state may skip versions a later one of the batch supersedes; never the last, never out of order.
            const received = destination.versionsOf(account);
            if (mode === 'latest-state') expect(received.at(-1)).toBe(list.length);
            else expect(received).toEqual(list.map((g) => g.version));
            expect([...received].sort((a, b) => a - b)).toEqual(received);
          }
          expect(batch.failures).toEqual([]);
          const lettered = new Set(deadLetters.letters.filter((l) => l.reason === 'BAD_RECORD').map((l) => l.sequenceNumber ?? l.bad?.sequenceNumber));
          const disposed = new Set(batch.dispositions.map((d) => d.sequenceNumber));
          inputs.forEach((input, index) => {
            if (order[index]!.kind === 'bad') expect(lettered.has(input.sequenceNumber) || disposed.has(input.sequenceNumber)).toBe(true);
          });
          expect(batch.quarantined).toBe(batch.badRecords.length);
          // Stored means SQS takes it: a letter over 1 MiB would fail its record on every retry.
          for (const letter of deadLetters.letters) expect(Buffer.byteLength(encodeDeadLetter(letter))).toBeLessThan(MAX_SQS_PAYLOAD_BYTES);
        },
      ),
      { numRuns: 100 },
    );
  });
});
