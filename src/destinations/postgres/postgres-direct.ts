/**
 * A window of a bulk first load that COPYs straight into its table (postgres-bulk.ts): whether
 * it may (`openDirectWindow`), the audit values its rows must carry themselves (no insert fills
 * them), and whether a key may be twice among its rows (`WindowKeys`). If a window went direct
 * without holding the table's commit lock, or while an earlier window of its table still had to
 * commit, two writers would interleave schema changes or deadlock; if its rows lacked audit
 * values, they would stay NULL; if a repeat went unseen, the key would be twice until settle.
 */
import type pg from 'pg';
import { AUDIT_COLUMNS } from '../../core/contracts.js';
import type { ColumnSpec, LoadRequest, Row, TableSchema } from '../../core/contracts.js';
import { DestinationError } from '../../core/errors.js';
import { KeyHashSet, keyHashOfValues } from '../../core/key-hash.js';
import { bulkMark, bumpBulkSeq, markBulk } from './postgres-bulk.js';
import { readTable } from './postgres-catalog.js';
import { COMMIT_LOCK_SQL, commitLockKey, ensureTable } from './postgres-commit.js';
import { classifyPgError } from './postgres-errors.js';

export interface DirectWindow {
  /** The window created the table in its transaction (not yet committed). */
  creating: boolean;
  /** The window's rows are those with `_exportsync_seq` above this. */
  seqStart: string;
  /** The transaction's `now()` as text (what the merge's COALESCE gives a NULL loaded-at). */
  loadedAt: string;
}

/**
 * Opens the window's transaction on `client` and takes the table's commit lock when the table is
 * recorded as this run's bulk first load (or does not exist and the load will merge: it is then
 * created unkeyed and recorded here), checked again under the lock; the transaction then stays
 * open until commit or abort. Otherwise (an incremental window, another run's unsettled load)
 * resolves null with no transaction open: the window is staged. The check before the lock costs
 * one or two queries; a table that does not exist yet may be being created by the window before
 * this one, so that case waits for it (`earlierLoadsDone`) and looks again under the lock.
 */
export async function openDirectWindow(o: {
  client: pg.PoolClient;
  schemaName: string;
  request: LoadRequest;
  /** The load's columns so far (the table is brought to them). */
  columns: ColumnSpec[];
  earlierLoadsDone: () => Promise<void>;
  /** The load was aborted (its connection back in the pool): take no lock on it. */
  isAborted: () => boolean;
  /** Told when the transaction opens (true) and when it is rolled back here (false). */
  inTransaction: (open: boolean) => void;
  /** The destination's bulk first load threshold; not finite: bulk first loads are off. */
  bulkMinRows: number;
}): Promise<DirectWindow | null> {
  const { client, schemaName, request } = o;
  const { table } = request.schema;
  if (request.schema.primaryKey.length === 0 || !Number.isFinite(o.bulkMinRows)) return null;
  let statement = 'read the bulk first load record';
  try {
    let mark = await bulkMark(client, schemaName, table);
    if (!mark && (await readTable(client, schemaName, table))) {
      // a keyed table — or one created with its record between the two reads (both commit in
      // one transaction): looked at once more
      mark = await bulkMark(client, schemaName, table);
      if (!mark) return null;
    }
    if (mark && mark.runId !== request.runId) return null;
    await o.earlierLoadsDone();
    if (o.isAborted())
      throw new DestinationError(
        `${request.streamKey}: load aborted while it waited for the earlier loads of its table`,
      );
    statement = 'BEGIN';
    await client.query('BEGIN');
    o.inTransaction(true);
    statement = COMMIT_LOCK_SQL;
    await client.query(COMMIT_LOCK_SQL, [commitLockKey(schemaName, table)]);
    statement = 'read the bulk first load record';
    const locked = await bulkMark(client, schemaName, table);
    const exists = (await readTable(client, schemaName, table)) !== null;
    const run = (sql: string) => {
      statement = sql;
      return client.query(sql);
    };
    const current = { ...request.schema, columns: o.columns };
    const window: DirectWindow = { creating: false, seqStart: '0', loadedAt: '' };
    if (locked?.runId === request.runId && exists) {
      statement = 'move the staging order past earlier windows';
      window.seqStart = await bumpBulkSeq(client, schemaName, table);
      // columns the stream has and the table not yet (added since the table's last commit)
      await ensureTable(client, run, schemaName, current, { deletedAt: false, bulk: false });
    } else if (!locked && !exists && request.mode === 'merge' && request.history === false) {
      // a new merge table: created unkeyed and recorded in this transaction; the commit keys it
      // at once if the window turns out small (commitWindow `creating`)
      await ensureTable(client, run, schemaName, current, { deletedAt: false, bulk: true });
      await markBulk(client, schemaName, table, {
        primaryKey: current.primaryKey,
        cursorColumn: current.cursorColumn,
        runId: request.runId,
      });
      window.creating = true;
    } else {
      statement = 'ROLLBACK';
      await client.query('ROLLBACK');
      o.inTransaction(false);
      return null;
    }
    // as text: the full microseconds, equal to what now() gives the commit's statements
    const now = await client.query<{ t: string }>('SELECT now()::text AS t');
    window.loadedAt = now.rows[0]?.t ?? new Date().toISOString();
    return window;
  } catch (err) {
    throw classifyPgError(err, `begin load of ${request.streamKey}`, statement);
  }
}

