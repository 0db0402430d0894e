/**
 * Snowflake failure paths on the stand-in, through the real snowflake-sdk: errors classified by
 * Snowflake code (compilation terminal and naming the statement, warehouse suspended retryable),
 * lost sessions (reconnect for short statements, a retryable failure for a load that lost its
 * staging), lock leases, key-pair auth and the auth choice in the config.
 */
import { generateKeyPairSync } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { snowflakeDestinationSchema } from '../../src/config/snowflake.js';
import { ConfigError, DestinationError, LockedError } from '../../src/core/errors.js';
import { silentLogger } from '../../src/core/log.js';
import { createSnowflakeDestination } from '../../src/destinations/snowflake/index.js';
import {
  destinationOn,
  makeSnowflakeHarness,
  stopSharedStandin,
} from '../support/snowflake-standin/harness.js';
import { startSnowflakeStandin } from '../support/snowflake-standin/index.js';
import { eventsSchema, loadWindow, pick, stateAt } from './contract.js';

afterAll(stopSharedStandin);

async function rejection(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected a rejection');
}

const row = (id: string, name = id) => [id, '2024-01-01T01:00:00Z', name, '1'];

describe('snowflake: errors by code', () => {
  it('a SQL compilation error in the commit is terminal, names the statement, and rolls back', async () => {
    const h = await makeSnowflakeHarness();
    try {
      const s1 = stateAt('2024-01-02T00:00:00.000Z');
      await loadWindow(h.destination, { schema: eventsSchema(), batches: [[row('a')]], state: s1 });
      h.standin.failNext(/^MERGE INTO "[^"]+"\."events"/, {
        code: '002003',
        sqlState: '42S02',
        message: "SQL compilation error:\nObject 'EVENTS' does not exist or not authorized.",
      });
      const err = await rejection(
        loadWindow(h.destination, {
          schema: eventsSchema(),
          batches: [[row('b')]],
          state: stateAt('2024-01-03T00:00:00.000Z'),
        }),
      );
      expect(err).toBeInstanceOf(DestinationError);
      expect((err as DestinationError).retryable).toBe(false);
      expect((err as DestinationError).details.code).toBe('002003');
      expect(err.message).toMatch(/SQL compilation error/);
      expect(err.message).toMatch(/in statement: MERGE INTO "[^"]+"\."events" t USING/);
      expect((err as DestinationError).details.statement).toMatch(/^MERGE INTO/);
      expect(h.standin.statements.at(-1)?.sql).toBe('ROLLBACK');
      expect(await h.destination.getState('test.events')).toEqual(s1);
      expect((await h.rows('events', ['id'])).map((r) => r.id)).toEqual(['a']);
    } finally {
      await h.cleanup();
    }
  });

  it('a suspended warehouse is retryable, and nothing of the window is committed', async () => {
    const h = await makeSnowflakeHarness();
    try {
      h.standin.failNext(/^MERGE INTO .*"_exportsync_state"/, {
        code: '000608',
        sqlState: '57P03',
        message: "Warehouse 'LOAD_WH' is suspended.",
      });
      const err = await rejection(
        loadWindow(h.destination, { schema: eventsSchema(), batches: [[row('a')]] }),
      );
      expect(err).toBeInstanceOf(DestinationError);
      expect((err as DestinationError).retryable).toBe(true);
      expect(await h.rows('events', ['id'])).toEqual([]);
      expect(await h.destination.getState('test.events')).toBeNull();
      await loadWindow(h.destination, { schema: eventsSchema(), batches: [[row('a')]] });
      expect((await h.rows('events', ['id'])).map((r) => r.id)).toEqual(['a']);
    } finally {
      await h.cleanup();
    }
  });
});

