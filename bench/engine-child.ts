import { contenderFor, timed, type Contender } from './contenders';
import { loadBatches, type ContenderReply, type ContenderRequest } from './contender-process';
import { serveRequests } from './child-host';

/*
 * One contender of bench (a) in a process of its own, bundled as the functions are (see `ContenderProcess`).
 * BENCH_CONTENDER: pass-through or a mode's key; BENCH_BATCHES: the workload's batches (`saveBatches`). It answers
 * one request at a time over IPC and times only the batches it runs.
 */
const key = process.env.BENCH_CONTENDER as string;
const batches = loadBatches(process.env.BENCH_BATCHES as string);
let contender: Contender | undefined;
let spent = { ms: 0, cpuMs: 0 };

async function handle(request: ContenderRequest): Promise<ContenderReply> {
  switch (request.op) {
    case 'reset':
      contender = contenderFor(key);
      spent = { ms: 0, cpuMs: 0 };
      return { op: 'reset' };
    case 'chunk': {
      const running = contender as Contender;
      const { ms, cpuMs } = await timed(async () => {
        for (let index = request.from; index < request.to; index += 1) await running.step(batches[index] as (typeof batches)[number]);
      });
      spent = { ms: spent.ms + ms, cpuMs: spent.cpuMs + cpuMs };
      return { op: 'chunk', ms, cpuMs };
    }
    case 'result':
      return { op: 'result', result: (contender as Contender).result(spent) };
  }
}

serveRequests(() => {
  contender = contenderFor(key);
}, handle);
