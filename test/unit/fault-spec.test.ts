import { describe, expect, it } from 'vitest';
import { ledgerQueue } from '../../destinations/ledger-queue';
import { applyDestinationFaults, endFaults } from '../../local/pipeline/faults';
import type { LocalStandIn } from '../../local/plugins/local-plugin';
import { BUILT_IN_DESTINATIONS, faultCatalog } from '../../local/plugins/local-destinations';
import { allFaults, describeDestinationFaults, faultProfile, parseDestinationFaults, type FaultRule } from '../../local/standins/fault-spec';

const BUILT_INS = faultCatalog();
const parse = (spec: string) => parseDestinationFaults(spec, BUILT_INS);
const kindsOf = (name: string) => BUILT_INS.get(name)?.kinds ?? {};

describe('parseDestinationFaults', () => {
  it('reads destination:fault:rate items, with an @ms delay for slow', () => {
    const faults = parse('search:429:0.1, search:403:0.05,fraud:throttle:0.1,fraud:partial:0.1,audit:503:0.1,fraud:slow:0.02@90000');
    expect(faults.rules).toEqual([
      { destination: 'search', fault: '429', rate: 0.1 },
      { destination: 'search', fault: '403', rate: 0.05 },
      { destination: 'fraud', fault: 'throttle', rate: 0.1 },
      { destination: 'fraud', fault: 'partial', rate: 0.1 },
      { destination: 'audit', fault: '503', rate: 0.1 },
      { destination: 'fraud', fault: 'slow', rate: 0.02, delayMs: 90_000 },
    ]);
  });

  it('expands all to every fault of every destination, at low rates, with slow requests outliving the 10 s claim of a fault run', () => {
    const { rules } = parse('all');
    const named = rules.map((rule) => `${rule.destination}:${rule.fault}`).sort();
    const every = [...BUILT_INS].flatMap(([destination, faults]) => Object.keys(faults?.kinds ?? {}).map((fault) => `${destination}:${fault}`));
    expect(named).toEqual(every.sort());
    for (const rule of rules) expect(rule.rate, `${rule.destination}:${rule.fault}`).toBeLessThanOrEqual(0.05);
    for (const rule of rules.filter((r) => r.fault === 'slow')) {
      expect(rule).toMatchObject({ rate: 0.01, delayMs: 20_000 });
      // Longer than the 10 s claim of an npm start fault run (run-pipeline's claimTtlSeconds default).
      expect(rule.delayMs).toBeGreaterThan(10_000);
    }
    expect(parse('ALL')).toEqual(parse(allFaults(BUILT_INS)));
    expect(allFaults(BUILT_INS)).toMatch(/^audit:503:0\.05,audit:slow:0\.01@20000,search:429:0\.05,.*,fraud:slow:0\.01@20000$/);
  });

  it('takes the run\'s destinations: all is their faults only, and a destination without profiles is refused with why', () => {
    // A plug-in whose local half declares no faults.
    const webhook = { name: 'webhook', local: { start: ledgerQueue.local!.start } };
    const run = faultCatalog([BUILT_IN_DESTINATIONS[0]!, webhook]);
    expect(new Set(parseDestinationFaults('all', run).rules.map((rule) => rule.destination))).toEqual(new Set(['audit']));
    expect(() => parseDestinationFaults('search:429:0.1', run)).toThrow(/names an unknown destination "search" \(audit\)/);
    expect(() => parseDestinationFaults('webhook:500:0.1', run)).toThrow(
      /names webhook, whose local stand-in has no fault profiles \(only audit have\); fault it with --fail, --crash-rate or --permanent-gap-rate/,
    );
    expect(() => parseDestinationFaults('all', faultCatalog([webhook]))).toThrow(/all: no destination of the run has fault profiles \(webhook\)/);
    // The fourth built-in declares SQS's faults through the same interface.
    const withQueue = faultCatalog([BUILT_IN_DESTINATIONS[0]!, ledgerQueue as (typeof BUILT_IN_DESTINATIONS)[number]]);
    expect(parseDestinationFaults('all', withQueue).rules.filter((rule) => rule.destination === 'ledger-queue').map((rule) => rule.fault)).toEqual([
      'throttle',
      '500',
      'partial',
      'slow',
    ]);
  });

  it('lets a later item replace an earlier one for the same destination and fault, keeping the first position', () => {
    const { rules } = parse('all,search:slow:0.5@2000');
    expect(rules.filter((rule) => rule.fault === 'slow' && rule.destination === 'search')).toEqual([
      { destination: 'search', fault: 'slow', rate: 0.5, delayMs: 2_000 },
    ]);
    expect(rules).toHaveLength(parse('all').rules.length);
    expect(parse('audit:503:0.1,audit:503:0').rules).toEqual([{ destination: 'audit', fault: '503', rate: 0 }]);
  });

  it.each([
    ['', /the spec is empty/],
    ['search:429:0.1,,fraud:throttle:0.1', /an empty item in "search:429:0.1,,fraud:throttle:0.1"/],
    ['search:429', /"search:429" is not destination:fault:rate/],
    ['search:429:0.1:x', /"search:429:0.1:x" is not destination:fault:rate/],
    ['serch:429:0.1', /"serch:429:0.1" names an unknown destination "serch" \(audit, search, fraud\)/],
    ['search:404:0.1', /"search:404:0.1" names an unknown search fault "404" \(403, 429, 503, 429-item, 403-item, flood-item, slow\)/],
    ['audit:throttle:0.1', /"audit:throttle:0.1" names an unknown audit fault "throttle" \(503, slow\)/],
    ['fraud:throttle:1.5', /"fraud:throttle:1.5" has a rate "1.5" that is not a number in 0..1/],
    ['fraud:throttle:-0.1', /has a rate "-0.1"/],
    ['fraud:throttle:', /"fraud:throttle:" has a rate "" that is not a number/],
    ['fraud:throttle:abc', /has a rate "abc"/],
    ['search:429:0.1@500', /"search:429:0.1@500" has an @ms delay, which only slow takes/],
    ['search:slow:0.1@', /"search:slow:0.1@" has a delay "@" that is not a whole number of milliseconds/],
    ['search:slow:0.1@1.5', /has a delay "@1.5"/],
    ['search:slow:0.1@5@6', /has a delay "@5@6"/],
  ])('refuses %j, naming the bad part', (spec, message) => {
    expect(() => parse(spec)).toThrow(RangeError);
    expect(() => parse(spec)).toThrow(message);
  });
});