describe('snowflake: lost sessions', () => {
  it('an expired session token is renewed by the driver; an expired master token makes us log in again', async () => {
    const h = await makeSnowflakeHarness();
    try {
      await loadWindow(h.destination, { schema: eventsSchema(), batches: [[row('a')]] });
      h.standin.expireSessions();
      expect(await h.destination.getState('test.events')).not.toBeNull();
      const logins = h.standin.logins;
      h.standin.expireSessions({ master: true });
      expect((await h.destination.getState('test.events'))?.highWaterMark).toBe('2024-01-02T00:00:00.000Z');
      expect(h.standin.logins).toBe(logins + 1);
    } finally {
      await h.cleanup();
    }
  });

  it('a load whose session dies fails retryable; the next load of the window commits on a new session', async () => {
    const h = await makeSnowflakeHarness();
    try {
      const load = await h.destination.beginLoad({
        streamKey: 'test.events',
        schema: eventsSchema(),
        runId: 'r1',
      });
      await load.write([row('a')], eventsSchema());
      h.standin.expireSessions({ master: true });
      const err = await rejection(
        load.commit({
          schema: eventsSchema(),
          mode: 'merge',
          window: { from: new Date('2024-01-01T00:00:00Z'), to: new Date('2024-01-02T00:00:00Z') },
          state: stateAt('2024-01-02T00:00:00.000Z'),
        }),
      );
      expect(err).toBeInstanceOf(DestinationError);
      expect((err as DestinationError).retryable).toBe(true);
      expect(err.message).toMatch(/session lost/);
      await load.abort();
      expect(await h.destination.getState('test.events')).toBeNull();
      await loadWindow(h.destination, { schema: eventsSchema(), batches: [[row('a')]] });
      expect(pick(await h.rows('events', ['id']), ['id'])).toEqual([{ id: 'a' }]);
    } finally {
      await h.cleanup();
    }
  });
});

describe('snowflake: stream locks are lease rows', () => {
  it('a dead holder (lease expired) is taken over; its late release does not free the new holder', async () => {
    const h = await makeSnowflakeHarness();
    try {
      const other = await h.reopen();
      const dead = await h.destination.lock('scarf.events', 0);
      const locked = await rejection(other.lock('scarf.events', 0));
      expect(locked).toBeInstanceOf(LockedError);
      expect(locked.message).toMatch(/held by .+:\d+:[0-9a-f]{8} since \d{4}-\d\d-\d\dT.*lease until/);
      // the holder died: nobody renews, the lease runs out
      await h.standin.query(
        `UPDATE "${h.schema}"."_exportsync_locks" SET expires_at = now() - INTERVAL 1 SECOND`,
      );
      const taken = await other.lock('scarf.events', 0);
      await dead.release(); // deletes only its own row
      expect(await rejection(h.destination.lock('scarf.events', 0))).toBeInstanceOf(LockedError);
      await taken.release();
      const again = await h.destination.lock('scarf.events', 0);
      await again.release();
    } finally {
      await h.cleanup();
    }
  });
});

describe('snowflake: authentication', () => {
  it('key-pair auth signs a JWT the server verifies; a wrong key fails check() without leaking it', async () => {
    const key = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const wrong = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const pem = (k: typeof key) => k.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    const sf = await startSnowflakeStandin({
      publicKeyPem: key.publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    });
    try {
      const base = { ...sf.config({ schema: 'kp' }), password: undefined };
      const good = createSnowflakeDestination({
        config: snowflakeDestinationSchema.parse({ ...base, private_key: pem(key) }),
        log: silentLogger,
      });
      const verdict = await good.check();
      expect(verdict.ok, verdict.message).toBe(true);
      expect(verdict.message).toMatch(/connected as tester .*warehouse STANDIN_WH/);
      await good.close();
      const bad = createSnowflakeDestination({
        config: snowflakeDestinationSchema.parse({ ...base, private_key: pem(wrong) }),
        log: silentLogger,
      });
      const refused = await bad.check();
      expect(refused.ok).toBe(false);
      expect(refused.message).toMatch(/390144|JWT/);
      expect(refused.message).not.toContain('PRIVATE KEY');
      await bad.close();
    } finally {
      await sf.stop();
    }
  });

  it('the config must choose exactly one of private_key_path, private_key and password', async () => {
    const sf = await (await import('../support/snowflake-standin/harness.js')).sharedStandin();
    const none = { ...sf.config(), password: undefined };
    expect(() => destinationOn(sf, 'x', none)).toThrow(ConfigError);
    expect(() => destinationOn(sf, 'x', { private_key: 'k' })).toThrow(/only one of private_key, password/);
  });
});

describe('snowflake: a dead idle session', () => {
  it('beginLoad replaces a pooled session that expired while idle', async () => {
    const h = await makeSnowflakeHarness();
    try {
      await h.destination.getState('test.events'); // leaves an idle session in the pool
      h.standin.expireSessions({ master: true });
      await loadWindow(h.destination, { schema: eventsSchema(), batches: [[row('a')]] });
      expect((await h.rows('events', ['id'])).map((r) => r.id)).toEqual(['a']);
    } finally {
      await h.cleanup();
    }
  });
});
