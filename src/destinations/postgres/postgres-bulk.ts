/**
 * The bulk first load of a Postgres merge table (`Destination.settle`, contracts.ts). A keyed
 * merge costs the server about three times a plain COPY per row: the rows are parsed into a TEMP
 * staging table, sorted and deduplicated, then inserted again into the target with its primary
 * key index (bench/results/postgres-load.md). Instead, a new merge table starts a bulk first load:
 * it is created without its key (and with `BULK_SEQ`) and recorded here, with its key, cursor and
 * run, in the transaction that creates it. That is the first window's own transaction when the
 * load knows at begin that it will merge (postgres-load.ts `decide`: the window COPYs straight into
 * the table it just created, and its commit keys the table at once if the window was smaller than
 * `BULK_FIRST_LOAD_MIN_ROWS`), else the commit that creates the table from a staged window of at
 * least that many rows. Every later window of THAT run COPYs its rows straight into the table
 * inside its own transaction, which holds the table's commit lock from its first row to its commit
 * ("direct"); its commit only writes the bookkeeping. `settleBulk` removes the repeats per key,
 * adds the primary key and deletes the record, in one transaction. The first commit of any other
 * run (the one after a crash) settles the table before it merges, in its commit transaction: what
 * it re-reads is never appended twice.
 *
 * Which copy of a key stays (as the merges would have chosen): the latest cursor, then the latest
 * `_exportsync_loaded_at`, then the latest staged: the larger `BULK_SEQ`, an identity column the
 * table carries only while it is in a bulk first load. Its sequence is cached per session (COPY
 * then skips a sequence-page update per row), so every window first moves its session past all
 * values taken so far (`bumpBulkSeq`): values then rise in staging order across windows and
 * sessions. Not ctid: COPY may put a later row into an earlier page that has room (the free space
 * map).
 *
 * If the record were written outside the creating commit, a crash in between would leave an
 * unkeyed table that nothing settles (duplicates for good) or a keyed one recorded as bulk.
 */
import type pg from 'pg';
import { AUDIT_COLUMNS } from '../../core/contracts.js';
import { BULK_SEQ, readTable } from './postgres-catalog.js';
import { qualified, quoteIdent } from './postgres-sql.js';

export const BULK_TABLE = '_exportsync_bulk_loads';

/**
 * The smallest creating window that starts a bulk first load (as the DuckDB destination's). Below
 * it the merge costs little and the table is keyed from its first commit, as a small or
 * incremental stream's is, and needs no settle.
 */
export const BULK_FIRST_LOAD_MIN_ROWS = 10_000;

/** Sequence values a session takes at a time: COPY then skips a sequence-page update per row. */
const BULK_SEQ_CACHE = 100_000;

/**
 * Memory for the key's index build at settle (the server's default, 64MB, sorts a million text
 * keys on disk); per settle transaction, not per session.
 */
const SETTLE_MAINTENANCE_WORK_MEM = '256MB';

/** SQLSTATE unique_violation. */
const UNIQUE_VIOLATION = '23505';

type Queryable = Pick<pg.ClientBase, 'query'>;

export function createBulkTableSql(schema: string): string {
  return `CREATE TABLE IF NOT EXISTS ${qualified(schema, BULK_TABLE)} (
     table_name text PRIMARY KEY, key_columns jsonb NOT NULL, cursor_column text NOT NULL,
     run_id text NOT NULL, started_at timestamptz NOT NULL DEFAULT now())`;
}

/** The column definition a creating commit adds to a bulk table (`createTableSql`'s extra). */
export function bulkSeqColumnSql(): string {
  return `${quoteIdent(BULK_SEQ)} bigint GENERATED ALWAYS AS IDENTITY (CACHE ${BULK_SEQ_CACHE})`;
}

export interface BulkMark {
  primaryKey: string[];
  cursorColumn: string;
  /** The run whose commit created the table: only its windows append. */
  runId: string;
}

/** Records `table` as in a bulk first load. Only inside the commit transaction that created it. */
export async function markBulk(db: Queryable, schema: string, table: string, mark: BulkMark): Promise<void> {
  // a record left by a table of that name dropped outside exportsync is replaced
  await db.query(`DELETE FROM ${qualified(schema, BULK_TABLE)} WHERE table_name = $1`, [table]);
  await db.query(
    `INSERT INTO ${qualified(schema, BULK_TABLE)} (table_name, key_columns, cursor_column, run_id) VALUES ($1, $2::jsonb, $3, $4)`,
    [table, JSON.stringify(mark.primaryKey), mark.cursorColumn, mark.runId],
  );
}

