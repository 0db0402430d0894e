/**
 * How a window's staged rows go into the target, inside the commit transaction: a keyless table
 * takes them all by plain INSERT; a keyed one by the deduplicated merge (one row per key: latest
 * cursor, then latest staged), tried as a plain INSERT first where no staged key can be in the
 * target yet. If the choice were wrong, a key would be doubled (a plain insert without the
 * fallback), a window would fail on a key that exists (no savepoint: the violation aborts the
 * transaction), or unchanged rows would be rewritten.
 */
import type pg from 'pg';
import type { TableSchema, WriteMode } from '../../core/contracts.js';
import { insertAllSql, mergeSql, quoteIdent, stagedKeyInTargetSql } from './postgres-sql.js';

/** Staged rows whose keys are looked up in the target before a guarded plain insert. */
const KEY_SAMPLE = 100;
/** SQLSTATE unique_violation. */
const UNIQUE_VIOLATION = '23505';

export type Run = (sql: string, params?: unknown[]) => Promise<pg.QueryResult>;

/** How the staged rows went in (the commit's debug line says so). */
export type Written = 'insert' | 'merge' | 'merge after unique_violation' | 'direct';

export interface WriteStaged {
  target: string;
  staging: string;
  /** The staging-order column. */
  seq: string;
  schema: TableSchema;
  mode: WriteMode;
  /** The target was created by this commit: no key can be in it yet. */
  created: boolean;
  runId: string;
  /** The snapshot target's deleted-at column, cleared when its key is staged again. */
  deletedAt: string;
  /** The load's connection failed (read at the time: pg reports it by event). */
  isBroken: () => boolean;
}

/** Writes the (non-empty) staging into the target; `upserted` is the rows inserted or changed. */
export async function writeStaged(run: Run, o: WriteStaged): Promise<{ upserted: number; written: Written }> {
  const { target, schema } = o;
  if (schema.primaryKey.length === 0) {
    const upserted =
      (await run(insertAllSql(target, o.staging, o.seq, schema.columns), [o.runId])).rowCount ?? 0;
    return { upserted, written: 'insert' };
  }
  const merge = (onConflict: boolean) =>
    mergeSql({
      target,
      staging: o.staging,
      seqColumn: o.seq,
      schema,
      onConflict,
      extraSet: o.mode === 'snapshot' ? [`${quoteIdent(o.deletedAt)} = NULL`] : [],
      extraChanged: o.mode === 'snapshot' ? `t.${quoteIdent(o.deletedAt)} IS NOT NULL` : undefined,
    });
  // a snapshot re-sends every key by design: a plain insert would fail at once
  const tried =
    o.mode === 'snapshot' && !o.created ? 'merge' : await insertNewKeys(run, o, merge(false), !o.created);
  if (typeof tried === 'number') return { upserted: tried, written: 'insert' };
  return { upserted: (await run(merge(true), [o.runId])).rowCount ?? 0, written: tried };
}

/**
 * The deduplicated staged rows by plain INSERT (`sql`: the merge without ON CONFLICT), resolving
 * with its row count, or the reason the caller must run the ON CONFLICT merge instead. Where no
 * staged key is in the target yet (the first load, every new day) the insert is the whole merge
 * and costs the server about a quarter less than INSERT … ON CONFLICT, whose speculative
 * insertion probes the key's index twice and confirms every row (bench/results/postgres-load.md).
 * `guarded`: a key may already be in the target. A sample of staged keys is looked up first (a
 * window re-read for its lookback then merges at once instead of sorting itself for an insert
 * that fails), and the insert runs under a savepoint whose unique_violation rolls it back: the
 * merge then runs over the same rows, so "latest wins" and "unchanged rows are not rewritten"
 * hold either way. Without the savepoint the violation would abort the window's transaction;
 * without the fallback a window whose existing keys the sample missed would fail. A miss costs
 * the insert up to the first existing key in key order (and dead tuples left to vacuum).
 */
async function insertNewKeys(
  run: Run,
  o: WriteStaged,
  sql: string,
  guarded: boolean,
): Promise<number | 'merge' | 'merge after unique_violation'> {
  if (!guarded) return (await run(sql, [o.runId])).rowCount ?? 0;
  const probe = stagedKeyInTargetSql(o.target, o.staging, o.schema.primaryKey);
  if ((await run(probe, [KEY_SAMPLE])).rows[0]?.found === true) return 'merge';
  await run('SAVEPOINT exportsync_insert');
  try {
    const inserted = (await run(sql, [o.runId])).rowCount ?? 0;
    await run('RELEASE SAVEPOINT exportsync_insert');
    return inserted;
  } catch (err) {
    if (o.isBroken() || (err as { code?: unknown }).code !== UNIQUE_VIOLATION) throw err;
    await run('ROLLBACK TO SAVEPOINT exportsync_insert');
    await run('RELEASE SAVEPOINT exportsync_insert');
    return 'merge after unique_violation';
  }
}
