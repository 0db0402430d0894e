/**
 * The commit of one staged window, on the load's connection, in order: the staged cursors are
 * checked against the window (replace_window, history); then BEGIN; the table's commit lock; another
 * run's bulk first load settled (postgres-bulk.ts); the target brought to the schema (created —
 * without its key when a large window starts a bulk first load —, columns added or widened); delete the window
 * (replace_window) · insert or merge the staged rows (postgres-merge.ts); mark vanished keys
 * (snapshot); replace the window's history rows; column map; state (when given); ledger row
 * 'done' (when given); COMMIT — or ROLLBACK on any error. Nothing is visible before COMMIT. If the
 * state were written outside this transaction, or DDL committed separately, a crash would lose or
 * double rows.
 */
import type pg from 'pg';
import { AUDIT_COLUMNS } from '../../core/contracts.js';
import type { CommitRequest, CommitResult, Logger, TableSchema } from '../../core/contracts.js';
import { DestinationError } from '../../core/errors.js';
import { historyKey, historyTableName } from '../history.js';
import {
  bulkMark,
  bulkSeqColumnSql,
  bulkSeqIndexSql,
  bumpBulkSeq,
  fillAuditSql,
  markBulk,
  settleBulk,
  settleDeleteSql,
  summariseSeqIndexSql,
  WINDOW_SCAN_SETTINGS,
  windowRepeatsSql,
} from './postgres-bulk.js';
import { readTable } from './postgres-catalog.js';
import { classifyPgError } from './postgres-errors.js';
import { assertCursorsInWindow } from './postgres-history.js';
import { upsertWindow } from './postgres-ledger.js';
import { writeStaged, type Run, type Written } from './postgres-merge.js';
import {
  createTableSql,
  deleteWindowSql,
  markVanishedSql,
  mergeSql,
  MAX_IDENTIFIER_BYTES,
  qualified,
  quoteIdent,
  windowBounds,
} from './postgres-sql.js';
import { upsertColumnMap, upsertState } from './postgres-state.js';
import { nativeType, widenUsing } from './postgres-types.js';

const COMMIT_WORK_MEM = '128MB';
export const DELETED_AT = '_deleted_at';

/** What the commit needs of its load: staging is complete (COPY ended) when it runs. */
export interface CommitContext {
  client: pg.PoolClient;
  /**
   * The rows are already in the target (a window of a bulk first load COPYed straight into it,
   * postgres-bulk.ts): the transaction is open and holds the table's commit lock, and the commit
   * only brings the target to the final schema and writes the bookkeeping.
   */
  direct: boolean;
  /** A direct window that created the table in its transaction (postgres-load.ts `decide`). */
  creating: boolean;
  /** A direct window's rows are those with `_exportsync_seq` above this (postgres-bulk.ts). */
  seqStart: string;
  /**
   * A direct window may hold a key twice (its writes' key hashes could not rule it out): its
   * commit looks for repeats in the table.
   */
  mayRepeat: boolean;
  /** A direct window holds lines whose audit values may be NULL: filled before COMMIT. */
  fillAudit: boolean;
  /** The smallest creating window that starts a bulk first load (postgres-bulk.ts). */
  bulkMinRows: number;
  schemaName: string;
  streamKey: string;
  runId: string;
  log: Logger;
  /** The TEMP staging table and its staging-order column. */
  staging: string;
  seq: string;
  /** Rows in staging. */
  staged: number;
  /** The load's connection failed (read at the time: pg reports it by event). */
  isBroken: () => boolean;
  /** Drops staging and returns the connection; runs after COMMIT, its failure still classified. */
  dropStaging: () => Promise<void>;
}