/** The record of `table`, or null when it is not in a bulk first load. */
export async function bulkMark(db: Queryable, schema: string, table: string): Promise<BulkMark | null> {
  const res = await db.query<{ key_columns: string[]; cursor_column: string; run_id: string }>(
    `SELECT key_columns, cursor_column, run_id FROM ${qualified(schema, BULK_TABLE)} WHERE table_name = $1`,
    [table],
  );
  const row = res.rows[0];
  if (!row) return null;
  return { primaryKey: row.key_columns, cursorColumn: row.cursor_column, runId: row.run_id };
}

/**
 * Moves this session's next `BULK_SEQ` value above every value any session has taken from the
 * table's sequence (its last value ends the highest block any session cached; setval drops only
 * this session's cache, so the next values come from a fresh block above them all). Run under the
 * table's commit lock before a window appends: sessions cache blocks, and the pool may hand a
 * later window a session whose block lies below an earlier window's, which would make settle keep
 * the earlier window's copy of a key. (Transaction ids cannot order the windows instead: a type
 * widening rewrites the table and every row takes the rewriting transaction's xmin.)
 */
export async function bumpBulkSeq(db: Queryable, schema: string, table: string): Promise<string> {
  const res = await db.query<{ v: string | null }>(
    `SELECT setval(s, pg_sequence_last_value(s))::text AS v FROM (SELECT pg_get_serial_sequence($1, $2)::regclass AS s) q
     WHERE pg_sequence_last_value(s) IS NOT NULL`,
    [qualified(schema, table), BULK_SEQ],
  );
  // every value this session takes from here on is larger: the window's rows are `BULK_SEQ > start`
  return res.rows[0]?.v ?? '0';
}

/**
 * The index that finds a window's rows (`BULK_SEQ > start`) without reading the table: BRIN keeps
 * per block range the least and greatest value, costs nothing for rows appended past the summarised
 * ranges, and widens a range's summary when COPY puts a row into an earlier page that had room —
 * so that range is read too, and no row of the window is missed. Dropped with the column at settle.
 */
export function bulkSeqIndexSql(target: string): string {
  return `CREATE INDEX ON ${target} USING brin (${quoteIdent(BULK_SEQ)}) WITH (pages_per_range = 32)`;
}

/**
 * Summarises the block ranges appended since the last call (what the window just wrote), so the
 * next window's search skips them. Only speed depends on it: unsummarised ranges are always read.
 */
export function summariseSeqIndexSql(): string {
  return `SELECT brin_summarize_new_values(i.indexrelid) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
           JOIN pg_am a ON a.oid = c.relam WHERE i.indrelid = $1::regclass AND a.amname = 'brin'`;
}

/**
 * Fills NULL audit values as the merge's COALESCE would (postgres-sql.ts `insertExpressions`; $1:
 * the run id), for a direct window given CSV lines that may lack them (`CsvRows.auditFilled`):
 * the pass-through always fills them, so this runs only for other producers. Every other row of
 * the table has its audit values (merged through COALESCE or filled here), so the scan finds
 * only this window's rows.
 */
export function fillAuditSql(target: string, columns: Array<{ name: string; type: string }>): string {
  const sets: string[] = [];
  const nulls: string[] = [];
  for (const c of columns) {
    const q = quoteIdent(c.name);
    if (c.name === AUDIT_COLUMNS.loadedAt && c.type === 'timestamp')
      sets.push(`${q} = COALESCE(${q}, now())`);
    else if (c.name === AUDIT_COLUMNS.runId && c.type === 'string')
      sets.push(`${q} = COALESCE(${q}, $1::text)`);
    else continue;
    nulls.push(`${q} IS NULL`);
  }
  if (sets.length === 0) return 'SELECT $1::text';
  return `UPDATE ${target} SET ${sets.join(', ')} WHERE ${nulls.join(' OR ')}`;
}

/**
 * Deletes every copy of a key but the one that stays (file comment). Only keys that repeat are
 * ranked: the GROUP BY reads the key columns once, the window function sorts the repeats only.
 */
