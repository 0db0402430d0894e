/**
 * Scratch probe: cost of the DuckDB daily merge against a table of N days × 1000 Scarf-like rows.
 *   npx tsx bench/duckdb-merge-probe.ts [days=732] [file=/tmp/duckdb-merge-probe.duckdb]
 * Builds the table once (ordered by time, as a backfill loads it), stages one re-read day (1000
 * unchanged rows + a few changed + a few cross-day duplicates of old days), then runs each variant
 * inside BEGIN … ROLLBACK and prints its time and EXPLAIN ANALYZE summary.
 */
import { existsSync } from 'node:fs';
import { DuckDBInstance, type DuckDBConnection, type DuckDBValue } from '@duckdb/node-api';
import { mergeSql } from '../src/destinations/duckdb/duckdb-sql.js';
import { mergeWindow } from '../src/destinations/duckdb/duckdb-merge.js';

const days = Number(process.argv[2] ?? 732);
const file = process.argv[3] ?? `/tmp/duckdb-merge-probe-${days}.duckdb`;
const variants = (process.env.VARIANTS ?? 'current').split(',');
const COLS: Array<[string, string]> = [
  ['id', 'VARCHAR'],
  ['type', 'VARCHAR'],
  ['package', 'VARCHAR'],
  ['pixel', 'VARCHAR'],
  ['version', 'VARCHAR'],
  ['time', 'TIMESTAMPTZ'],
  ['referer', 'VARCHAR'],
  ['user_agent', 'VARCHAR'],
  ['platform', 'VARCHAR'],
  ['variables', 'VARCHAR'],
  ['origin_id', 'VARCHAR'],
  ['origin_latitude', 'DECIMAL(38,4)'],
  ['origin_longitude', 'DECIMAL(38,4)'],
  ['origin_country', 'VARCHAR'],
  ['origin_city', 'VARCHAR'],
  ['origin_postal', 'VARCHAR'],
  ['origin_connection_type', 'VARCHAR'],
  ['origin_company', 'VARCHAR'],
  ['origin_domain', 'VARCHAR'],
  ['dnt', 'BOOLEAN'],
  ['confidence', 'DECIMAL(38,2)'],
  ['endpoint_id', 'VARCHAR'],
  ['origin_state', 'VARCHAR'],
  ['mtc_quota_exceeded', 'BOOLEAN'],
  ['_exportsync_loaded_at', 'TIMESTAMPTZ'],
  ['_exportsync_run_id', 'VARCHAR'],
  ['_extra', 'JSON'],
];
const q = (n: string) => `"${n}"`;
const names = COLS.map(([n]) => n);
const TARGET = 'main.scarf_events';

async function build(c: DuckDBConnection): Promise<void> {
  await c.run(`ATTACH '/tmp/mrg/demo.duckdb' AS demo (READ_ONLY)`);
  await c.run(
    `CREATE TABLE scarf_events (${COLS.map(([n, t]) => `${q(n)} ${t}${n === 'id' ? ' NOT NULL' : ''}`).join(', ')})`,
  );
  await c.run(`CREATE TEMP TABLE tpl AS SELECT row_number() OVER () - 1 AS k, * FROM demo.main.scarf_events`);
  const n = Number((await c.runAndReadAll('SELECT count(*) FROM tpl')).getRows()[0]?.[0]);
  for (let d = 0; d < days; d += 30) {
    const sel = names
      .map((x) =>
        x === 'id'
          ? `md5(g.d::VARCHAR || '-' || g.i::VARCHAR) AS id`
          : x === 'time'
            ? `TIMESTAMPTZ '2024-11-26 00:00:00+00' + to_days(g.d::INT) + to_microseconds((g.i * 86400000000 // 1000)::BIGINT) AS time`
            : `t.${q(x)}`,
      )
      .join(', ');
    await c.run(
      `INSERT INTO scarf_events SELECT ${sel} FROM (SELECT d, i FROM range(${d}, ${Math.min(d + 30, days)}) r(d), range(1000) s(i)) g JOIN tpl t ON t.k = (g.d * 1000 + g.i) % ${n} ORDER BY g.d, g.i`,
    );
  }
  await c.run('CHECKPOINT');
}

