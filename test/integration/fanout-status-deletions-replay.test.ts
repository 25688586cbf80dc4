import { describe, expect, it } from 'vitest';
import { reconcile } from '../../ops/commands/reconcile';
import { collectStatus, status } from '../../ops/commands/status';
import { scanUndeliveredDeletions, type UndeliveredDeletion } from '../../ops/commands/undelivered-deletions';
import { recordingIO } from '../../ops/io';
import type { AnyRuntimePlugin } from '../../ops/plugin-runtimes';
import { ledgerTarget } from '../support/ledger-target';

/** The one JSON document a command printed. */
function parsed<T = any>(io: { lines: string[] }): T {
  return JSON.parse(io.lines.join('\n')) as T;
}

describe('fanout status and reconcile on deleted accounts', () => {
  it('report a deletion a destination has not received: its watermark of the epoch is left, the account is gone, its last change is no REMOVE', async () => {
    const { target, account, watermark } = await ledgerTarget({ search: 'latest-state', fraud: 'in-order' });
    try {
      await account('kept', 3);
      await watermark('search', { accountId: 'kept', version: 3, lastKind: 'MODIFY' });
      await watermark('fraud', { accountId: 'kept', version: 3, lastKind: 'MODIFY' });
      // Deleted at v4, and both destinations got the tombstone.
      await watermark('search', { accountId: 'deleted-delivered', version: 4, lastKind: 'REMOVE' });
      await watermark('fraud', { accountId: 'deleted-delivered', version: 4, lastKind: 'REMOVE' });
      // Deleted at v4: search still holds v3's document, fraud got v2 only.
      await watermark('search', { accountId: 'deleted-pending', version: 3, lastKind: 'MODIFY' });
      await watermark('fraud', { accountId: 'deleted-pending', version: 2, lastKind: 'MODIFY' });
      // Another epoch's watermark (a replay run before) is not this epoch's concern.
      await watermark('search', { accountId: 'old-epoch', version: 2, lastKind: 'MODIFY' }, 'replay-0');

      const snapshot = await collectStatus(target, {});
      for (const name of ['search', 'fraud']) {
        expect(snapshot.destinations[name], name).toMatchObject({ accountsBehind: 0, deletionsNotDelivered: 1, deletionSamples: ['deleted-pending'], errors: [] });
      }
      const human = recordingIO();
      expect(await status(target, {}, human)).toBe(0);
      const header = human.lines.find((line) => line.startsWith('destination')) ?? '';
      expect(header).toMatch(/dead letters\s+deletions\s+consumer arn/);
      expect(human.lines.find((line) => line.startsWith('search '))).toMatch(/\s0\s+1\s+arn:search$/);
      expect(human.lines).toContain('search: 1 deletion not delivered (the account is gone from the table, its last change here is no REMOVE): deleted-pending');

      const json = recordingIO(true);
      expect(await reconcile(target, {}, json)).toBe(1);
      const doc = parsed(json);
      expect(doc.destinations.search).toMatchObject({
        inSync: false,
        lagging: [],
        missing: [],
        deletionsNotDelivered: [{ accountId: 'deleted-pending', watermark: 3, lastKind: 'MODIFY' }],
      });
      expect(doc.destinations.fraud.deletionsNotDelivered).toEqual([{ accountId: 'deleted-pending', watermark: 2, lastKind: 'MODIFY' }]);

      const text = recordingIO();
      expect(await reconcile(target, { destination: 'fraud' }, text)).toBe(1);
      const out = text.lines.join('\n');
      expect(out).toMatch(/^fraud\s+in-order\s+live\s+1\s+0\s+0\s+1\s+-\s+OUT OF SYNC$/m);
      expect(out).toContain('fraud: 1 deletions not delivered (gone from the table; the watermark\'s last change is no REMOVE)\n  deleted-pending  watermark v2 (MODIFY)');
      expect(text.lines.at(-1)).toBe('RESULT: OUT OF SYNC');
    } finally {
      await target.close();
    }
  });

  it('counts every undelivered deletion past one page of lookups, and shows a few', async () => {
    const { target, watermark } = await ledgerTarget({ search: 'latest-state' });
    try {
      const ids = Array.from({ length: 130 }, (_, i) => `gone-${String(i).padStart(3, '0')}`);
      for (const accountId of ids) await watermark('search', { accountId, version: 2, lastKind: i(accountId) % 2 === 0 ? 'MODIFY' : undefined });
      const snapshot = await collectStatus(target, {});
      // Half record their last change (MODIFY: not delivered); half do not (unverified, listed apart).
      expect(snapshot.destinations.search?.deletionsNotDelivered).toBe(65);
      expect(snapshot.destinations.search?.deletionsUnverified).toBe(65);
      expect(snapshot.destinations.search?.deletionSamples).toHaveLength(5);

      const json = recordingIO(true);
      expect(await reconcile(target, { segments: 2 }, json)).toBe(1);
      const doc = parsed(json).destinations.search;
      const listed = [...doc.deletionsNotDelivered, ...doc.deletionsUnverified] as { accountId: string }[];
      expect(listed.map((entry) => entry.accountId).sort()).toEqual(ids);
      expect(doc.deletionsUnverified.map((entry: { accountId: string }) => entry.accountId)).toContain('gone-001');

      const text = recordingIO();
      expect(await reconcile(target, {}, text)).toBe(1);
      expect(text.lines.join('\n')).toMatch(/deletions unverified .*\n  gone-\d{3}  watermark v2/);
      expect(text.lines).toContain('  … and 45 more (--json lists them all)');
    } finally {
      await target.close();
    }
  });
});

