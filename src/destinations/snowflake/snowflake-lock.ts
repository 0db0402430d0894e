/**
 * Cross-process locks in Snowflake, which has no advisory locks: a row per lock in
 * `_exportsync_locks` (lock_key, owner, acquired_at, expires_at), claimed by ONE conditional MERGE —
 * insert when absent, take over when expired (or already ours) — whose row count says whether we
 * got it. Snowflake runs MERGEs on one table one at a time, so two claimants cannot both win; the
 * owner read back afterwards confirms it. The holder renews `expires_at` every third of the lease;
 * a process that dies stops renewing, and its lock is free once the lease runs out (there is no
 * session to die with it, unlike Postgres). Expiry is judged by the server's clock only.
 * Release deletes the row only if we still own it. Two holders at once would double data; a lock
 * that never expired would block every later run after a crash. Waiting (lock-wait.ts) and holding
 * the lease (renewal timing, release: lease.ts) are shared with BigQuery; the SQL is Snowflake's.
 */
import type { Logger, StreamLock } from '../../core/contracts.js';
import { holdLease, LOCKS_TABLE, newOwner } from '../lease.js';
import { waitForLock } from '../lock-wait.js';
import type { SessionPool } from './snowflake-session.js';
import { isoMillis, qualified } from './snowflake-sql.js';

const POLL_MS = 100;

export function createLocksTableSql(schema: string): string {
  return (
    `CREATE TABLE IF NOT EXISTS ${qualified(schema, LOCKS_TABLE)} (` +
    `"lock_key" VARCHAR NOT NULL, "owner" VARCHAR NOT NULL, "acquired_at" TIMESTAMP_TZ NOT NULL, "expires_at" TIMESTAMP_TZ NOT NULL)`
  );
}

export interface LockOptions {
  pool: SessionPool;
  schema: string;
  key: string;
  waitMs: number;
  leaseSeconds: number;
  log: Logger;
  /** What is locked, for the LockedError message ("stream scarf.events"). */
  what: string;
  tag: string;
}

function leaseExpr(seconds: number): string {
  const s = Math.max(1, Math.floor(seconds));
  return `CURRENT_TIMESTAMP + INTERVAL '${s} SECONDS'`;
}

export async function acquireLock(opts: LockOptions): Promise<StreamLock> {
  const table = qualified(opts.schema, LOCKS_TABLE);
  const owner = newOwner();
  const lease = leaseExpr(opts.leaseSeconds);
  const claim =
    `MERGE INTO ${table} t USING (SELECT CAST(? AS VARCHAR) AS "lock_key", CAST(? AS VARCHAR) AS "owner") s ` +
    `ON t."lock_key" = s."lock_key" ` +
    `WHEN MATCHED AND (t."expires_at" < CURRENT_TIMESTAMP OR t."owner" = s."owner") THEN UPDATE SET ` +
    `"owner" = s."owner", "acquired_at" = CURRENT_TIMESTAMP, "expires_at" = ${lease} ` +
    `WHEN NOT MATCHED THEN INSERT ("lock_key", "owner", "acquired_at", "expires_at") ` +
    `VALUES (s."lock_key", s."owner", CURRENT_TIMESTAMP, ${lease})`;
  const holderSql = `SELECT "owner", ${isoMillis('"acquired_at"')}, ${isoMillis('"expires_at"')} FROM ${table} WHERE "lock_key" = ?`;
  const run = (sql: string, binds: string[]) =>
    opts.pool.with((s) => s.run(sql, binds, opts.tag, `locking ${opts.what}`));
  let holder: unknown[] | undefined;
  await waitForLock({
    what: opts.what,
    waitMs: opts.waitMs,
    pollMs: POLL_MS,
    claim: async () => {
      await run(claim, [opts.key, owner]);
      holder = (await run(holderSql, [opts.key])).rows[0];
      return holder?.[0] === owner;
    },
    holder: () =>
      holder
        ? ` (held by ${String(holder[0])} since ${String(holder[1])}, lease until ${String(holder[2])})`
        : '',
  });
  const renew = `UPDATE ${table} SET "expires_at" = ${lease} WHERE "lock_key" = ? AND "owner" = ?`;
  return holdLease({
    key: opts.key,
    owner,
    leaseSeconds: opts.leaseSeconds,
    log: opts.log,
    renew: async () => (await run(renew, [opts.key, owner])).updated !== 0,
    release: async () => {
      await run(`DELETE FROM ${table} WHERE "lock_key" = ? AND "owner" = ?`, [opts.key, owner]);
    },
  });
}