export function settleDeleteSql(
  target: string,
  mark: BulkMark,
  loadedAt: boolean,
  /** Only rows of one window (`BULK_SEQ > $1`): its own repeats, removed at its commit. */
  window = false,
): string {
  const only = window ? ` WHERE ${quoteIdent(BULK_SEQ)} > $1::bigint` : '';
  const keys = mark.primaryKey.map(quoteIdent);
  const order = [
    `x.${quoteIdent(mark.cursorColumn)} DESC NULLS LAST`,
    ...(loadedAt ? [`x.${quoteIdent(AUDIT_COLUMNS.loadedAt)} DESC NULLS LAST`] : []),
    `x.${quoteIdent(BULK_SEQ)} DESC`,
  ].join(', ');
  const repeated = `SELECT ${keys.join(', ')} FROM ${target}${only} GROUP BY ${keys.join(', ')} HAVING count(*) > 1`;
  const ranked =
    `SELECT x.ctid AS c, row_number() OVER (PARTITION BY ${keys.map((k) => `x.${k}`).join(', ')} ORDER BY ${order}) AS rn ` +
    `FROM ${target} x WHERE (${keys.map((k) => `x.${k}`).join(', ')}) IN (${repeated})` +
    (window ? ` AND x.${quoteIdent(BULK_SEQ)} > $1::bigint` : '');
  // by ctid list: a join on ctid would read the whole table to find a few rows
  return `DELETE FROM ${target} WHERE ctid = ANY (ARRAY(SELECT c FROM (${ranked}) d WHERE d.rn > 1))`;
}

/**
 * Whether a key repeats among one window's rows (`BULK_SEQ > $1`). The table has no statistics
 * yet, so the planner would read all of it: the session settings (transaction-local) make it use
 * the BRIN (`bulkSeqIndexSql`) and read only the window's block ranges.
 */
export function windowRepeatsSql(target: string, primaryKey: string[]): string {
  const keys = primaryKey.map(quoteIdent).join(', ');
  return `SELECT EXISTS (SELECT 1 FROM ${target} WHERE ${quoteIdent(BULK_SEQ)} > $1::bigint GROUP BY ${keys} HAVING count(*) > 1) AS found`;
}

/** The planner settings for `windowRepeatsSql` and the window's `settleDeleteSql` (SET LOCAL). */
export const WINDOW_SCAN_SETTINGS = [
  'SET LOCAL enable_seqscan = off',
  'SET LOCAL jit = off',
  'SET LOCAL max_parallel_workers_per_gather = 0',
];

/**
 * Settles `table` on `db`, which must be in a transaction the caller commits and hold the table's
 * commit lock: enforces the key (removing the repeats first when there are any), drops the
 * staging-order column and deletes the record. Resolves with the rows removed, or null when
 * `table` was not in a bulk first load (nothing done). The key is tried first under a savepoint:
 * a load whose source never repeats a key pays the index build alone.
 */
export async function settleBulk(db: Queryable, schema: string, table: string): Promise<number | null> {
  const mark = await bulkMark(db, schema, table);
  if (!mark) return null;
  await db.query(`DELETE FROM ${qualified(schema, BULK_TABLE)} WHERE table_name = $1`, [table]);
  const found = await readTable(db, schema, table, { withBulkSeq: true });
  if (!found) return 0;
  const target = qualified(schema, table);
  const addKey = `ALTER TABLE ${target} ADD PRIMARY KEY (${mark.primaryKey.map(quoteIdent).join(', ')})`;
  let removed = 0;
  await db.query(`SET LOCAL maintenance_work_mem = '${SETTLE_MAINTENANCE_WORK_MEM}'`);
  await db.query('SAVEPOINT exportsync_settle');
  try {
    await db.query(addKey);
    await db.query('RELEASE SAVEPOINT exportsync_settle');
  } catch (err) {
    if ((err as { code?: unknown }).code !== UNIQUE_VIOLATION) throw err;
    await db.query('ROLLBACK TO SAVEPOINT exportsync_settle');
    await db.query('RELEASE SAVEPOINT exportsync_settle');
    const loadedAt = found.columns.some((c) => c.name === AUDIT_COLUMNS.loadedAt);
    removed = (await db.query(settleDeleteSql(target, mark, loadedAt))).rowCount ?? 0;
    await db.query(addKey);
  }
  if (found.columns.some((c) => c.name === BULK_SEQ))
    await db.query(`ALTER TABLE ${target} DROP COLUMN ${quoteIdent(BULK_SEQ)}`);
  return removed;
}