async function stage(c: DuckDBConnection): Promise<void> {
  // VARCHAR staging like the load: yesterday's 1000 rows (5 with a changed type), 5 cross-day
  // duplicates of old days carrying yesterday's time (a newer cursor: they update the old row)
  await c.run(
    `CREATE OR REPLACE TEMP TABLE stage (_exportsync_seq BIGINT, ${names.map((n) => `${q(n)} VARCHAR`).join(', ')})`,
  );
  const last = days - 1;
  const cols = names.map((n) =>
    n === 'type' ? `CASE WHEN i < 5 THEN 'changed' ELSE "type" END` : `CAST(${q(n)} AS VARCHAR)`,
  );
  await c.run(
    `INSERT INTO stage SELECT row_number() OVER (), ${cols.join(', ')} FROM (SELECT *, row_number() OVER (ORDER BY time) - 1 AS i FROM scarf_events WHERE time >= TIMESTAMPTZ '2024-11-26 00:00:00+00' + to_days(${last}))`,
  );
  const old = names.map((n) =>
    n === 'time'
      ? `CAST(TIMESTAMPTZ '2024-11-26 12:00:00+00' + to_days(${last}) AS VARCHAR)`
      : `CAST(${q(n)} AS VARCHAR)`,
  );
  await c.run(
    `INSERT INTO stage SELECT 2000 + row_number() OVER (), ${old.join(', ')} FROM scarf_events USING SAMPLE ${Number(process.env.SCATTER ?? 5)} ROWS`,
  );
}

const typed = `SELECT s._exportsync_seq, ${COLS.map(([n, t]) => (t === 'VARCHAR' ? `s.${q(n)}` : `CAST(s.${q(n)} AS ${t}) AS ${q(n)}`)).join(', ')} FROM temp.main.stage AS s`;