describe('fault profiles and applying them', () => {
  it("builds each stand-in its profile from its own rules, seeded, with defaults for slow", () => {
    const { rules } = parse(
      'audit:503:0.1,audit:slow:0.2,search:429:0.1,search:403-item:0.2,search:flood-item:0.3,search:slow:0.01@5000,fraud:500:0.1,fraud:partial:0.2',
    );
    const of = (name: string) => faultProfile(kindsOf(name), rules.filter((rule) => rule.destination === name), 9);
    expect(of('audit')).toEqual({ seed: 9, slowDownRate: 0.1, slowRate: 0.2, slowMs: 90_000 });
    expect(of('search')).toEqual({ seed: 9, throttleRate: 0.1, itemWriteBlockRate: 0.2, itemFloodStageRate: 0.3, slowRate: 0.01, slowMs: 5_000 });
    expect(of('fraud')).toEqual({
      seed: 9,
      callFailureRate: 0.1,
      callError: 'InternalException',
      entryFailureRate: 0.2,
      entryErrorCode: ['ThrottlingException', 'InternalFailure'],
    });
    expect(faultProfile(kindsOf('audit'), [], 3)).toEqual({ seed: 3 });
  });

  it('sets only the stand-ins of destinations the spec names, and ends every fault when the outage is over', () => {
    const calls: [string, string, unknown][] = [];
    const standIn = (name: string, injects = true): { name: string; standIn: LocalStandIn } => ({
      name,
      standIn: {
        environment: {},
        readBack: async () => [],
        stop: async () => undefined,
        failCalls: (rate) => void calls.push([name, 'failCalls', rate]),
        ...(injects ? { injectFaults: (rules: readonly FaultRule[], seed: number) => void calls.push([name, 'injectFaults', { rules, seed }]) } : {}),
      },
    });
    const env = { destinations: [standIn('audit'), standIn('search'), standIn('fraud'), standIn('ledger-queue', false)] };
    applyDestinationFaults(env as never, parse('fraud:throttle:0.1,fraud:slow:0.02@1000'), 4);
    expect(calls).toEqual([
      ['fraud', 'injectFaults', { rules: [{ destination: 'fraud', fault: 'throttle', rate: 0.1 }, { destination: 'fraud', fault: 'slow', rate: 0.02, delayMs: 1_000 }], seed: 4 }],
    ]);
    calls.length = 0;
    endFaults(env as never);
    expect(calls).toEqual([
      ['audit', 'injectFaults', { rules: [], seed: 1 }],
      ['search', 'injectFaults', { rules: [], seed: 1 }],
      ['fraud', 'injectFaults', { rules: [], seed: 1 }],
      ['ledger-queue', 'failCalls', 0],
    ]);
  });
});

describe('describeDestinationFaults', () => {
  it('gives one line per fault with its rate and what the stand-in does', () => {
    expect(describeDestinationFaults(parse('search:403-item:0.02,fraud:slow:0.015@90000,audit:slow:0.5@250'), BUILT_INS)).toEqual([
      'search 403-item 2%: _bulk items failing 403 cluster_block_exception (index write block)',
      'fraud slow 1.5%: PutEvents calls held 90 s before they are handled',
      'audit slow 50%: PutObject requests held 250 ms before they are handled',
    ]);
    expect(describeDestinationFaults(parse('all'), BUILT_INS)).toHaveLength(parse('all').rules.length);
  });
});
