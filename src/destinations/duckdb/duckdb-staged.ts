/**
 * A DuckDB load's staged rows: the TEMP staging table the Appender fills (every column VARCHAR,
 * numbered by `SEQ` in call order), how the commit reads it together with the CSV spool files
 * (duckdb-spool.ts, numbered on from the table's last row), and the typed view the commit's
 * statements select from. If the numbering did not continue in call order, the deduplication
 * ("latest cursor, then latest staged") would keep an older copy of a key; if the spool were read
 * before `DuckDbSpool.check`, a file holding fewer records than rows written would drop rows
 * without an error; if the decimal sizes missed the table's or the spool's rows, the target's
 * DECIMAL would be sized too small and the commit would fail on a value that fits; if the casts
 * differed between the staging table and the spool, the same value would land differently by
 * path. Split from duckdb-load.ts; behaviour unchanged.
 */
import type { DuckDBAppender, DuckDBConnection, DuckDBValue } from '@duckdb/node-api';
import type { ColumnSpec, LogicalType, Row, TableSchema } from '../../core/contracts.js';
import { AUDIT_COLUMNS } from '../../core/contracts.js';
import { decimalNeedExprs } from './duckdb-load-target.js';
import { columnList, quoteIdent } from './duckdb-sql.js';
import type { DuckDbSpool } from './duckdb-spool.js';
import { castFromText, nativeFor, type DecimalNeed, type NativeType } from './duckdb-types.js';

/** Staging order column: the staging table's first column, and the spool's when read in order. */
export const SEQ = '_exportsync_seq';
/** The load's TEMP staging table (one per connection, so one per load). */
export const STAGE = '_exportsync_stage';
export const STAGE_REF = `temp.main.${quoteIdent(STAGE)}`;

/** Creates the staging table: `SEQ`, then every column as VARCHAR (values are canonical text). */
export function createStageSql(columns: ColumnSpec[]): string {
  return `CREATE TEMP TABLE ${STAGE_REF} (${[`${quoteIdent(SEQ)} BIGINT`, ...columns.map((c) => `${quoteIdent(c.name)} VARCHAR`)].join(', ')})`;
}

/** Appends a column to the staging table (all VARCHAR, so nothing widens). */
export function addStageColumnSql(name: string): string {
  return `ALTER TABLE ${STAGE_REF} ADD COLUMN ${quoteIdent(name)} VARCHAR`;
}

/**
 * Appends `rows` (`width` values each, missing ones NULL) numbered on from `last`, and flushes;
 * returns the last number given. A throw leaves the appender's buffer in an unknown state.
 */
export function appendStaged(a: DuckDBAppender, rows: Row[], width: number, last: number): number {
  let seq = last;
  for (const row of rows) {
    a.appendBigInt(BigInt(++seq));
    for (let i = 0; i < width; i++) {
      const v = row[i];
      if (v === null || v === undefined) a.appendNull();
      else a.appendVarchar(v);
    }
    a.endRow();
  }
  a.flushSync();
  return seq;
}

/** Where a commit reads the window's rows: the staging table, or the spool files themselves. */
export interface StagedRows {
  /** Table or parenthesised subquery: `SEQ` (staging order) and every staged column as VARCHAR. */
  ref: string;
  /** The same rows without `SEQ`, for statements that need no order. */
  unordered: string;
  rows: number;
  /**
   * The same rows as `unordered`, split in staging order (the staging table, then each spool
   * file): inserting them one statement after another gives the target rows in staging order.
   */
  parts: string[];
  /** Decimal sizes measured while checking the spool, per schema column typed decimal. */
  needs?: Map<string, DecimalNeed>;
  /**
   * Set when the spool's check pass was NOT run (every write carried its stats): the commit must
   * either compare the rows it read from `parts` with `rows` or call this before reading the
   * spool. Throws as the check does (DestinationError naming the file, or DuckDB's CSV error).
   */
  verify?: () => Promise<void>;
}

/** What the load has staged so far. */
export interface Staging {
  conn: DuckDBConnection;
  /** Set from the first `writeCsv`. */
  spool: DuckDbSpool | undefined;
  /** Rows in the staging table (numbered 1…staged). */
  staged: number;
  /** Staged column names, in staging table order. */
  columns: string[];
}

/**
 * The rows the commit reads: the Appender's rows in the staging table, then the spool's (the
 * CSV pass-through), numbered on in call order. The spool is never copied into the table: its
 * lines are read once now (`DuckDbSpool.check`: record counts, line lengths, and the decimal
 * sizes of the schema's decimal columns in the same pass, unless every spooled write's
 * `CsvRows.stats` measured them: then it only counts records) and the commit's statements read
 * the files. Runs before the commit transaction; a failure (thrown as DuckDB or the spool raised
 * it) means the spooled rows cannot be read as written, so the caller's load is broken and only
 * `abort` remains.
 */