describe('deletions the ledger cannot confirm', () => {
  it('are listed apart and do not put a destination out of sync: an every-version watermark moved onto its last version over versions delivered earlier', async () => {
    const { target, watermark } = await ledgerTarget({ audit: 'every-version' });
    try {
      await watermark('audit', { accountId: 'gone-ahead', version: 5, lastKind: undefined });
      const snapshot = await collectStatus(target, {});
      expect(snapshot.destinations.audit).toMatchObject({ deletionsNotDelivered: 0, deletionsUnverified: 1 });

      const json = recordingIO(true);
      expect(await reconcile(target, {}, json)).toBe(0);
      expect(parsed(json).destinations.audit).toMatchObject({ deletionsNotDelivered: [], deletionsUnverified: [{ accountId: 'gone-ahead', watermark: 5 }], inSync: true });
    } finally {
      await target.close();
    }
  });
});

describe('the ledger scan for undelivered deletions', () => {
  it('hands over a page at a time, never more than a page of watermarks, and looks up more than 100 accounts of one page', async () => {
    const { target, account, watermark } = await ledgerTarget({ search: 'latest-state', fraud: 'in-order' });
    try {
      const gone = Array.from({ length: 130 }, (_, i) => `gone-${i}`);
      for (const accountId of gone) await watermark('search', { accountId, version: 2, lastKind: 'MODIFY' });
      for (let i = 0; i < 20; i += 1) {
        await account(`here-${i}`, 2);
        await watermark('search', { accountId: `here-${i}`, version: 1, lastKind: 'INSERT' });
      }
      // Fraud is not asked for: its watermark of a gone account is not read.
      await watermark('fraud', { accountId: 'gone-0', version: 1, lastKind: 'INSERT' });
      for (const [segments, pageItems] of [[1, 1000], [2, 7]] as const) {
        const calls: (readonly UndeliveredDeletion[])[] = [];
        await scanUndeliveredDeletions(target, [{ destination: 'search', epoch: 'live' }], { segments, pageItems, onFound: (found) => void calls.push(found) });
        expect(calls.every((found) => found.length <= pageItems)).toBe(true);
        const found = calls.flat();
        expect(found.map((entry) => entry.accountId).sort()).toEqual([...gone].sort());
        expect(found.every((entry) => entry.destination === 'search' && entry.watermark === 2)).toBe(true);
        if (segments === 1) expect(calls).toHaveLength(1);
      }
    } finally {
      await target.close();
    }
  });
});

