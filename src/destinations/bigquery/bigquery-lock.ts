/**
 * Locks across processes as lease rows in `_exportsync_locks` (BigQuery has no session locks).
 * A claim is one script: make sure a row for the key exists, then one conditional UPDATE that
 * takes every row of the key only when no other owner holds an unexpired lease. BigQuery runs
 * mutating DML on a table with snapshot isolation and aborts the later of two conflicting
 * statements ("concurrent update"), so two claims can never both succeed; the loser's abort is
 * retried and then sees the winner's lease. The holder renews the lease every third of its
 * lifetime; a killed process stops renewing and its lease expires after `ttlSeconds`.
 * If two holders could coexist they would interleave windows and state (doubled or lost rows);
 * if a lease leaked forever every later run would exit "locked". Waiting (lock-wait.ts) and holding
 * the lease (renewal timing, release: lease.ts) are shared with Snowflake; the SQL is BigQuery's.
 */
import type { Logger, StreamLock } from '../../core/contracts.js';
import { holdLease, LOCKS_TABLE } from '../lease.js';
import { waitForLock } from '../lock-wait.js';
import { stringParam, type BqClient, type Params, type TextRow } from './bigquery-client.js';
import { tableRef } from './bigquery-sql.js';
import { tsText } from './bigquery-state.js';

export { newOwner } from '../lease.js';

const POLL_MS = 250;

export async function acquireLease(opts: {
  client: BqClient;
  key: string;
  /** Name used in messages ("stream scarf.events"). */
  label: string;
  owner: string;
  waitMs: number;
  ttlSeconds: number;
  log: Logger;
}): Promise<StreamLock> {
  const { client, key, owner } = opts;
  const t = tableRef(client.dataset, LOCKS_TABLE);
  const params: Params = {
    lock_key: stringParam(key),
    owner: stringParam(owner),
    ttl: { type: 'INT64', value: String(opts.ttlSeconds) },
    expired: { type: 'TIMESTAMP', value: '1970-01-01T00:00:00Z' },
  };
  const claim =
    `INSERT INTO ${t} (lock_key, owner, acquired_at, expires_at) SELECT @lock_key, '', CURRENT_TIMESTAMP(), @expired ` +
    `FROM (SELECT 1 AS one) WHERE NOT EXISTS (SELECT 1 FROM ${t} WHERE lock_key = @lock_key);\n` +
    `UPDATE ${t} SET owner = @owner, acquired_at = CURRENT_TIMESTAMP(), ` +
    `expires_at = TIMESTAMP_ADD(CURRENT_TIMESTAMP(), INTERVAL @ttl SECOND) WHERE lock_key = @lock_key ` +
    `AND NOT EXISTS (SELECT 1 FROM ${t} AS o WHERE o.lock_key = @lock_key AND o.owner != @owner ` +
    `AND o.expires_at >= CURRENT_TIMESTAMP());\n` +
    `SELECT CAST(@@row_count AS STRING) AS n, ` +
    `(SELECT MAX(owner) FROM ${t} WHERE lock_key = @lock_key) AS holder, ` +
    `(SELECT ${tsText('MAX(expires_at)')} FROM ${t} WHERE lock_key = @lock_key) AS expires;`;
  let row: TextRow | undefined;
  await waitForLock({
    what: opts.label,
    waitMs: opts.waitMs,
    pollMs: POLL_MS,
    claim: async () => {
      [row] = await client.query(claim, params, `locking ${opts.label}`);
      return Number(row?.n ?? 0) > 0;
    },
    holder: () => ` (lease of ${row?.holder ?? '?'} until ${row?.expires ?? '?'})`,
  });
  const renewSql =
    `UPDATE ${t} SET expires_at = TIMESTAMP_ADD(CURRENT_TIMESTAMP(), INTERVAL @ttl SECOND) ` +
    `WHERE lock_key = @lock_key AND owner = @owner;\nSELECT CAST(@@row_count AS STRING) AS n;`;
  return holdLease({
    key,
    owner,
    leaseSeconds: opts.ttlSeconds,
    log: opts.log,
    renew: async () => {
      const [renewed] = await client.query(renewSql, params, `renewing the lease on ${opts.label}`);
      return Number(renewed?.n ?? 0) > 0;
    },
    release: async () => {
      await client.query(
        `DELETE FROM ${t} WHERE lock_key = @lock_key AND owner = @owner`,
        params,
        `releasing ${opts.label}`,
      );
    },
  });
}
