/**
 * Waiting for a cross-process lock, whatever holds it (a Postgres advisory lock, a lease row in
 * BigQuery or Snowflake): try to claim it, and until `waitMs` has passed try again every
 * `pollMs`; then give up with a LockedError that names what is locked and, where the backend can
 * tell, who holds it. The CLI reports a stream as LOCKED by that error class and prints its
 * message; a wait that never ended would hang a run behind a crashed holder, and a claim tried
 * only once would make `--lock-wait` meaningless.
 */
import { LockedError } from '../core/errors.js';

export interface LockWait {
  /** What is locked, first in the message ("stream scarf.events"). */
  what: string;
  /** How long to keep trying; 0 tries once. */
  waitMs: number;
  /** The pause between two claims (never past the deadline). */
  pollMs: number;
  /** One claim: true when the lock is now ours. */
  claim: () => Promise<boolean>;
  /**
   * Who holds it, for the message, asked once when giving up: " (pid 12, …)" with its leading
   * space and parentheses, or '' when unknown.
   */
  holder: () => string | Promise<string>;
}

/** Resolves once `claim` succeeds; rejects with LockedError when `waitMs` runs out first. */
export async function waitForLock(opts: LockWait): Promise<void> {
  const deadline = Date.now() + Math.max(0, opts.waitMs);
  for (;;) {
    if (await opts.claim()) return;
    const left = deadline - Date.now();
    if (left <= 0) throw new LockedError(lockedMessage(opts.what, await opts.holder(), opts.waitMs));
    await new Promise((resolve) => setTimeout(resolve, Math.min(opts.pollMs, left)));
  }
}

/** "stream x is being synced by another run (holder); gave up after waiting N ms". */
export function lockedMessage(what: string, holder: string, waitMs: number): string {
  const waited = waitMs > 0 ? ` after waiting ${waitMs} ms` : '';
  return `${what} is being synced by another run${holder}; gave up${waited}`;
}
