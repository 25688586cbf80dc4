import { MAX_PARKED_BYTES_PER_WRITE, MAX_PARKED_RECORD_BYTES } from '../ordering/limits';
import { MAX_LEDGER_WRITE_ITEMS, type LedgerWrite } from '../ordering/ports';
import { parkedRecordBytes } from '../ordering/stored-image';

/** The engine keeps each write within DynamoDB's transaction limits; a bigger one is a bug, not a runtime condition. */
export function assertWithinLimit(write: LedgerWrite): void {
  const items = 1 + write.park.length + write.unpark.length;
  if (items > MAX_LEDGER_WRITE_ITEMS) {
    throw new RangeError(`a ledger write may touch ${MAX_LEDGER_WRITE_ITEMS} items, this one touches ${items}`);
  }
  let bytes = 0;
  for (const record of write.park) {
    const size = parkedRecordBytes(record, MAX_PARKED_RECORD_BYTES);
    if (size > MAX_PARKED_RECORD_BYTES) throw new RangeError(`a parked record may take ${MAX_PARKED_RECORD_BYTES} bytes, v${record.version} of ${record.accountId} takes ${size}`);
    bytes += size;
  }
  if (bytes > MAX_PARKED_BYTES_PER_WRITE) throw new RangeError(`a ledger write may carry ${MAX_PARKED_BYTES_PER_WRITE} bytes of parked records, this one carries ${bytes}`);
}
