import { describe, expect, it } from 'vitest';
import { DESTINATION_NAMES } from '../../infra/config/pipeline-config';
import { buildReportData, deliveredAt, histogram, MAX_BUCKETS } from '../../local/report/report-data';
import { inlineJson, renderReportHtml, chartIds } from '../../local/report/report-html';
import { reportFixture, T0 } from '../support/report-fixture';

describe('report data', () => {
  it('is a pure function of the run', () => {
    expect(buildReportData(reportFixture())).toEqual(buildReportData(reportFixture()));
  });

  it('buckets per second from the first commit, with the verdict and every destination', () => {
    const data = buildReportData(reportFixture());
    expect(data.verdict.ok).toBe(true);
    expect(data.verdict.headline).toMatch(/^OK/);
    expect(data.bucketSeconds).toBe(1);
    expect(data.t[0]).toBe(0);
    // Last commit at +9.66 s, last delivery at most 1.4 s later.
    expect(data.t.length).toBeGreaterThanOrEqual(11);
    expect(data.t.length).toBeLessThanOrEqual(13);
    // Every change committed is counted once.
    expect(data.committed.reduce((a, b) => a + b, 0)).toBe(30);
    for (const name of DESTINATION_NAMES) {
      const d = data.destinations[name];
      for (const series of [d.throughput, d.lag, d.latencyOverTime.p50, d.latencyOverTime.p99]) expect(series).toHaveLength(data.t.length);
      expect(d.histogram.counts.reduce((a, b) => a + b, 0)).toBe(d.latency.samples);
      expect(d.throughput.reduce((a, b) => a + b, 0)).toBe(d.summary.delivered);
      // Every change was delivered in the end: no lag left.
      expect(d.lag.at(-1)).toBe(0);
      expect(Math.max(...d.lag)).toBeGreaterThan(0);
      expect(d.latency.p50).toBeGreaterThanOrEqual(200);
      // search waits for the successor of a skipped version (committed about 1 s later).
      expect(d.latency.max).toBeLessThanOrEqual(name === 'search' ? 3_000 : 1400);
      expect(d.stages?.samples).toBe(12);
    }
    // search is measured as freshness: the skipped versions count, served by their successors.
    expect(data.destinations.search.latency.samples).toBe(30);
    expect(data.faults.events.map((e) => [e.at, e.destination])).toEqual([[4, 'fraud'], [6.5, 'audit']]);
    expect(data.faults.counts).toContainEqual({ destination: 'bridge', kind: 'duplicates put', count: 2 });
    expect(data.phases.map((p) => p.label)).toEqual(['workload starts', 'workload done', 'converged']);
  });

  it('names the failing destinations and their dead letters and parked records', () => {
    const data = buildReportData(reportFixture({ ok: false }));
    expect(data.verdict).toMatchObject({ ok: false, failing: ['fraud'] });
    expect(data.verdict.headline).toContain('fraud');
    expect(data.destinations.fraud.parked).toEqual({ total: 4, waitingAccounts: 1, byReason: { 'waiting for a missing earlier version': 4 } });
    expect(data.destinations.fraud.deadLetters.leftInQueue).toBe(2);
  });

  it('widens the buckets of a long run instead of growing', () => {
    const input = reportFixture();
    const long = { ...input, timeline: { ...input.timeline, events: [...input.timeline.events, { atMs: T0 + 3_600_000, destination: 'audit' as const, kind: 'crash after-batch' }] } };
    const data = buildReportData(long);
    expect(data.t.length).toBeLessThanOrEqual(MAX_BUCKETS);
    expect(data.bucketSeconds).toBeGreaterThan(1);
    expect(data.committed.reduce((a, b) => a + b, 0) * data.bucketSeconds).toBeCloseTo(30, -1);
  });

  it('freshness: a version is held once it or a newer one is', () => {
    const changes = [1, 2, 3].map((version) => ({ accountId: 'a', version, createdAtMicros: (T0 + version * 100) * 1000 }));
    const held = deliveredAt(changes, [{ accountId: 'a', version: 1, at: T0 + 500 }, { accountId: 'a', version: 3, at: T0 + 700 }], true);
    expect([...held.entries()]).toEqual([['a#1', T0 + 500], ['a#2', T0 + 700], ['a#3', T0 + 700]]);
  });

  it('histogram bins by upper edge, the last one open', () => {
    expect(histogram([5, 10, 11, 5_000_000], [10, 100, Infinity])).toEqual({ edges: [10, 100, -1], counts: [2, 1, 1] });
  });
});

describe('report html', () => {
  it('inlines the data so that no text can close the script element', () => {
    expect(inlineJson({ text: '</script><script>alert(1)</script>' })).not.toMatch(/<\/script/i);
    const hostile = '</script><img src=x onerror=alert(1)>';
    const html = renderReportHtml(buildReportData(reportFixture({ hostileText: hostile })));
    expect(html).not.toContain(hostile);
    expect(JSON.parse(html.match(/<script id="report-data" type="application\/json">(.*?)<\/script>/s)![1]!)).toMatchObject({
      faults: { described: [hostile] },
    });
  });

  it('is self-contained and small: no external script, stylesheet or fetch', () => {
    const html = renderReportHtml(buildReportData(reportFixture()));
    expect(html).not.toMatch(/<script[^>]+src=/i);
    expect(html).not.toMatch(/<link[^>]+href=/i);
    expect(html).toContain('uPlot');
    for (const id of chartIds()) expect(html).toContain(`id="${id}"`);
    expect(Buffer.byteLength(html)).toBeLessThan(2 * 1024 * 1024);
  });
});
