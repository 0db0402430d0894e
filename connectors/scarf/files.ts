/**
 * Scarf files mode: the daily scheduled exports Scarf writes into the vendor's bucket (seed 001
 * "Daily Scheduled Exports"; source-apis.md §2.5), loaded into the same tables as the API streams.
 *
 * Object names [C]: `<events|company-rollups>-scarf-export-<start>-<end>.csv`, parts
 * `…-part-00000N.csv` [C: data-export.md mentions part files], first a header-only
 * `scarf-test.csv` [C]. Dates are `YYYY-MM-DD` and `<end>` is INCLUSIVE [G: a daily export names
 * its day twice, as the API's end_date does]; `.csv.gz` is accepted too [G].
 *
 *  - `events` files → table `<source>_events`, replace_window on the file's days, deduplicated on
 *    `id` (a changed export must take back the rows its old version had; see docs/files.md);
 *  - `company-rollups` files → `<source>_company_rollup` (+ `_history`), a snapshot dated by the
 *    export's end day.
 */
import type {
  CheckVerdict,
  FileUnit,
  ReadContext,
  RecordBatch,
  Source,
  StreamDefinition,
  StreamState,
  Window,
} from '../../src/core/contracts.js';
import { DataError, errorMessage } from '../../src/core/errors.js';
import { addDays, isoDate, parseIsoDate } from '../../src/core/time.js';
import { createObjectStore, type ObjectStore } from '../../src/files/index.js';
import { readUnit } from '../../src/files/read.js';
import { planFileUnits, type NameVerdict } from '../../src/files/units.js';
import { SNAPSHOT_FIELD } from './company-rollup.js';
import type { ScarfSourceConfig } from './config.js';
import { SCARF_COMPANY_ROLLUP_COLUMNS } from './dictionary-company.js';
import { SCARF_EVENT_COLUMNS } from './dictionary.js';

export const SCARF_TEST_FILE = 'scarf-test.csv';

/** `<kind>-scarf-export-<start>-<end>[-part-N].csv[.gz]` */
export const SCARF_EXPORT_NAME =
  /^(events|company-rollups)-scarf-export-(\d{4}-\d{2}-\d{2})-(\d{4}-\d{2}-\d{2})(?:-part-(\d+))?\.csv(?:\.gz)?$/;

export type ScarfExportKind = 'events' | 'company-rollups';

const EXPECTED = '<events|company-rollups>-scarf-export-<YYYY-MM-DD>-<YYYY-MM-DD>[-part-N].csv';

/** What one object name means for the stream reading `kind` exports. */
export function classifyScarfName(name: string, kind: ScarfExportKind): NameVerdict {
  if (name === SCARF_TEST_FILE) {
    return {
      kind: 'skip',
      level: 'info',
      reason: "Scarf's header-only test file (sent when the export was scheduled): skipped",
    };
  }
  const m = SCARF_EXPORT_NAME.exec(name);
  if (!m) {
    return { kind: 'skip', level: 'warn', reason: `not a Scarf export name (expected ${EXPECTED}): skipped` };
  }
  if (m[1] !== kind) return { kind: 'other' };
  let start: Date;
  let end: Date;
  try {
    start = parseIsoDate(m[2]!);
    end = parseIsoDate(m[3]!);
  } catch (err) {
    return { kind: 'skip', level: 'warn', reason: `malformed export name (${errorMessage(err)}): skipped` };
  }
  if (end < start) {
    return {
      kind: 'skip',
      level: 'warn',
      reason: `malformed export name (end ${m[3]} before start ${m[2]}): skipped`,
    };
  }
  const group = `${m[1]}-scarf-export-${m[2]}-${m[3]}`;
  const part = m[4] === undefined ? 0 : Number(m[4]);
  // events: every day of the export; a rollup is a snapshot of its last day
  const window: Window =
    kind === 'events' ? { from: start, to: addDays(end, 1) } : { from: end, to: addDays(end, 1) };
  return { kind: 'export', group, window, part, format: 'csv' };
}

interface FilesContext {
  store(): Promise<ObjectStore>;
  firstNotice(key: string): boolean;
  now(): Date;
}

