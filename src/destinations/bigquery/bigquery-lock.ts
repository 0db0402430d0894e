/**
 * Locks across processes as lease rows in `_exportsync_locks` (BigQuery has no session locks).
 * A claim is one script: make sure a row for the key exists, then one conditional UPDATE that
 * takes every row of the key only when no other owner holds an unexpired lease. BigQuery runs
 * mutating DML on a table with snapshot isolation and aborts the later of two conflicting
 * statements ("concurrent update"), so two claims can never both succeed; the loser's abort is
 * retried and then sees the winner's lease. The holder renews the lease every third of its
 * lifetime; a killed process stops renewing and its lease expires after `ttlSeconds`.
 * If two holders could coexist they would interleave windows and state (doubled or lost rows);
 * if a lease leaked forever every later run would exit "locked".
 */
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import type { Logger, StreamLock } from '../../core/contracts.js';
import { LockedError } from '../../core/errors.js';
import { stringParam, type BqClient, type Params } from './bigquery-client.js';
import { tableRef } from './bigquery-sql.js';
import { LOCKS_TABLE, tsText } from './bigquery-state.js';

const POLL_MS = 250;

export function newOwner(): string {
  return `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;
}

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
  const deadline = Date.now() + Math.max(0, opts.waitMs);
  for (;;) {
    const [row] = await client.query(claim, params, `locking ${opts.label}`);
    if (Number(row?.n ?? 0) > 0) break;
    const left = deadline - Date.now();
    if (left <= 0) {
      const waited = opts.waitMs > 0 ? ` after waiting ${opts.waitMs} ms` : '';
      throw new LockedError(
        `${opts.label} is being synced by another run (lease of ${row?.holder ?? '?'} until ${row?.expires ?? '?'}); gave up${waited}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, Math.min(POLL_MS, left)));
  }
  opts.log.debug({ lock: key }, 'lease taken');

  const renewSql =
    `UPDATE ${t} SET expires_at = TIMESTAMP_ADD(CURRENT_TIMESTAMP(), INTERVAL @ttl SECOND) ` +
    `WHERE lock_key = @lock_key AND owner = @owner;\nSELECT CAST(@@row_count AS STRING) AS n;`;
  const timer = setInterval(
    () => {
      client
        .query(renewSql, params, `renewing the lease on ${opts.label}`)
        .then(([row]) => {
          if (Number(row?.n ?? 0) === 0)
            opts.log.error({ lock: key }, 'lease lost: another run may have taken it');
        })
        .catch((err: unknown) =>
          opts.log.warn({ lock: key, err: (err as Error).message }, 'lease renewal failed'),
        );
    },
    Math.max(1000, (opts.ttlSeconds * 1000) / 3),
  );
  timer.unref();
  let released = false;
  return {
    async release() {
      if (released) return;
      released = true;
      clearInterval(timer);
      try {
        await client.query(
          `DELETE FROM ${t} WHERE lock_key = @lock_key AND owner = @owner`,
          params,
          `releasing ${opts.label}`,
        );
      } catch (err) {
        opts.log.warn(
          { lock: key, err: (err as Error).message },
          'release failed; the lease expires on its own',
        );
      }
    },
  };
}