describe('fanout status and reconcile on a replay epoch', () => {
  const from = '2026-03-01T00:00:00.000Z';
  const before = '2026-02-27T12:00:00.000Z';
  const after = '2026-03-01T00:05:00.000Z';

  it("count accounts unchanged since the replay's start apart: they are not part of the replay, not missing", async () => {
    const { target, account, watermark } = await ledgerTarget({
      audit: 'every-version',
      search: { mode: 'latest-state', epoch: 'replay-1', environment: async () => ({ EPOCH_REPLAY_FROM: from }) },
    });
    try {
      await account('unchanged', 5, before);
      await account('changed', 6, after);
      await account('started', 7, after);
      await watermark('search', { accountId: 'started', version: 7, floor: 5, lastKind: 'MODIFY' });
      // No updated_at: nothing tells when it last changed, so it stays missing.
      await account('no-time', 2);
      for (const accountId of ['unchanged', 'changed', 'started', 'no-time']) await watermark('audit', { accountId, version: 9 });

      const snapshot = await collectStatus(target, {});
      expect(snapshot.destinations.search).toMatchObject({ epoch: 'replay-1', replayFrom: from, accountsBehind: 2, versionsBehind: 8, unchangedSinceReplayStart: 1, errors: [] });
      // The live epoch has no window: its accounts are never "unchanged since the start".
      expect(snapshot.destinations.audit).toMatchObject({ replayFrom: null, unchangedSinceReplayStart: 0 });

      const human = recordingIO();
      expect(await status(target, { destination: 'search' }, human)).toBe(0);
      expect(human.lines).toContain(`search: 1 account unchanged since the replay's start (${from}): not part of the replay epoch replay-1, not counted as behind`);

      const json = recordingIO(true);
      expect(await reconcile(target, { destination: 'search' }, json)).toBe(1);
      const search = parsed(json).destinations.search;
      expect(search.missing).toEqual(expect.arrayContaining([{ accountId: 'changed', version: 6 }, { accountId: 'no-time', version: 2 }]));
      expect(search.missing).toHaveLength(2);
      expect(search).toMatchObject({ replayFrom: from, unchangedSinceReplayStart: { count: 1, sample: ['unchanged'] } });

      const text = recordingIO();
      expect(await reconcile(target, { destination: 'search' }, text)).toBe(1);
      expect(text.lines).toContain(`search: 1 account unchanged since the replay's start (${from}): not part of the replay, not missing; e.g. unchanged`);
    } finally {
      await target.close();
    }
  });

  it("is in sync when the replay owes nothing: every account without a watermark predates the window", async () => {
    const { target, account } = await ledgerTarget({
      search: { mode: 'latest-state', epoch: 'replay-2', environment: async () => ({ EPOCH_REPLAY_FROM: from }) },
    });
    try {
      await account('a', 3, before);
      await account('b', 1, before);
      const json = recordingIO(true);
      expect(await reconcile(target, {}, json)).toBe(0);
      expect(parsed(json).destinations.search).toMatchObject({ inSync: true, missing: [], unchangedSinceReplayStart: { count: 2 } });
    } finally {
      await target.close();
    }
  });

  // The search runbook after a wiped index: replay, then `reconcile --contents --repair` writes back what the replay
  // does not. An account the replay owes nothing is still compared with the index, and so still repaired.
  it('still compares the contents of accounts unchanged since the start, so --repair writes them back', async () => {
    const { target, account } = await ledgerTarget({
      search: { mode: 'latest-state', epoch: 'replay-4', environment: async () => ({ EPOCH_REPLAY_FROM: from }) },
    });
    try {
      await account('wiped', 3, before);
      const emptyIndex = {
        readSettings: () => ({}),
        reconcileReader: () => ({ read: async () => null, close: () => undefined }),
      } as unknown as AnyRuntimePlugin;
      const json = recordingIO(true);
      expect(await reconcile(target, { contents: true, runtimes: { search: emptyIndex } }, json)).toBe(1);
      expect(parsed(json).destinations.search).toMatchObject({
        missing: [],
        unchangedSinceReplayStart: { count: 1, sample: ['wiped'] },
        contents: { checked: true, mismatched: [{ accountId: 'wiped', version: 3, found: null }] },
      });
    } finally {
      await target.close();
    }
  });

  it("says so when the replay's start cannot be read, and counts its accounts as before", async () => {
    const { target, account } = await ledgerTarget({
      search: { mode: 'latest-state', epoch: 'replay-3', environment: async () => Promise.reject(new Error('AccessDenied: lambda:GetFunctionConfiguration')) },
    });
    try {
      await account('a', 3, before);
      const io = recordingIO(true);
      expect(await status(target, {}, io)).toBe(1);
      const row = parsed(io).destinations.search;
      expect(row).toMatchObject({ accountsBehind: 1, replayFrom: null, unchangedSinceReplayStart: null });
      expect(row.errors.join('\n')).toContain("replay's start (function environment): Error: AccessDenied");
    } finally {
      await target.close();
    }
  });
});

function i(accountId: string): number {
  return Number(accountId.slice(-3));
}