function listUnitsFor(f: FilesContext, kind: ScarfExportKind, newestLast: boolean) {
  return async (state: StreamState | null, ctx: ReadContext): Promise<FileUnit[]> =>
    planFileUnits({
      store: await f.store(),
      state,
      classify: (name) => classifyScarfName(name, kind),
      log: ctx.log,
      now: f.now(),
      newestLast,
      firstNotice: f.firstNotice,
    });
}

function eventsFileStream(f: FilesContext): StreamDefinition {
  return {
    name: 'events',
    primaryKey: ['id'],
    cursorField: 'time',
    windowDays: 1,
    writeMode: 'replace_window',
    columns: SCARF_EVENT_COLUMNS,
    dynamicColumns: true,
    listUnits: listUnitsFor(f, 'events', false),
    async *read(_window: Window, ctx: ReadContext, unit?: FileUnit): AsyncIterable<RecordBatch> {
      yield* readUnit(await f.store(), unit, ctx, { stream: 'events', formatOf: () => 'csv' });
    },
    describe: (window: Window) =>
      `export files of ${isoDate(window.from)}..${isoDate(addDays(window.to, -1))} (no API request)`,
  };
}

function rollupFileStream(f: FilesContext): StreamDefinition {
  return {
    name: 'company_rollup',
    primaryKey: ['company_domain'],
    cursorField: SNAPSHOT_FIELD,
    windowDays: 1,
    writeMode: 'snapshot',
    history: true,
    columns: SCARF_COMPANY_ROLLUP_COLUMNS,
    dynamicColumns: true,
    listUnits: listUnitsFor(f, 'company-rollups', true),
    async *read(window: Window, ctx: ReadContext, unit?: FileUnit): AsyncIterable<RecordBatch> {
      const snapshotDate = isoDate(window.from);
      let source: string[] | undefined;
      let fields: string[] = [];
      // the rollup adds the snapshot field to every record: no pass-through
      for await (const batch of readUnit(
        await f.store(),
        unit,
        { ...ctx, csvPassThrough: undefined },
        {
          stream: 'company_rollup',
          formatOf: () => 'csv',
        },
      )) {
        if (batch.fields !== source) {
          if (batch.fields.includes(SNAPSHOT_FIELD)) {
            throw new DataError(
              `company_rollup: the export has a ${SNAPSHOT_FIELD} column; exportsync fills that column with the export's day (nothing committed; the connector needs an update)`,
              { stream: 'company_rollup', field: SNAPSHOT_FIELD },
            );
          }
          source = batch.fields;
          fields = [...batch.fields, SNAPSHOT_FIELD];
        }
        for (const record of batch.records) {
          while (record.length < source.length) record.push(null);
          record.push(snapshotDate);
        }
        yield { ...batch, fields };
      }
    },
    describe: (window: Window) => `company rollup export of ${isoDate(window.from)} (no API request)`,
  };
}

/** The Scarf source in files mode: `events` and `company_rollup` from the export bucket. */
export function createScarfFilesSource(
  config: ScarfSourceConfig,
  now: () => Date = () => new Date(),
): Source {
  const files = config.files;
  if (!files) throw new Error('scarf files mode without files.url (the config schema requires it)');
  let store: Promise<ObjectStore> | undefined;
  const noticed = new Set<string>();
  const f: FilesContext = {
    store: () => (store ??= createObjectStore(files)),
    firstNotice: (key) => !noticed.has(key) && noticed.add(key) !== undefined,
    now,
  };
  return {
    name: config.name ?? 'scarf',
    type: 'scarf',
    streams: [eventsFileStream(f), rollupFileStream(f)],
    /** Lists the location: proves the credentials and the bucket; counts the export files. */
    async check(): Promise<CheckVerdict> {
      const s = await f.store();
      const target = `scarf files (${s.location})`;
      try {
        const listing = await s.list();
        const exports = listing.filter((o) =>
          SCARF_EXPORT_NAME.test(o.key.slice(o.key.lastIndexOf('/') + 1)),
        );
        return {
          target,
          ok: true,
          message:
            listing.length === 0
              ? 'reachable, but empty: no export files yet'
              : `reachable: ${exports.length} export file(s) of ${listing.length} object(s)`,
        };
      } catch (err) {
        return { target, ok: false, message: errorMessage(err) };
      }
    },
  };
}