export async function commitWindow(c: CommitContext, request: CommitRequest): Promise<CommitResult> {
  const { schema } = request;
  const client = c.client;
  const target = qualified(c.schemaName, schema.table);
  const cursorType =
    schema.columns.find((col) => col.name === schema.cursorColumn)?.type === 'date' ? 'date' : 'timestamp';
  const history = request.history
    ? {
        ...schema,
        table: historyTableName(schema.table, MAX_IDENTIFIER_BYTES),
        primaryKey: historyKey(schema),
      }
    : undefined;
  let statement = 'check staged cursors against the window';
  let inTransaction = c.direct;
  const run = async (sql: string, params: unknown[] = []) => {
    statement = sql;
    return client.query(sql, params);
  };
  try {
    if (c.staged > 0 && (request.mode === 'replace_window' || history)) {
      await assertCursorsInWindow(client, {
        staging: c.staging,
        seq: c.seq,
        schema,
        cursorType,
        window: request.window,
        streamKey: c.streamKey,
        why: history ? 'the snapshot history' : 'replace_window',
      });
    }
    if (!c.direct) {
      inTransaction = true;
      await run('BEGIN');
      await run(COMMIT_LOCK_SQL, [commitLockKey(c.schemaName, schema.table)]);
    }
    // the dedupe sort of a large window stays in memory instead of spilling to disk
    await run(`SET LOCAL work_mem = '${COMMIT_WORK_MEM}'`);
    statement = 'read the bulk first load record';
    let mark = await bulkMark(client, c.schemaName, schema.table);
    if (mark && mark.runId !== c.runId) {
      // another run's bulk first load (it crashed or was stopped): settled before anything merges,
      // or the days this run re-reads would be appended a second time
      statement = `settle the bulk first load of ${schema.table}`;
      const removed = await settleBulk(client, c.schemaName, schema.table);
      c.log.info(
        { table: schema.table, duplicatesRemoved: removed, from: mark.runId },
        "settled an earlier run's bulk first load",
      );
      mark = null;
    }
    // a new merge table filled from a large window starts a bulk first load (postgres-bulk.ts)
    const bulk =
      request.mode === 'merge' &&
      !history &&
      schema.primaryKey.length > 0 &&
      c.staged >= Math.max(1, c.bulkMinRows);
    const created = await ensureTable(client, run, c.schemaName, schema, {
      deletedAt: request.mode === 'snapshot',
      bulk,
    });
    if (created && bulk) {
      await markBulk(client, c.schemaName, schema.table, {
        primaryKey: schema.primaryKey,
        cursorColumn: schema.cursorColumn,
        runId: c.runId,
      });
      mark = { primaryKey: schema.primaryKey, cursorColumn: schema.cursorColumn, runId: c.runId };
    }
    let upserted = 0;
    let deleted = 0;
    if (request.mode === 'replace_window' && !created) {
      deleted =
        (
          await run(
            deleteWindowSql(target, schema.cursorColumn, cursorType),
            windowBounds(request.window, cursorType),
          )
        ).rowCount ?? 0;
    }
    /** How the staged rows went in (the debug line says so). */
    let written: Written | undefined;
    if (c.direct) {
      upserted = c.staged;
      written = 'direct';
      if (c.fillAudit) await run(fillAuditSql(target, schema.columns), [c.runId]);
      if (c.staged > 0 && mark && c.mayRepeat) {
        // the window's own repeats go now, as its merge would have removed them: a crash after
        // this commit must not leave a key the source repeated within one window twice
        statement = `remove the repeats within the window of ${schema.table}`;
        await run(summariseSeqIndexSql(), [target]);
        for (const sql of WINDOW_SCAN_SETTINGS) await run(sql);
        if ((await run(windowRepeatsSql(target, mark.primaryKey), [c.seqStart])).rows[0]?.found === true) {
          const loadedAt = schema.columns.some((col) => col.name === AUDIT_COLUMNS.loadedAt);
          upserted -= (await run(settleDeleteSql(target, mark, loadedAt, true), [c.seqStart])).rowCount ?? 0;
        }
      }
      if (c.creating && c.staged < Math.max(1, c.bulkMinRows)) {
        // a small first window: keyed now, as its merge would have left it
        statement = `key the new table ${schema.table}`;
        await settleBulk(client, c.schemaName, schema.table);
        mark = null;
      }
    } else if (c.staged > 0) {
      // an append into this run's bulk first load: its staging order after every earlier window's
      if (mark !== null && !created) await bumpBulkSeq(client, c.schemaName, schema.table);
      ({ upserted, written } = await writeStaged(run, {
        target,
        staging: c.staging,
        seq: c.seq,
        schema,
        mode: request.mode,
        // this run's bulk first load has no key to merge on: its windows append until settle
        created: created || mark !== null,
        runId: c.runId,
        deletedAt: DELETED_AT,
        isBroken: c.isBroken,
      }));
    }
    if (request.mode === 'snapshot' && !created) {
      deleted = (await run(markVanishedSql(target, c.staging, schema.primaryKey, DELETED_AT))).rowCount ?? 0;
    }
    let historyRows = 0;
    if (history) {
      const historyTarget = qualified(c.schemaName, history.table);
      const historyCreated = await ensureTable(client, run, c.schemaName, history, {
        deletedAt: false,
        bulk: false,
      });
      if (!historyCreated) {
        await run(
          deleteWindowSql(historyTarget, schema.cursorColumn, cursorType),
          windowBounds(request.window, cursorType),
        );
      }
      if (c.staged > 0) {
        // same dedupe as the merge (one row per merge key), then a plain insert: the window's
        // history rows were just deleted and every staged cursor lies in the window
        const sql = mergeSql({
          target: historyTarget,
          staging: c.staging,
          seqColumn: c.seq,
          schema,
          onConflict: false,
        });
        historyRows = (await run(sql, [c.runId])).rowCount ?? 0;
      }
    }
    statement = 'upsert column map and state';
    await upsertColumnMap(client, c.schemaName, schema.table, schema.columns);
    if (request.state) await upsertState(client, c.schemaName, c.streamKey, request.state);
    if (request.ledger) {
      statement = 'upsert the backfill ledger row';
      await upsertWindow(client, c.schemaName, { ...request.ledger, status: 'done' });
    }
    await run('COMMIT');
    const result = { staged: c.staged, upserted, deleted };
    c.log.debug(
      {
        table: schema.table,
        mode: request.mode,
        ...result,
        ...(written ? { written } : {}),
        ...(history ? { historyRows } : {}),
      },
      'window committed',
    );
    await c.dropStaging();
    return result;
  } catch (err) {
    if (inTransaction && !c.isBroken()) await client.query('ROLLBACK').catch(() => undefined);
    throw classifyPgError(err, `commit of ${c.streamKey} into ${schema.table}`, statement);
  }
}

