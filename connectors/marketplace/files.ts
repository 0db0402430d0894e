/**
 * Marketplace files mode: the weekly and monthly report files the marketplace e-mails (seed 002,
 * "Scheduled Report Emails": weekly on Monday for the prior 7 days, monthly on the 1st for the
 * prior calendar month; one dataset per report, CSV or JSON [C]), saved by the team to a bucket or
 * folder, loaded into the same tables as the API streams.
 *
 * The attachments' file names are NOT documented [G], so the name pattern is configurable
 * (`files.name_pattern`, default `{dataset}-{start}-{end}`, extension `.csv` or `.json`, optionally
 * `.gz`): `{dataset}` is the dataset (`install_events`, or its display name such as `Install
 * events`: lower-cased, spaces and hyphens become `_`), `{start}`/`{end}` are `YYYY-MM-DD` with
 * `{end}` INCLUSIVE (a weekly report names its 7 days), `*` matches anything.
 *
 * Every dataset commits as replace_window over the report's days: a report is the whole dataset
 * for its period, so a re-saved (changed) report takes back what its old version had, and a
 * monthly report over weekly ones (or the reverse) never doubles the keyless datasets.
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
import { errorMessage } from '../../src/core/errors.js';
import { addDays, isoDate, parseIsoDate } from '../../src/core/time.js';
import { createObjectStore, type ObjectStore } from '../../src/files/index.js';
import { readUnit } from '../../src/files/read.js';
import { planFileUnits, type NameVerdict } from '../../src/files/units.js';
import type { MarketplaceSourceConfig } from './config.js';
import { DATASETS, type DatasetSpec } from './dictionary.js';

export const DEFAULT_NAME_PATTERN = '{dataset}-{start}-{end}';

const DATE = '(\\d{4}-\\d{2}-\\d{2})';

/** The file-name regex of a pattern: groups dataset, start, end; extension csv|json, optional .gz. */
export function namePattern(template: string): RegExp {
  let source = '';
  const names: string[] = [];
  for (const token of template.split(/(\{dataset\}|\{start\}|\{end\}|\*)/)) {
    if (token === '{dataset}') {
      names.push('dataset');
      source += '([A-Za-z0-9 _-]+?)';
    } else if (token === '{start}' || token === '{end}') {
      names.push(token.slice(1, -1));
      source += DATE;
    } else if (token === '*') source += '.*?';
    else source += token.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  }
  for (const required of ['dataset', 'start', 'end']) {
    if (!names.includes(required)) throw new Error(`name_pattern needs {${required}}`);
  }
  const re = new RegExp(`^${source}\\.(csv|json)(?:\\.gz)?$`, 'i');
  // remember which capture is which
  return Object.assign(re, { groupsOrder: names });
}

export const normaliseDataset = (name: string): string =>
  name
    .trim()
    .toLowerCase()
    .replace(/[\s-]+/g, '_');

/** What one report file name means for the stream of `dataset`. */
export function classifyReportName(name: string, pattern: RegExp, dataset: string): NameVerdict {
  const m = pattern.exec(name);
  const order = (pattern as RegExp & { groupsOrder: string[] }).groupsOrder;
  if (!m) {
    return {
      kind: 'skip',
      level: 'warn',
      reason: `file name does not match files.name_pattern (${pattern.source}): skipped`,
    };
  }
  const get = (g: string) => m[order.indexOf(g) + 1]!;
  const found = normaliseDataset(get('dataset'));
  if (!DATASETS.some((d) => d.name === found)) {
    return {
      kind: 'skip',
      level: 'warn',
      reason: `unknown dataset '${get('dataset')}' in the file name (known: ${DATASETS.map((d) => d.name).join(', ')}): skipped`,
    };
  }
  if (found !== dataset) return { kind: 'other' };
  let start: Date;
  let end: Date;
  try {
    start = parseIsoDate(get('start'));
    end = parseIsoDate(get('end'));
  } catch (err) {
    return {
      kind: 'skip',
      level: 'warn',
      reason: `malformed date in the file name (${errorMessage(err)}): skipped`,
    };
  }
  if (end < start) {
    return {
      kind: 'skip',
      level: 'warn',
      reason: `malformed file name (end ${get('end')} before start ${get('start')}): skipped`,
    };
  }
  const format = m[order.length + 1]!.toLowerCase() === 'json' ? 'json' : 'csv';
  const base = name.replace(/\.gz$/i, '');
  return { kind: 'export', group: base, window: { from: start, to: addDays(end, 1) }, part: 0, format };
}

export function createMarketplaceFilesSource(
  config: MarketplaceSourceConfig,
  now: () => Date = () => new Date(),
): Source {
  const files = config.files;
  if (!files) throw new Error('marketplace files mode without files.url (the config schema requires it)');
  const pattern = namePattern(files.name_pattern ?? DEFAULT_NAME_PATTERN);
  let store: Promise<ObjectStore> | undefined;
  const getStore = () => (store ??= createObjectStore(files));
  const noticed = new Set<string>();
  const firstNotice = (key: string) => !noticed.has(key) && noticed.add(key) !== undefined;

  function stream(spec: DatasetSpec): StreamDefinition {
    return {
      name: spec.name,
      primaryKey: spec.key,
      cursorField: spec.cursor,
      windowDays: 7,
      writeMode: 'replace_window',
      columns: spec.columns,
      dynamicColumns: true,
      async listUnits(state: StreamState | null, ctx: ReadContext): Promise<FileUnit[]> {
        return planFileUnits({
          store: await getStore(),
          state,
          classify: (name) => classifyReportName(name, pattern, spec.name),
          log: ctx.log,
          now: now(),
          firstNotice,
        });
      },
      async *read(_window: Window, ctx: ReadContext, unit?: FileUnit): AsyncIterable<RecordBatch> {
        yield* readUnit(await getStore(), unit, ctx, {
          stream: spec.name,
          formatOf: (key) => (/\.json(\.gz)?$/i.test(key) ? 'json' : 'csv'),
        });
      },
      describe: (window: Window) =>
        `report files of ${isoDate(window.from)}..${isoDate(addDays(window.to, -1))} (no API request)`,
    };
  }

  const visible = DATASETS.filter((d) => config.role === 'admin' || d.access !== 'admin');
  return {
    name: config.name ?? 'marketplace',
    type: 'marketplace',
    streams: visible.map(stream),
    async check(): Promise<CheckVerdict> {
      const s = await getStore();
      const target = `marketplace files (${s.location})`;
      try {
        const listing = await s.list();
        const reports = listing.filter((o) => pattern.test(o.key.slice(o.key.lastIndexOf('/') + 1)));
        return {
          target,
          ok: true,
          message:
            listing.length === 0
              ? 'reachable, but empty: no report files yet'
              : `reachable: ${reports.length} report file(s) of ${listing.length} object(s)`,
        };
      } catch (err) {
        return { target, ok: false, message: errorMessage(err) };
      }
    },
  };
}
