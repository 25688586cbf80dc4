import { MAX_LEDGER_WRITE_ITEMS, type LedgerWrite } from '../ordering/ports';
/** The engine keeps each write within DynamoDB's transaction limit; a bigger one is a bug, not a runtime condition. */
export function assertWithinLimit(write: LedgerWrite): void {
  const items = 1 + write.park.length + write.unpark.length;
  if (items > MAX_LEDGER_WRITE_ITEMS) {
    throw new RangeError(`a ledger write may touch ${MAX_LEDGER_WRITE_ITEMS} items, this one touches ${items}`);
  }
}
