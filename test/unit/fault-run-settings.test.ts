import { describe, expect, it } from 'vitest';
import { faultOverrides, faultSettings } from '../../local/pipeline/fault-run';
import { gapAgeSetBy } from '../../local/start-options';

const DESTINATIONS = [
  { name: 'audit', mode: 'every-version' as const },
  { name: 'search', mode: 'latest-state' as const },
  { name: 'fraud', mode: 'in-order' as const },
  { name: 'ledger-queue', mode: 'in-order' as const },
];

describe("a fault run's short gap age and claim", () => {
  it('is no fault run without faults', () => {
    expect(faultSettings({})).toBeUndefined();
    expect(faultOverrides(undefined, DESTINATIONS)).toEqual({});
  });

  it('shortens every destination but one whose configuration sets its own gap age', () => {
    const fault = faultSettings({ crashRate: 0.05, gapAgeFromConfig: ['fraud'] });
    expect(faultOverrides(fault, DESTINATIONS)).toEqual({
      audit: { MAX_GAP_AGE_SECONDS: '10' },
      search: { MAX_GAP_AGE_SECONDS: '10' },
      fraud: { CLAIM_TTL_SECONDS: '10' },
      'ledger-queue': { MAX_GAP_AGE_SECONDS: '10', CLAIM_TTL_SECONDS: '10' },
    });
  });

  it('reads which destinations a configuration file gives a gap age, plug-ins included', () => {
    expect(gapAgeSetBy(undefined)).toEqual([]);
    expect(gapAgeSetBy({ destinations: { audit: { batchSize: 10 }, fraud: { maxGapAgeSeconds: 60 } } })).toEqual(['fraud']);
    expect(gapAgeSetBy({ plugins: { 'ledger-queue': { settings: { maxGapAgeSeconds: 30 } }, other: { options: {} } } })).toEqual(['ledger-queue']);
    expect(gapAgeSetBy({ destinations: [1], plugins: 'x' })).toEqual([]);
  });
});
