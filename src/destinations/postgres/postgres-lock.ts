/**
 * Per-stream exclusive lock: a session-level advisory lock held on its own connection, so it is
 * released by `release()` or by the server when the process dies (no stale lease to clean up).
 * If two runs could hold it at once they would interleave windows and state, doubling or losing
 * rows; if it leaked, every later run would exit "locked". Waiting and the LockedError text are
 * shared with the other backends (lock-wait.ts).
 */
import pg from 'pg';
import type { Logger, StreamLock } from '../../core/contracts.js';
import { LockedError } from '../../core/errors.js';
import { waitForLock } from '../lock-wait.js';
import { classifyPgError } from './postgres-errors.js';

const POLL_MS = 100;

export function lockKeyText(schema: string, streamKey: string): string {
  return `exportsync:${schema}:${streamKey}`;
}

export async function acquireStreamLock(opts: {
  clientConfig: pg.ClientConfig;
  schema: string;
  streamKey: string;
  waitMs: number;
  log: Logger;
}): Promise<StreamLock> {
  const key = lockKeyText(opts.schema, opts.streamKey);
  const client = new pg.Client(opts.clientConfig);
  client.on('error', (err) =>
    opts.log.warn({ stream: opts.streamKey, err: err.message }, 'lock connection failed'),
  );
  try {
    await client.connect();
    await waitForLock({
      what: `stream ${opts.streamKey}`,
      waitMs: opts.waitMs,
      pollMs: POLL_MS,
      claim: async () => {
        const res = await client.query<{ ok: boolean }>(
          'SELECT pg_try_advisory_lock(hashtextextended($1, 0)) AS ok',
          [key],
        );
        return res.rows[0]?.ok === true;
      },
      holder: () => lockHolder(client, key),
    });
  } catch (err) {
    await client.end().catch(() => undefined);
    if (err instanceof LockedError) throw err;
    throw classifyPgError(err, `locking stream ${opts.streamKey}`);
  }
  opts.log.debug({ stream: opts.streamKey }, 'stream locked');
  let released = false;
  return {
    async release() {
      if (released) return;
      released = true;
      try {
        await client.query('SELECT pg_advisory_unlock(hashtextextended($1, 0))', [key]);
      } catch (err) {
        opts.log.warn(
          { stream: opts.streamKey, err: (err as Error).message },
          'unlock failed; closing the connection releases it',
        );
      } finally {
        await client.end().catch(() => undefined);
      }
    },
  };
}

/**
 * Who holds the advisory lock (pid, application_name, client address) when pg_locks shows it:
 * " (pid 12, …)", or '' when it cannot tell (the message is still useful without it).
 */
async function lockHolder(client: pg.Client, key: string): Promise<string> {
  try {
    const res = await client.query<{
      pid: number;
      application_name: string | null;
      client_addr: string | null;
      backend_start: Date | null;
    }>(
      `SELECT a.pid, a.application_name, a.client_addr::text AS client_addr, a.backend_start
       FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
       WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1
         AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
         AND l.classid = ((hashtextextended($1, 0) >> 32) & 4294967295)::oid
         AND l.objid = (hashtextextended($1, 0) & 4294967295)::oid
       LIMIT 1`,
      [key],
    );
    const h = res.rows[0];
    if (!h) return '';
    const since = h.backend_start ? `, connected since ${h.backend_start.toISOString()}` : '';
    return ` (pid ${h.pid}, application_name ${JSON.stringify(h.application_name ?? '')}${h.client_addr ? ` from ${h.client_addr}` : ''}${since})`;
  } catch {
    return '';
  }
}
