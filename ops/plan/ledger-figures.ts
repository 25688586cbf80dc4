import type { DeliveryMode } from '../../shared/ordering/delivery-mode';

/** Where the measured figures come from. */
export const LEDGER_SOURCE = 'bench (b), bench/results.json, 2026-12-03';
/** Versions per account per batch in the bench's hot workload (20 batches of 100 records over 10 accounts). */
export const HOT_VERSIONS = 10;
/** ... and in its cold one (20 batches of 100 records over 100 accounts). */
export const COLD_VERSIONS = 1;
/**
 * Claimed batches before an account has its home, per record, in the bench's workloads (each account's first two
 * batches; hot: 10 accounts over 2,000 records; cold: 100 over 2,000). The measured figures include them: a variant
 * with `firstTouchWrites` pays that many extra writes in each of them.
 */
export const BENCH_FIRST_TOUCH = { hot: (2 * 10) / 2_000, cold: (2 * 100) / 2_000 } as const;

export type LedgerVariant = 'everyVersion' | 'latestState' | 'latestStateEnforced' | 'inOrderPerBatch' | 'inOrderHomeLanes' | 'inOrderPerVersion';

export interface LedgerFigure {
  readonly label: string;
  readonly mode: DeliveryMode;
  /** Part of the engine's default settings. */
  readonly isDefault: boolean;
  /** DynamoDB item writes per input record at `HOT_VERSIONS` versions per account per batch. */
  readonly hot: number;
  /** ... at `COLD_VERSIONS`. */
  readonly cold: number;
  /** Extra writes in each of an account's first two batches (home lanes: the claims; the second homes it). */
  readonly firstTouchWrites: number;
  /** What the writes are, in words. */
  readonly why: string;
}

/**
 * Ledger item writes per record, measured by the bench on DynamoDB Local over a new account's first 20 batches
 * (`ledger.{hot,cold}.newAccounts`: its first two claimed batches included, which the formula takes out again).
 */
export const LEDGER_FIGURES: Readonly<Record<LedgerVariant, LedgerFigure>> = {
  everyVersion: { label: 'every-version', mode: 'every-version', isDefault: true, hot: 0.1, cold: 1.0, firstTouchWrites: 0, why: 'one watermark write per account per batch (≈ 1/v)' },
  latestState: { label: 'latest-state', mode: 'latest-state', isDefault: true, hot: 0.1, cold: 1.0, firstTouchWrites: 0, why: 'one watermark write per account per batch (≈ 1/v)' },
  latestStateEnforced: {
    label: 'latest-state (destination-enforced)', mode: 'latest-state', isDefault: false, hot: 0, cold: 0, firstTouchWrites: 0, why: 'no ledger: the destination refuses stale versions',
  },
  inOrderPerBatch: {
    label: 'in-order (per-batch, claims only)', mode: 'in-order', isDefault: false, hot: 0.2, cold: 2.0, firstTouchWrites: 0, why: 'claim + commit per account per batch (≈ 2/v)',
  },
  inOrderHomeLanes: {
    label: 'in-order (per-batch, home lanes)', mode: 'in-order', isDefault: true, hot: 0.11, cold: 1.1, firstTouchWrites: 1, why: 'one commit per account per batch on its home lane (≈ 1/v), + a claim in each of its first two batches',
  },
  inOrderPerVersion: {
    label: 'in-order (per-version)', mode: 'in-order', isDefault: false, hot: 1.1, cold: 2.0, firstTouchWrites: 0, why: 'a commit per version + a claim per account per batch (≈ 1 + 1/v)',
  },
};

/** The variant each delivery mode runs with by default. */
export const DEFAULT_VARIANT: Readonly<Record<DeliveryMode, LedgerVariant>> = {
  'every-version': 'everyVersion',
  'latest-state': 'latestState',
  'in-order': 'inOrderHomeLanes',
};

export const INTERPOLATION_FORMULA =
  'writes/record = h + (c − h)·(1/v − 1/10)/(1 − 1/10) + t·f: linear in 1/v through the measured cold (v = 1) and hot (v = 10) ' +
  'points net of their first batches (h = hot − t·0.01, c = cold − t·0.1), t = extra writes in each of an account\'s first two batches, f = such batches per record';

/**
 * Ledger writes per record at `v` versions per account per batch and `firstTouch` claimed first batches per record: linear in
 * 1/v through the two measured points (net of the bench's own first batches), so a per-account-per-batch write
 * (every-version, latest-state: 1/v; in-order per-batch: 2/v) is reproduced exactly and a per-version write (in-order
 * per-version) shows as the constant part. With the bench's `v` and first batches it returns the measured figures.
 */
export function ledgerWritesPerRecord(figure: LedgerFigure, versionsPerAccountPerBatch: number, firstTouch: number): number {
  const v = Math.max(COLD_VERSIONS, versionsPerAccountPerBatch);
  const hot = figure.hot - figure.firstTouchWrites * BENCH_FIRST_TOUCH.hot;
  const cold = figure.cold - figure.firstTouchWrites * BENCH_FIRST_TOUCH.cold;
  const x = (1 / v - 1 / HOT_VERSIONS) / (1 / COLD_VERSIONS - 1 / HOT_VERSIONS);
  return Math.max(0, hot + (cold - hot) * x) + figure.firstTouchWrites * firstTouch;
}
