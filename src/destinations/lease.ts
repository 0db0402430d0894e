/**
 * A lock held as a lease row in `_exportsync_locks` (BigQuery and Snowflake have no session locks):
 * who the owner is, how often the holder renews, and how it lets go. The claim and the renewal
 * SQL stay with each backend. The holder renews every third of the lease, so two renewals can fail
 * in a row before the lease runs out; a process that dies stops renewing and its lease expires on
 * its own. Renewing less often would let a live holder's lease lapse and a second run take the
 * same stream (doubled or lost rows); a release that could run twice, or a timer left running
 * after it, would delete or extend a lease another run has since taken.
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Logger, StreamLock } from '../core/contracts.js';

export const LOCKS_TABLE = '_exportsync_locks';

/** An owner name that says which process holds a lease: `<host>:<pid>:<8 hex>`. */
export function newOwner(): string {
  return `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;
}

/** How often the holder of a `leaseSeconds` lease renews it: every third of it, at most once a second. */
export function renewEveryMs(leaseSeconds: number): number {
  return Math.max(1000, (leaseSeconds * 1000) / 3);
}

export interface LeaseHold {
  /** The lock key and the owner, in log lines. */
  key: string;
  owner: string;
  leaseSeconds: number;
  log: Logger;
  /** Extends the lease; false when the row is no longer ours (it expired and was taken). */
  renew: () => Promise<boolean>;
  /** Deletes the row if it is still ours. */
  release: () => Promise<void>;
}

/**
 * The StreamLock of a lease just claimed: renews it in the background (the timer does not keep
 * the process alive) until `release()`, which stops renewing and deletes the row once. A failed
 * renewal or release is logged, not thrown: the lease then expires by itself.
 */
export function holdLease(opts: LeaseHold): StreamLock {
  const { key, log } = opts;
  log.debug({ lock: key, owner: opts.owner }, 'lease taken');
  const timer = setInterval(() => {
    opts.renew().then(
      (ours) => {
        if (!ours) log.error({ lock: key }, 'lease lost: it expired and another run may have taken it');
      },
      (err: unknown) => log.warn({ lock: key, err: (err as Error).message }, 'lease renewal failed'),
    );
  }, renewEveryMs(opts.leaseSeconds));
  timer.unref();
  let released = false;
  return {
    async release() {
      if (released) return;
      released = true;
      clearInterval(timer);
      try {
        await opts.release();
      } catch (err) {
        log.warn({ lock: key, err: (err as Error).message }, 'release failed; the lease expires on its own');
      }
    },
  };
}
