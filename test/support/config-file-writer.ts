/**
 * A writer of the configuration file for `replay-apply-race.test.ts`, run as its own process: `count` read-modify-write
 * increments of `counter` in the JSON file `file`, each planned against what it read and retried when refused. Prints
 * how many it wrote.
 */
import { ConfigFileChangedError, ConfigFileLockedError, readConfigFileSnapshot, replaceConfigFile } from '../../infra/config/config-file-write';

const [file, countText] = process.argv.slice(2);
if (file === undefined || countText === undefined) throw new Error('usage: config-file-writer <file> <count>');
const count = Number(countText);
let written = 0;
for (let attempt = 0; written < count; attempt += 1) {
  if (attempt > 200_000) throw new Error(`gave up after ${attempt} attempts (${written} written)`);
  const snapshot = readConfigFileSnapshot(file);
  const { counter } = JSON.parse(snapshot.text ?? '{"counter":0}') as { counter: number };
  try {
    replaceConfigFile(snapshot, `${JSON.stringify({ counter: counter + 1 })}\n`);
    written += 1;
  } catch (error) {
    if (!(error instanceof ConfigFileChangedError || error instanceof ConfigFileLockedError)) throw error;
    // Let the other process run before reading again.
    await new Promise((resolve) => setImmediate(resolve));
  }
}
process.stdout.write(String(written));