export async function stagedRows(staging: Staging, schema: TableSchema): Promise<StagedRows> {
  const { conn, spool, staged, columns } = staging;
  if (!spool || spool.rows === 0)
    return { ref: STAGE_REF, unordered: STAGE_REF, rows: staged, parts: staged > 0 ? [STAGE_REF] : [] };
  const decimals = schema.columns.filter((c) => c.type === 'decimal');
  const needExprs = decimals.flatMap((c) => decimalNeedExprs(quoteIdent(c.name)));
  const needs = new Map<string, DecimalNeed>();
  const measure = (values: unknown[]) =>
    decimals.forEach((c, i) => {
      const was = needs.get(c.name) ?? { intDigits: 0, scale: 0 };
      needs.set(c.name, {
        intDigits: Math.max(was.intDigits, Number(values[2 * i] ?? 0)),
        scale: Math.max(was.scale, Number(values[2 * i + 1] ?? 0)),
      });
    });
  // the writers' stats, when every spooled write carried them for these columns: the check then
  // only counts records (the decimal expressions are most of its cost); else it measures too
  // and when every write measured its lines too, the record count is left to the commit (the
  // rows its insert read, or `verify`): the check pass is then off the commit's path entirely
  const fromStats = spool.measuredDigits(decimals.map((c) => columns.indexOf(c.name)));
  const unchecked = fromStats !== undefined && (await spool.prepareUnchecked());
  const checked = unchecked ? [] : await spool.check(conn, { columns }, fromStats ? [] : needExprs);
  measure(fromStats ? fromStats.flatMap((d) => [d.intDigits, d.scale]) : checked);
  if (staged > 0 && needExprs.length > 0) {
    const reader = await conn.runAndReadAll(`SELECT ${needExprs.join(', ')} FROM ${STAGE_REF}`);
    measure(reader.getRowsJson()[0] ?? []);
  }
  const fromSpool = (seq: boolean) =>
    spool.source({ columns, ...(seq ? { seq: SEQ, firstSeq: staged + 1 } : {}) });
  const fromBoth = (seq: boolean) =>
    staged === 0
      ? fromSpool(seq)
      : `(SELECT ${columnList(seq ? [SEQ, ...columns] : columns)} FROM ${STAGE_REF} UNION ALL SELECT * FROM ${fromSpool(seq)})`;
  return {
    ref: fromBoth(true),
    unordered: fromBoth(false),
    rows: staged + spool.rows,
    parts: [...(staged > 0 ? [STAGE_REF] : []), ...spool.parts({ columns })],
    needs,
    ...(unchecked ? { verify: async () => void (await spool.check(conn, { columns }, [])) } : {}),
  };
}

/** What `typedSource` casts under: the staging's types and the load's run id. */
export interface Typing {
  /** Logical types each column's rows were staged under (a column may widen mid-load). */
  stagedTypes: ReadonlyMap<string, Set<LogicalType>>;
  runId: string;
}

/**
 * The staged rows of `from` with every schema column cast to its native type and audit NULLs
 * filled ($1 = run id), and `SEQ` unless `ordered` is false.
 */
export function typedSource(
  from: string,
  schema: TableSchema,
  natives: Map<string, NativeType>,
  typing: Typing,
  ordered = true,
): { sql: string; params: DuckDBValue[] } {
  let usesRunId = false;
  const exprs = schema.columns.map((c) => {
    const native = natives.get(c.name) ?? nativeFor(c.type);
    const ref = `s.${quoteIdent(c.name)}`;
    let expr = castFromText(ref, native, typing.stagedTypes.get(c.name) ?? new Set([c.type]));
    if (c.name === AUDIT_COLUMNS.loadedAt && native.logical === 'timestamp')
      expr = `COALESCE(${expr}, now())`;
    if (c.name === AUDIT_COLUMNS.runId && native.logical === 'string') {
      expr = `COALESCE(${expr}, CAST($1 AS VARCHAR))`;
      usesRunId = true;
    }
    return `${expr} AS ${quoteIdent(c.name)}`;
  });
  const seq = ordered ? [`s.${quoteIdent(SEQ)} AS ${quoteIdent(SEQ)}`] : [];
  return {
    sql: `SELECT ${[...seq, ...exprs].join(', ')} FROM ${from} AS s`,
    params: usesRunId ? [typing.runId] : [],
  };
}
