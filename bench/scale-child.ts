import { contenderLabel } from './contenders';
import { serveRequests } from './child-host';
import { ScaleRun, scaleRow, type ScaleTotals } from './scale';
import { scaleRetained } from './scale-memory';
import type { ScaleReply, ScaleRequest, ScaleRunSpec } from './scale-pair';

/*
 * One size of a bench (d) row in a process of its own, bundled as the functions are (see `measureScalePair`).
 * BENCH_SCALE: the run (`ScaleRunSpec` as JSON). It answers one request at a time over IPC.
 */
let spec: ScaleRunSpec;
let run: ScaleRun;
const finished: ScaleTotals[] = [];

async function handle(request: ScaleRequest): Promise<ScaleReply> {
  switch (request.op) {
    case 'warm':
      await run.warm();
      return { op: 'warm' };
    case 'again':
      // A fresh engine and ledger over the same stream, its history given again (untimed).
      // The stream has ended, so the run has dropped its engine and generator; the next pass is measured from the same
      // empty heap as the first.
      finished.push(run.totals());
      run = new ScaleRun(spec.shape, spec.accounts, spec.records, spec.variant, { emptyHeap: run.emptyHeap });
      await run.warm();
      return { op: 'again' };
    case 'step':
      return { op: 'step', done: await run.step(request.batches) };
    case 'row': {
      const current = run.totals();
      const passes = current.inputs > 0 || finished.length === 0 ? [...finished, current] : finished;
      return { op: 'row', row: { ...scaleRow(spec.shape, spec.accounts, spec.records, contenderLabel(spec.variant), passes), ...scaleRetained(passes) } };
    }
  }
}

serveRequests(() => {
  spec = JSON.parse(process.env.BENCH_SCALE as string) as ScaleRunSpec;
  run = new ScaleRun(spec.shape, spec.accounts, spec.records, spec.variant);
}, handle);