export function hasAudit(schema: TableSchema): boolean {
  return schema.columns.some((c) => c.name === AUDIT_COLUMNS.loadedAt || c.name === AUDIT_COLUMNS.runId);
}

/**
 * `rows` with NULL audit values filled as the merge's COALESCE would (postgres-sql.ts
 * `insertExpressions`): a direct window's rows skip that insert. The mapper always fills them;
 * rows that did not are copied, never changed in place.
 */
export function withAudit(rows: Row[], schema: TableSchema, runId: string, loadedAt: string): Row[] {
  const at = schema.columns.findIndex((c) => c.name === AUDIT_COLUMNS.loadedAt && c.type === 'timestamp');
  const run = schema.columns.findIndex((c) => c.name === AUDIT_COLUMNS.runId && c.type === 'string');
  if (at < 0 && run < 0) return rows;
  return rows.map((r) => {
    if ((at < 0 || r[at] != null) && (run < 0 || r[run] != null)) return r;
    const copy = Array.from({ length: Math.max(r.length, at + 1, run + 1) }, (_, i) => r[i] ?? null);
    if (at >= 0 && copy[at] == null) copy[at] = loadedAt;
    if (run >= 0 && copy[run] == null) copy[run] = runId;
    return copy;
  });
}

/**
 * The key hashes of a direct window's rows so far (`CsvRows.keyHashes`, or hashed here for mapped
 * rows): `mayRepeat` once a line came without one or a hash came twice.
 */
export class WindowKeys {
  private seen: KeyHashSet | null = new KeyHashSet();

  get mayRepeat(): boolean {
    return this.seen === null;
  }

  noteHashes(hashes: Float64Array | undefined): void {
    const seen = this.seen;
    if (seen === null) return;
    if (!hashes) {
      this.seen = null;
      return;
    }
    for (let i = 0; i < hashes.length; i++) {
      if (!seen.add(hashes[i] as number)) {
        this.seen = null;
        return;
      }
    }
  }

  noteRows(rows: Row[], schema: TableSchema): void {
    if (this.seen === null) return;
    // text keys only, as the pass-through (equal other values may be spelled apart: 1.0, 1.00)
    const at = schema.primaryKey.map((k) =>
      schema.columns.findIndex((c) => c.name === k && c.type === 'string'),
    );
    const hashes = new Float64Array(rows.length);
    for (const [i, r] of rows.entries()) {
      const h = at.every((k) => k >= 0) ? keyHashOfValues(at.map((k) => r[k])) : null;
      if (h === null) return this.noteHashes(undefined);
      hashes[i] = h;
    }
    this.noteHashes(hashes);
  }
}
