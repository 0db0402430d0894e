/**
 * Stream `aggregates`: `GET /v2/packages/{owner}/aggregates?start_date&end_date&rollup=daily&breakdown=<b>`
 * (NDJSON `Aggregate` objects), every configured breakdown in ONE table told apart by the
 * `breakdown` column, written with replace_window on `date`.
 *
 * Why one table: one stream means one state mark, one lock and one `--streams aggregates`, and a
 * window's delete+insert covers every breakdown of those days at once. The price: the window
 * delete removes all breakdowns of its days, so `read` must fetch EVERY configured breakdown for
 * every day range of the window (one request per breakdown per range). If it fetched only some,
 * the others would vanish for those days. Removing a breakdown from config therefore also drops
 * its rows for every day re-read afterwards (older days keep them).
 *
 * Daily values are restated by Scarf for recent days, so a re-read window (lookback) must REPLACE,
 * never add: hence replace_window with no key (primaryKey []: the optional keys do not guarantee
 * a natural key). A row dated outside the requested days would be inserted and never deleted by
 * any later window (doubling on each re-read), so such a row fails the window instead.
 */
import type { ReadContext, RecordBatch, StreamDefinition, Window } from '../../src/core/contracts.js';
import { DataError } from '../../src/core/errors.js';
import { readNdjson } from '../../src/http/json.js';
import type { ScarfBreakdown } from './config.js';
import { SCARF_AGGREGATE_COLUMNS } from './dictionary-aggregates.js';
import type { ScarfEndpoint } from './events.js';
import { dateQuery, dayRanges, describeRanges, scarfGet, type ScarfDayRange } from './request.js';

export function aggregatesStream(e: ScarfEndpoint, breakdowns: readonly ScarfBreakdown[]): StreamDefinition {
  const path = `/v2/packages/${encodeURIComponent(e.owner)}/aggregates`;
  const endpoint = `${e.baseUrl}${path}`;

  async function* readOne(
    range: ScarfDayRange,
    breakdown: ScarfBreakdown,
    ctx: ReadContext,
  ): AsyncIterable<RecordBatch> {
    const response = await scarfGet(
      {
        endpoint,
        query: [...dateQuery(range), ['rollup', 'daily'], ['breakdown', breakdown]],
        token: e.token,
        info: { owner: e.owner, ...range, windowDays: e.windowDays, endpoint, what: 'the aggregates NDJSON' },
        expect: 'ndjson',
      },
      ctx,
    );
    for await (const batch of readNdjson(response.body, { batchRows: ctx.batchRows, stream: 'aggregates' })) {
      yield checked(batch, range, breakdown);
    }
  }

  return {
    name: 'aggregates',
    primaryKey: [],
    cursorField: 'date',
    windowDays: e.windowDays,
    writeMode: 'replace_window',
    columns: SCARF_AGGREGATE_COLUMNS,
    dynamicColumns: true,
    async *read(window: Window, ctx: ReadContext): AsyncIterable<RecordBatch> {
      for (const range of dayRanges(window, e.windowDays)) {
        for (const breakdown of breakdowns) {
          const log = ctx.log.child({ start_date: range.startDate, end_date: range.endDate, breakdown });
          let rows = 0;
          for await (const batch of readOne(range, breakdown, ctx)) {
            rows += batch.records.length;
            yield batch;
          }
          log.debug({ rows }, 'scarf aggregates read');
        }
      }
    },
    describe: (window: Window) =>
      describeRanges(
        path,
        dayRanges(window, e.windowDays),
        e.windowDays,
        breakdowns.length,
        `, rollup=daily, breakdown=${breakdowns.join('|')}`,
      ),
  };
}

/**
 * The batch with `breakdown` filled where Scarf left it out (it is the discriminating column),
 * after checking every row's `date` lies in the requested days (see the file comment).
 */
function checked(batch: RecordBatch, range: ScarfDayRange, breakdown: string): RecordBatch {
  const dateAt = batch.fields.indexOf('date');
  let breakdownAt = batch.fields.indexOf('breakdown');
  const fields = breakdownAt >= 0 ? batch.fields : [...batch.fields, 'breakdown'];
  if (breakdownAt < 0) breakdownAt = fields.length - 1;
  batch.records.forEach((record, i) => {
    const date = dateAt >= 0 ? record[dateAt] : undefined;
    const line = batch.positions?.[i] ?? i + 1;
    const day = typeof date === 'string' ? date.slice(0, 10) : '';
    if (day === '' || day < range.startDate || day > range.endDate) {
      throw new DataError(
        `aggregates: line ${line} (breakdown ${breakdown}): date ${JSON.stringify(date ?? null)} is outside ` +
          `the requested days ${range.startDate}..${range.endDate}; a replace_window load of it would ` +
          `never be replaced (nothing committed)`,
        { stream: 'aggregates', line, field: 'date' },
      );
    }
    while (record.length <= breakdownAt) record.push(null);
    if (record[breakdownAt] === null || record[breakdownAt] === '') record[breakdownAt] = breakdown;
  });
  return { ...batch, fields };
}
