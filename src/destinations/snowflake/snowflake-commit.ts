/**
 * The commit of one window, in order:
 *   1. type and deduplicate the staged rows into a temporary table (before any change, so a value
 *      that does not convert fails the commit with nothing touched), and refuse NULL keys;
 *   2. DDL outside the transaction (Snowflake commits DDL implicitly): target and history tables
 *      created, columns added or widened — idempotent, under the table's DDL lock;
 *   3. BEGIN; delete the window (replace_window) · MERGE (merge, snapshot) or INSERT; mark
 *      vanished keys (snapshot); replace the window's history rows; column map; state (when
 *      given); ledger row 'done' (when given); COMMIT — or ROLLBACK on any error.
 * If anything of step 3 ran outside the transaction, a crash would leave rows without their state
 * (re-read, harmless) or, worse, state or a 'done' ledger row without their rows (data lost).
 */
import type { CommitRequest, CommitResult, Logger, LogicalType } from '../../core/contracts.js';
import { DestinationError } from '../../core/errors.js';
import { historyKey, historyTableName } from '../history.js';
import {
  deleteWindowSql,
  insertAllSql,
  markVanishedSql,
  mergeSql,
  nullKeySql,
  typedTableSql,
} from './snowflake-commit-sql.js';
import { ensureTable } from './snowflake-ddl.js';
import { upsertWindow } from './snowflake-ledger.js';
import type { Bind, QueryResult, SessionPool } from './snowflake-session.js';
import { MAX_IDENTIFIER_LENGTH, qualified, windowBounds } from './snowflake-sql.js';
import { upsertColumnMap, upsertState } from './snowflake-state.js';
import { nativeFor, type NativeType } from './snowflake-types.js';

export interface CommitContext {
  pool: SessionPool;
  schemaName: string;
  log: Logger;
  tag: string;
  leaseSeconds: number;
  streamKey: string;
  runId: string;
  request: CommitRequest;
  staged: number;
  cursorType: 'timestamp' | 'date';
  scales: ReadonlyMap<string, number>;
  stagedTypes: ReadonlyMap<string, ReadonlySet<LogicalType>>;
  staging: string;
}

interface Runner {
  run(sql: string, binds?: Bind[] | Bind[][]): Promise<QueryResult>;
}

export async function commitWindow(load: Runner, c: CommitContext): Promise<CommitResult> {
  const { request } = c;
  const { schema } = request;
  const run = (sql: string, binds?: Bind[] | Bind[][]) => load.run(sql, binds);
  const target = qualified(c.schemaName, schema.table);
  const typedName = `${c.staging}_typed`;
  const typed = qualified(c.schemaName, typedName);
  const snapshot = request.mode === 'snapshot';
  const keyed = schema.primaryKey.length > 0 && request.mode !== 'replace_window';

  // 1. typed, deduplicated rows; NULL keys refused before anything changes
  const natives = new Map<string, NativeType>(
    schema.columns.map((col) => [col.name, nativeFor(col.type, c.scales.get(col.name) ?? 0)]),
  );
  const hasRunId = schema.columns.some((col) => col.name === '_exportsync_run_id' && col.type === 'string');
  {
    const sql = typedTableSql({
      schemaName: c.schemaName,
      staging: c.staging,
      typed: typedName,
      schema,
      natives,
      stagedTypes: c.stagedTypes,
      dedupe: keyed,
    });
    await run(sql, hasRunId ? [c.runId] : []);
    if (keyed && c.staged > 0) {
      const nulls = Number((await run(nullKeySql(typed, schema.primaryKey))).rows[0]?.[0] ?? 0);
      if (nulls > 0) {
        throw new DestinationError(
          `${c.streamKey}: ${nulls} staged row(s) have a NULL in the key (${schema.primaryKey.join(', ')}); nothing committed`,
          { code: 'null-key' },
        );
      }
    }
  }

  // 2. DDL, outside the transaction
  const lock = { leaseSeconds: c.leaseSeconds, log: c.log, tag: c.tag };
  await ensureTable(
    run,
    c.pool,
    { schemaName: c.schemaName, schema, notNull: schema.primaryKey, deletedAt: snapshot, scales: c.scales },
    lock,
  );
  const history = request.history
    ? {
        ...schema,
        table: historyTableName(schema.table, MAX_IDENTIFIER_LENGTH),
        primaryKey: historyKey(schema),
      }
    : undefined;
  if (history) {
    await ensureTable(
      run,
      c.pool,
      {
        schemaName: c.schemaName,
        schema: history,
        notNull: history.primaryKey,
        deletedAt: false,
        scales: c.scales,
      },
      lock,
    );
  }

  // 3. one transaction
  const bounds = windowBounds(request.window, c.cursorType);
  let upserted = 0;
  let deleted = 0;
  await run('BEGIN');
  try {
    if (request.mode === 'replace_window') {
      deleted = (await run(deleteWindowSql(target, schema.cursorColumn, c.cursorType), bounds)).updated;
    }
    if (c.staged > 0) {
      const sql = keyed
        ? mergeSql(target, typed, schema, snapshot)
        : insertAllSql(target, typed, schema.columns);
      upserted = Math.max(0, (await run(sql)).updated);
    }
    if (snapshot)
      deleted = Math.max(0, (await run(markVanishedSql(target, typed, schema.primaryKey))).updated);
    if (history) {
      const historyTarget = qualified(c.schemaName, history.table);
      await run(deleteWindowSql(historyTarget, schema.cursorColumn, c.cursorType), bounds);
      if (c.staged > 0) await run(insertAllSql(historyTarget, typed, schema.columns));
    }
    await upsertColumnMap(run, c.schemaName, schema.table, schema.columns);
    if (request.state) await upsertState(run, c.schemaName, c.streamKey, request.state);
    if (request.ledger) await upsertWindow(run, c.schemaName, { ...request.ledger, status: 'done' });
    await run('COMMIT');
  } catch (err) {
    await run('ROLLBACK').catch(() => undefined);
    throw err;
  }
  return { staged: c.staged, upserted, deleted };
}
