/**
 * Timing inside a local execution environment, never in the handler's code (like `crash-hooks.ts`): before the
 * handler module is imported, the worker wraps `DynamoDBLedger.prototype.load`, the ledger port the consumers build,
 * so the stage clock learns when an invocation had its batch's watermarks. The engine reads them once per batch, in
 * one `load` of all the batch's accounts, before it delivers anything; a later `load` of the same invocation is a
 * re-read after a lost conditional write, so only the first answer is the batch's. It is posted as it happens rather
 * than with the answer, so an environment that dies mid-batch still tells when it read. A load that throws marks
 * nothing: the batch never had its watermarks. The call and its answer are untouched.
 *
 * It relies on the handler importing the same module (one ESM instance per file URL, as in the pipeline); a bundled
 * handler carries its own copy, and then no mark arrives (the stage clock counts the stage as 0).
 */
import { DynamoDBLedger } from '../../shared/ledger/dynamodb-ledger';

/** The invocation whose batch read is still to come (one invocation at a time per environment). */
let awaiting: number | undefined;
let installed = false;

/** The invocation `id` is about to run: its first load answer is its batch read. */
export function watchInvocation(id: number): void {
  awaiting = id;
}

/** The invocation ended: a load answering now (work it left running) belongs to no batch. */
export function endInvocation(): void {
  awaiting = undefined;
}

/** Wraps `load` once per environment; `post` gets the invocation and the time its batch read answered. */
export function installLedgerReadMarks(post: (id: number, atMs: number) => void): void {
  if (installed) return;
  installed = true;
  const load = DynamoDBLedger.prototype.load;
  DynamoDBLedger.prototype.load = async function markedLoad(this: DynamoDBLedger, ...args: Parameters<typeof load>) {
    const asked = awaiting;
    const answer = await load.apply(this, args);
    if (asked !== undefined && asked === awaiting) {
      awaiting = undefined;
      post(asked, Date.now());
    }
    return answer;
  };
}
