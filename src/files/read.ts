/**
 * Reading the objects of one file unit as record batches, part after part, with the existing
 * streaming readers (CSV: src/http/csv.ts readCsv; JSON: readJsonArray). Errors name the object.
 */
import type { FileUnit, ReadContext, RecordBatch } from '../core/contracts.js';
import { DataError, ExportSyncError } from '../core/errors.js';
import { readCsv } from '../http/csv.js';
import { readJsonArray } from '../http/json.js';
import { openObject } from './stream.js';
import type { ObjectStore } from './types.js';
import { unitKeys } from './units.js';

export interface ReadUnitOptions {
  stream: string;
  /** Format of one key (by its name). */
  formatOf(key: string): 'csv' | 'json';
}

export async function* readUnit(
  store: ObjectStore,
  unit: FileUnit | undefined,
  ctx: ReadContext,
  o: ReadUnitOptions,
): AsyncIterable<RecordBatch> {
  if (!unit) {
    throw new DataError(
      `${o.stream}: a file stream reads export files only (no unit given for this window)`,
      {
        stream: o.stream,
      },
    );
  }
  for (const key of unitKeys(unit)) {
    const uri = store.uri(key);
    const body = openObject(store, key);
    const opts = { batchRows: ctx.batchRows, stream: o.stream, passThrough: ctx.csvPassThrough };
    let rows = 0;
    try {
      const batches = o.formatOf(key) === 'json' ? readJsonArray(body, opts) : readCsv(body, opts);
      for await (const batch of batches) {
        rows += batch.csv?.rows ?? batch.records.length;
        yield batch;
      }
    } catch (err) {
      if (err instanceof ExportSyncError && !err.message.includes(uri)) {
        // keep the class (retryable or not), add the object
        err.message = `${uri}: ${err.message}`;
      }
      throw err;
    }
    ctx.log.debug({ object: uri, rows }, 'export file read');
  }
}