type Variant = (c: DuckDBConnection) => Promise<number>;
const V: Record<string, Variant> = {
  async current(c) {
    const sql = mergeSql({
      target: TARGET,
      source: typed,
      seq: '_exportsync_seq',
      columns: names,
      primaryKey: ['id'],
      cursorColumn: 'time',
    });
    return Number((await c.run(sql)).rowsChanged);
  },
  async split(c) {
    const dedup = `SELECT * FROM (${typed}) QUALIFY row_number() OVER (PARTITION BY id ORDER BY time DESC NULLS LAST, _exportsync_seq DESC) = 1`;
    await c.run(`CREATE TEMP TABLE m AS ${dedup}`);
    await c.run(
      `CREATE TEMP TABLE h AS SELECT t.rowid AS rid, t.id FROM ${TARGET} t SEMI JOIN temp.main.m s ON t.id = s.id`,
    );
    const data = names.filter((n) => n !== 'id' && !n.startsWith('_exportsync_'));
    const sets = names.filter((n) => n !== 'id').map((n) => `${q(n)} = s.${q(n)}`);
    const upd = `UPDATE ${TARGET} AS t SET ${sets.join(', ')} FROM (SELECT h.rid, m.* FROM temp.main.h h JOIN temp.main.m m ON h.id = m.id) s WHERE t.rowid = s.rid AND row(${data.map((n) => 't.' + q(n)).join(', ')}) IS DISTINCT FROM row(${data.map((n) => 's.' + q(n)).join(', ')})`;
    if (process.env.SHOW)
      console.log(
        (await c.runAndReadAll(`EXPLAIN ANALYZE ${upd}`))
          .getRows()
          .map((r) => r[1])
          .join('\n'),
      );
    const u = Number((await c.run(upd)).rowsChanged);
    const i = Number(
      (
        await c.run(
          `INSERT INTO ${TARGET} SELECT ${names.map(q).join(', ')} FROM temp.main.m s WHERE NOT EXISTS (SELECT 1 FROM temp.main.h h WHERE h.id = s.id)`,
        )
      ).rowsChanged,
    );
    await c.run('DROP TABLE temp.main.m');
    await c.run('DROP TABLE temp.main.h');
    return u + i;
  },
  async fetch(c) {
    const dedup = `SELECT * FROM (${typed}) QUALIFY row_number() OVER (PARTITION BY id ORDER BY time DESC NULLS LAST, _exportsync_seq DESC) = 1`;
    await c.run(`CREATE TEMP TABLE m AS ${dedup}`);
    await c.run(
      `CREATE TEMP TABLE h AS SELECT t.rowid AS rid, t.id FROM ${TARGET} t SEMI JOIN temp.main.m s ON t.id = s.id`,
    );
    const rids = (await c.runAndReadAll('SELECT rid FROM temp.main.h ORDER BY rid'))
      .getRows()
      .map((r) => Number(r[0]));
    const t = (label: string, sql: string) => async () => {
      const s = performance.now();
      const r = await c.runAndReadAll(sql);
      console.log(`  ${label} ${((performance.now() - s) / 1000).toFixed(3)} s rows ${r.currentRowCount}`);
    };
    await t('in-subquery', `SELECT * FROM ${TARGET} WHERE rowid IN (SELECT rid FROM temp.main.h)`)();
    await t('in-literal', `SELECT * FROM ${TARGET} WHERE rowid IN (${rids.join(',')})`)();
    await t('id-in-literal', `SELECT * FROM ${TARGET} WHERE id IN (SELECT id FROM temp.main.h)`)();
    await t('semi-id', `SELECT * FROM ${TARGET} t SEMI JOIN temp.main.h h ON t.id = h.id`)();
    await t('key-only', `SELECT rowid, id FROM ${TARGET} t SEMI JOIN temp.main.h h ON t.id = h.id`)();
    await c.run('DROP TABLE temp.main.m');
    await c.run('DROP TABLE temp.main.h');
    return rids.length;
  },
  async ranged(c) {
    const times: string[] = [];
    const run = async (sql: string, params: DuckDBValue[] = []) => {
      if (process.env.SHOW && sql.startsWith('UPDATE')) {
        const plan = (await c.runAndReadAll(`EXPLAIN ANALYZE ${sql}`, params))
          .getRows()
          .map((r) => String(r[1]))
          .join('\n');
        console.log(
          plan
            .split('\n')
            .filter((l) => /TABLE_SCAN|rows|Table|[0-9.]+s /.test(l))
            .join('\n'),
        );
      }
      const s = performance.now();
      const n = Number((await c.run(sql, params)).rowsChanged);
      times.push(`${sql.slice(0, 12)} ${(performance.now() - s).toFixed(0)}ms`);
      return n;
    };
    const n = await mergeWindow(c, run, {
      target: TARGET,
      source: typed,
      params: [],
      seq: '_exportsync_seq',
      columns: names,
      primaryKey: ['id'],
      cursorColumn: 'time',
    });
    console.log('  ', times.join(' | '));
    return n;
  },
  async keyscan(c) {
    await c.runAndReadAll(`SELECT count(*) FROM ${TARGET} t SEMI JOIN (${typed}) s ON t.id = s.id`);
    return 0;
  },
};

const inst = await DuckDBInstance.create(file);
const c = await inst.connect();
if (
  !existsSync(file) ||
  Number(
    (
      await c.runAndReadAll(`SELECT count(*) FROM duckdb_tables() WHERE table_name = 'scarf_events'`)
    ).getRows()[0]?.[0],
  ) === 0
) {
  const s = performance.now();
  await build(c);
  console.log(`built ${days} days in ${((performance.now() - s) / 1000).toFixed(1)} s`);
}
await stage(c);
console.log(
  'rows',
  (await c.runAndReadAll(`SELECT count(*) FROM ${TARGET}`)).getRows()[0]?.[0],
  'staged',
  (await c.runAndReadAll('SELECT count(*) FROM stage')).getRows()[0]?.[0],
);
for (let r = 0; r < Number(process.env.REPEAT ?? 2); r++) {
  for (const v of variants) {
    const fn = V[v];
    if (!fn) throw new Error(`no variant ${v}`);
    await c.run('BEGIN TRANSACTION');
    const s = performance.now();
    const n = await fn(c);
    const ms = performance.now() - s;
    await c.run('ROLLBACK');
    console.log(`${v.padEnd(10)} ${(ms / 1000).toFixed(3)} s  changed ${n}`);
  }
}
if (process.env.EXPLAIN) {
  await c.run(`PRAGMA enable_profiling = 'no_output'`);
  console.log(
    (await c.runAndReadAll(`EXPLAIN ANALYZE ${process.env.EXPLAIN}`))
      .getRows()
      .map((r) => r[1])
      .join('\n'),
  );
}