/** The transaction-level advisory lock every commit into a table takes ($1: `commitLockKey`). */
export const COMMIT_LOCK_SQL = 'SELECT pg_advisory_xact_lock(hashtextextended($1, 0))';

/**
 * Commits of one table from several processes (a sharded backfill) and a bulk first load's
 * direct windows take turns on this key: schema changes and the column map are not safe to
 * interleave.
 */
export function commitLockKey(schemaName: string, table: string): string {
  return `exportsync:commit:${schemaName}.${table}`;
}

/**
 * Creates `schema.table` with key `schema.primaryKey` (returns true), or adds and widens its
 * columns to match `schema`. `deletedAt`: the snapshot target's `_deleted_at` column. `bulk`: a
 * table created now is created without its key and with the staging-order column instead
 * (postgres-bulk.ts).
 */
export async function ensureTable(
  client: pg.ClientBase,
  run: Run,
  schemaName: string,
  schema: TableSchema,
  o: { deletedAt: boolean; bulk: boolean },
): Promise<boolean> {
  const deletedAt = o.deletedAt;
  const target = qualified(schemaName, schema.table);
  const existing = await readTable(client, schemaName, schema.table);
  if (!existing) {
    const extra = deletedAt ? [`${quoteIdent(DELETED_AT)} timestamptz`] : [];
    if (o.bulk) extra.push(bulkSeqColumnSql());
    await run(createTableSql(target, o.bulk ? { ...schema, primaryKey: [] } : schema, extra));
    if (o.bulk) await run(bulkSeqIndexSql(target));
    return true;
  }
  const have = new Map(existing.columns.map((col) => [col.name, col]));
  for (const col of schema.columns) {
    const current = have.get(col.name);
    if (!current) {
      await run(`ALTER TABLE ${target} ADD COLUMN ${quoteIdent(col.name)} ${nativeType(col.type)}`);
    } else if (current.type !== col.type) {
      const using =
        current.type === 'unknown' ? null : widenUsing(quoteIdent(col.name), current.type, col.type);
      if (using === null) {
        throw new DestinationError(
          `${schema.table}.${col.name} is ${current.nativeType} in the warehouse and cannot change to ${col.type} (only widening is allowed)`,
        );
      }
      await run(
        `ALTER TABLE ${target} ALTER COLUMN ${quoteIdent(col.name)} TYPE ${nativeType(col.type)} USING ${using}`,
      );
    }
  }
  if (deletedAt && !have.has(DELETED_AT))
    await run(`ALTER TABLE ${target} ADD COLUMN ${quoteIdent(DELETED_AT)} timestamptz`);
  return false;
}
