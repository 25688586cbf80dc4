import { describe, expect, it } from 'vitest';
import {
  ALL_FAULTS,
  FAULTS,
  applyDestinationFaults,
  describeDestinationFaults,
  destinationFaultProfiles,
  parseDestinationFaults,
} from '../../local/standins/fault-spec';

describe('parseDestinationFaults', () => {
  it('reads destination:fault:rate items, with an @ms delay for slow', () => {
    const faults = parseDestinationFaults('search:429:0.1, search:403:0.05,fraud:throttle:0.1,fraud:partial:0.1,audit:503:0.1,fraud:slow:0.02@90000');
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
    const { rules } = parseDestinationFaults('all');
    const named = rules.map((rule) => `${rule.destination}:${rule.fault}`).sort();
    const every = Object.entries(FAULTS).flatMap(([destination, kinds]) => Object.keys(kinds).map((fault) => `${destination}:${fault}`));
    expect(named).toEqual(every.sort());
    for (const rule of rules) expect(rule.rate, `${rule.destination}:${rule.fault}`).toBeLessThanOrEqual(0.05);
    for (const rule of rules.filter((r) => r.fault === 'slow')) {
      expect(rule).toMatchObject({ rate: 0.01, delayMs: 20_000 });
      // Longer than the 10 s claim of an npm start fault run (run-pipeline's claimTtlSeconds default).
      expect(rule.delayMs).toBeGreaterThan(10_000);
    }
    expect(parseDestinationFaults('ALL')).toEqual(parseDestinationFaults(ALL_FAULTS));
  });

  it('lets a later item replace an earlier one for the same destination and fault, keeping the first position', () => {
    const { rules } = parseDestinationFaults('all,search:slow:0.5@2000');
    expect(rules.filter((rule) => rule.fault === 'slow' && rule.destination === 'search')).toEqual([
      { destination: 'search', fault: 'slow', rate: 0.5, delayMs: 2_000 },
    ]);
    expect(rules).toHaveLength(parseDestinationFaults('all').rules.length);
    expect(parseDestinationFaults('audit:503:0.1,audit:503:0').rules).toEqual([{ destination: 'audit', fault: '503', rate: 0 }]);
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
    expect(() => parseDestinationFaults(spec)).toThrow(RangeError);
    expect(() => parseDestinationFaults(spec)).toThrow(message);
  });
});

describe('destinationFaultProfiles and applyDestinationFaults', () => {
  it('builds each stand-in its profile, seeded, with defaults for slow', () => {
    const faults = parseDestinationFaults(
      'audit:503:0.1,audit:slow:0.2,search:429:0.1,search:403-item:0.2,search:flood-item:0.3,search:slow:0.01@5000,fraud:500:0.1,fraud:partial:0.2',
    );
    expect(destinationFaultProfiles(faults, { seed: 9 })).toEqual({
      audit: { seed: 9, slowDownRate: 0.1, slowRate: 0.2, slowMs: 90_000 },
      search: { seed: 9, throttleRate: 0.1, itemWriteBlockRate: 0.2, itemFloodStageRate: 0.3, slowRate: 0.01, slowMs: 5_000 },
      fraud: {
        seed: 9,
        callFailureRate: 0.1,
        callError: 'InternalException',
        entryFailureRate: 0.2,
        entryErrorCode: ['ThrottlingException', 'InternalFailure'],
      },
    });
  });

  it('sets only the stand-ins of destinations the spec names', () => {
    const calls: [string, unknown][] = [];
    const standIn = (name: string) => ({ setFaults: (profile: never) => void calls.push([name, profile]) });
    applyDestinationFaults(
      { s3Proxy: standIn('s3'), openSearch: standIn('openSearch'), eventBridge: standIn('eventBridge') },
      parseDestinationFaults('fraud:throttle:0.1,fraud:slow:0.02@1000'),
    );
    expect(calls).toEqual([['eventBridge', { seed: 1, throttleRate: 0.1, slowRate: 0.02, slowMs: 1_000 }]]);
  });
});

describe('describeDestinationFaults', () => {
  it('gives one line per fault with its rate and what the stand-in does', () => {
    expect(describeDestinationFaults(parseDestinationFaults('search:403-item:0.02,fraud:slow:0.015@90000,audit:slow:0.5@250'))).toEqual([
      'search 403-item 2%: _bulk items failing 403 cluster_block_exception (index write block)',
      'fraud slow 1.5%: PutEvents calls held 90 s before they are handled',
      'audit slow 50%: PutObject requests held 250 ms before they are handled',
    ]);
    expect(describeDestinationFaults(parseDestinationFaults('all'))).toHaveLength(parseDestinationFaults('all').rules.length);
  });
});
