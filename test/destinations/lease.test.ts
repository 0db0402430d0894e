/**
 * Lock waiting (lock-wait.ts, all lock-taking backends) and lease holding (lease.ts, BigQuery and
 * Snowflake), on fake timers: no test waits on the clock. The contract suite checks the same
 * behaviour end to end against each backend.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { LockedError } from '../../src/core/errors.js';
import { holdLease, newOwner, renewEveryMs } from '../../src/destinations/lease.js';
import { lockedMessage, waitForLock } from '../../src/destinations/lock-wait.js';
import { capturingLogger } from '../contract/helpers.js';

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('waitForLock', () => {
  it('with waitMs 0 claims once and gives up naming what and who, without "after waiting"', async () => {
    const claim = vi.fn(async () => false);
    const holder = vi.fn(() => ' (pid 7)');
    const err = await waitForLock({ what: 'stream a.b', waitMs: 0, pollMs: 100, claim, holder }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(LockedError);
    expect((err as Error).message).toBe('stream a.b is being synced by another run (pid 7); gave up');
    expect(claim).toHaveBeenCalledTimes(1);
    expect(holder).toHaveBeenCalledTimes(1);
  });

  it('claims again every pollMs until it gets the lock, never asking who holds it', async () => {
    let tries = 0;
    const holder = vi.fn(() => '');
    const done = waitForLock({
      what: 'x',
      waitMs: 10_000,
      pollMs: 100,
      claim: async () => ++tries === 3,
      holder,
    });
    await vi.advanceTimersByTimeAsync(250);
    await expect(done).resolves.toBeUndefined();
    expect(tries).toBe(3);
    expect(holder).not.toHaveBeenCalled();
  });

  it('gives up once waitMs has passed, the last pause cut to the deadline', async () => {
    let tries = 0;
    const done = waitForLock({
      what: 'stream s',
      waitMs: 250,
      pollMs: 100,
      claim: async () => (++tries, false),
      holder: async () => '',
    }).catch((e: unknown) => e);
    await vi.advanceTimersByTimeAsync(250);
    const err = await done;
    expect((err as Error).message).toBe(
      'stream s is being synced by another run; gave up after waiting 250 ms',
    );
    expect(tries).toBe(4); // at 0, 100, 200 and 250 ms
  });

  it('a failing claim rejects with its own error, not LockedError', async () => {
    const boom = new Error('connection reset');
    const done = waitForLock({
      what: 'x',
      waitMs: 1000,
      pollMs: 100,
      claim: () => Promise.reject(boom),
      holder: () => '',
    });
    await expect(done).rejects.toBe(boom);
  });

  it('lockedMessage mentions the wait only when there was one', () => {
    expect(lockedMessage('stream a', '', 5)).toBe(
      'stream a is being synced by another run; gave up after waiting 5 ms',
    );
  });
});

describe('holdLease', () => {
  const hold = (renew: () => Promise<boolean>, release: () => Promise<void> = async () => undefined) => {
    const { log, lines } = capturingLogger();
    const lock = holdLease({ key: 'stream:a', owner: 'me', leaseSeconds: 30, log, renew, release });
    return { lock, lines };
  };

  it('renews every third of the lease, at most once a second', () => {
    expect(renewEveryMs(30)).toBe(10_000);
    expect(renewEveryMs(1)).toBe(1000);
  });

  it('renews in the background until released; release stops renewing and deletes once', async () => {
    const renew = vi.fn(async () => true);
    const release = vi.fn(async () => undefined);
    const { lock } = hold(renew, release);
    await vi.advanceTimersByTimeAsync(30_000);
    expect(renew).toHaveBeenCalledTimes(3);
    await lock.release();
    await lock.release();
    expect(release).toHaveBeenCalledTimes(1);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(renew).toHaveBeenCalledTimes(3);
  });

  it('a lost lease is logged as an error, a failed renewal as a warning, and renewing goes on', async () => {
    const results = [false, 'fail', true];
    const renew = vi.fn(async () => {
      const r = results.shift();
      if (r === 'fail') throw new Error('network down');
      return r === true;
    });
    const { lock, lines } = hold(renew);
    await vi.advanceTimersByTimeAsync(30_000);
    expect(renew).toHaveBeenCalledTimes(3);
    expect(lines.find((l) => /lease lost/.test(String(l.msg)))).toMatchObject({
      level: 50,
      lock: 'stream:a',
    });
    expect(lines.find((l) => /renewal failed/.test(String(l.msg)))).toMatchObject({
      level: 40,
      err: 'network down',
    });
    await lock.release();
  });

  it('a failed release is logged, not thrown: the lease expires on its own', async () => {
    const { lock, lines } = hold(
      async () => true,
      () => Promise.reject(new Error('gone')),
    );
    await expect(lock.release()).resolves.toBeUndefined();
    expect(lines.find((l) => /release failed/.test(String(l.msg)))).toMatchObject({ level: 40, err: 'gone' });
  });

  it('owners name the host and process and differ per call', () => {
    const a = newOwner();
    expect(a).toMatch(new RegExp(`^[^:]+:${process.pid}:[0-9a-f]{8}$`));
    expect(newOwner()).not.toBe(a);
  });
});
