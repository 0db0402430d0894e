/**
 * Stream `company_rollup`: `GET /v2/packages/{owner}/company-rollup` (CSV, no parameters [C]),
 * one row per company = Scarf's current state, written as a snapshot keyed on `company_domain`
 * with history (`<table>_history`: one row per company per snapshot day, so funnel-stage
 * movement can be queried over time, which the export alone cannot answer).
 *
 * The engine gives a snapshot stream one window per run, the current UTC day; the connector
 * stamps every row with `snapshot_date` = that day (`window.from`). If it stamped the fetch
 * instant or Scarf's own dates instead, a re-run the same day would not replace that day's
 * history rows but add to them.
 */
import type { ReadContext, RecordBatch, StreamDefinition, Window } from '../../src/core/contracts.js';
import { DataError } from '../../src/core/errors.js';
import { isoDate } from '../../src/core/time.js';
import { readCsv } from '../../src/http/csv.js';
import { SCARF_COMPANY_ROLLUP_COLUMNS } from './dictionary-company.js';
import type { ScarfEndpoint } from './events.js';
import { scarfGet } from './request.js';

export const SNAPSHOT_FIELD = 'snapshot_date';

export function companyRollupPath(owner: string): string {
  return `/v2/packages/${encodeURIComponent(owner)}/company-rollup`;
}

/** The rollup CSV as Scarf sends it (no snapshot_date), batch by batch. */
export async function* readRollupCsv(
  e: ScarfEndpoint,
  ctx: ReadContext,
  stream: string,
): AsyncIterable<RecordBatch> {
  const endpoint = `${e.baseUrl}${companyRollupPath(e.owner)}`;
  const response = await scarfGet(
    {
      endpoint,
      query: [],
      token: e.token,
      info: {
        owner: e.owner,
        startDate: '',
        endDate: '',
        windowDays: e.windowDays,
        endpoint,
        what: 'the company rollup CSV',
      },
      expect: 'csv',
    },
    ctx,
  );
  yield* readCsv(response.body, { batchRows: ctx.batchRows, stream });
}

export function companyRollupStream(e: ScarfEndpoint): StreamDefinition {
  const path = companyRollupPath(e.owner);
  return {
    name: 'company_rollup',
    primaryKey: ['company_domain'],
    cursorField: SNAPSHOT_FIELD,
    windowDays: 1,
    writeMode: 'snapshot',
    history: true,
    columns: SCARF_COMPANY_ROLLUP_COLUMNS,
    dynamicColumns: true,
    async *read(window: Window, ctx: ReadContext): AsyncIterable<RecordBatch> {
      const snapshotDate = isoDate(window.from);
      // One fields array per response: the mapper caches its column plan by array identity.
      let source: string[] | undefined;
      let fields: string[] = [];
      let rows = 0;
      for await (const batch of readRollupCsv(e, ctx, 'company_rollup')) {
        if (batch.fields !== source) {
          if (batch.fields.includes(SNAPSHOT_FIELD)) {
            throw new DataError(
              `company_rollup: Scarf now sends a ${SNAPSHOT_FIELD} column itself; exportsync fills that ` +
                `column with the snapshot day and would overwrite it (nothing committed; the connector needs an update)`,
              { stream: 'company_rollup', field: SNAPSHOT_FIELD },
            );
          }
          source = batch.fields;
          fields = [...batch.fields, SNAPSHOT_FIELD];
        }
        const width = source.length;
        for (const record of batch.records) {
          while (record.length < width) record.push(null);
          record.push(snapshotDate);
        }
        rows += batch.records.length;
        yield { ...batch, fields };
      }
      ctx.log.debug({ rows, snapshot_date: snapshotDate }, 'scarf company rollup read');
    },
    describe: (window: Window) => `GET ${path} (snapshot of ${isoDate(window.from)}, 1 request)`,
  };
}
