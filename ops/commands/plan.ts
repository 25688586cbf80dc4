import type { CommandIO } from '../io';
import { formatPlan, formatSimulation } from '../plan/format';
import { plan, type PlanInputs } from '../plan/plan';
import { simulate } from '../plan/simulate';

export interface PlanCommandOptions {
  readonly writesPerSecond: number;
  readonly accounts: number;
  readonly itemBytes: number;
  /** Names of destinations that ship with the package (built-in or plug-in) or are in `runtimes`. @default the built-ins (the default stack's) */
  readonly destinations?: readonly string[];
  /** Runtime halves of plug-ins of your own app, by name (`--runtime <module>`). */
  readonly runtimes?: PlanInputs['runtimes'];
  readonly replayDays?: number;
  /** Assumed Lambda time per batch, milliseconds. */
  readonly batchMs?: number;
  readonly simulate?: boolean;
}

/** `fanout plan`: what to deploy for a load, what it costs per month, and the first limit it hits. Exit code 0. */
export async function planCommand(options: PlanCommandOptions, io: CommandIO): Promise<number> {
  const result = await plan({
    writesPerSecond: options.writesPerSecond,
    accounts: options.accounts,
    itemBytes: options.itemBytes,
    ...(options.destinations ? { destinations: options.destinations } : {}),
    ...(options.runtimes ? { runtimes: options.runtimes } : {}),
    ...(options.replayDays !== undefined ? { replayDays: options.replayDays } : {}),
    ...(options.batchMs !== undefined ? { batchSeconds: options.batchMs / 1000 } : {}),
  });
  const simulation = options.simulate ? await simulate(result) : undefined;
  if (io.json) {
    io.out(JSON.stringify({ plan: result, ...(simulation ? { simulation } : {}) }, (_key, value: unknown) => (value === Infinity ? null : value), 2));
  } else {
    for (const text of formatPlan(result)) io.out(text);
    if (simulation) for (const text of formatSimulation(simulation)) io.out(text);
  }
  return simulation && simulation.variants.some((entry) => !entry.withinTolerance) ? 1 : 0;
}
