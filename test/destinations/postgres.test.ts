import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import type { Destination, Row } from '../../src/core/contracts.js';
import { silentLogger } from '../../src/core/log.js';
import { DestinationError, LockedError } from '../../src/core/errors.js';
import { createPostgresDestination } from '../../src/destinations/postgres/index.js';
import { csvLine } from '../../src/destinations/postgres/postgres-copy.js';
import { dropSchema, query, TEST_DATABASE_URL, uniqueSchema, withClient } from '../support/postgres.js';
import {
  col,
  AUDIT,
  destinationContract,
  eventsSchema,
  settleContract,
  loadWindow,
  stateAt,
  win,
  type DestinationHarness,
} from './contract.js';

/** Each column as canonical text (see DestinationHarness.rows), ordered by `orderBy`. */
async function tableRows(
  schema: string,
  table: string,
  orderBy: string[],
): Promise<Array<Record<string, string | null>>> {
  const cols = await query<{ column_name: string; data_type: string }>(
    `SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = $1 AND table_name = $2 ORDER BY ordinal_position`,
    [schema, table],
  );
  if (cols.length === 0) throw new Error(`no table ${schema}.${table}`);
  const q = (n: string) => `"${n.replace(/"/g, '""')}"`;
  const select = cols.map(({ column_name: n, data_type: t }) => {
    if (t === 'timestamp with time zone')
      return `to_char(${q(n)} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS ${q(n)}`;
    if (t === 'boolean') return `CASE WHEN ${q(n)} THEN 'true' WHEN NOT ${q(n)} THEN 'false' END AS ${q(n)}`;
    return `${q(n)}::text AS ${q(n)}`;
  });
  return query<Record<string, string | null>>(
    `SELECT ${select.join(', ')} FROM ${q(schema)}.${q(table)} AS src ORDER BY ${orderBy.map((c) => `src.${q(c)}`).join(', ')}`,
  );
}

/** `bulkFirstLoadMinRows`: the destination option (default: the destination's own). */
async function makeHarness(bulkFirstLoadMinRows?: number): Promise<DestinationHarness> {
  const schema = uniqueSchema('pgdest');
  const made: Destination[] = [];
  const open = async () => {
    const d = createPostgresDestination({
      url: TEST_DATABASE_URL,
      schema,
      log: silentLogger,
      applicationName: `exportsync-test-${schema}`,
      ...(bulkFirstLoadMinRows === undefined ? {} : { bulkFirstLoadMinRows }),
    });
    made.push(d);
    await d.open();
    return d;
  };
  const destination = await open();
  return {
    destination,
    rows: (table, orderBy) => tableRows(schema, table, orderBy),
    reopen: open,
    async cleanup() {
      for (const d of made) await d.close();
      await dropSchema(schema);
    },
  };
}

destinationContract('postgres', () => makeHarness());
// the default starts a bulk first load only from 10,000 rows a window: here from the first row, so
// that the settle cases run the direct-COPY-then-settle path and not only the keyed merge
settleContract('postgres, bulk first load from the first row', () => makeHarness(1));

describe('postgres destination', () => {
  let schema: string;
  let d: Destination;
  beforeAll(async () => {
    schema = uniqueSchema('pgspec');
    d = createPostgresDestination({
      url: TEST_DATABASE_URL,
      schema,
      log: silentLogger,
      applicationName: `exportsync-${schema}`,
    });
    await d.open();
  });
  afterAll(async () => {
    await d.close();
    await dropSchema(schema);
  });

  it('CSV encoding keeps NULL and empty string apart and quotes every awkward character', () => {
    expect(csvLine([null, '', 'a', 'a"b', 'a,b', 'a\nb', 'a\\b', '\\.'], 9)).toBe(
      ',"",a,"a""b","a,b","a\nb","a\\b","\\.",\n',
    );
  });

  it('COPY stores awkward text byte for byte (checked by the server, not the harness)', async () => {
    const schema2 = {
      table: 'awkward',
      columns: [col('id', 'integer'), col('t', 'timestamp'), col('s', 'string'), ...AUDIT],
      primaryKey: ['id'],
      cursorColumn: 't',
    };
    const values = ['', '\\N', '\\.', 'x\r\ny', '"', '""', 'a,"b",c', '\\\\', 'tab\there', '😀'];
    const rows: Row[] = values.map((v, i) => [String(i), '2024-01-01T00:00:00Z', v]);
    rows.push(['99', '2024-01-01T00:00:00Z', null]);
    await loadWindow(d, { streamKey: 'awkward', schema: schema2, batches: [rows] });
    const got = await query<{ id: string; s: string | null; len: number | null }>(
      `SELECT id::text, s, octet_length(s) AS len FROM "${schema}".awkward ORDER BY id`,
    );
    expect(got.map((r) => r.s)).toEqual([...values, null]);
    expect(got.map((r) => r.len)).toEqual([...values.map((v) => Buffer.byteLength(v)), null]);
  });

  it('a connection killed mid-commit (pg_terminate_backend) rolls back: no rows, no state, retryable error', async () => {
    const appName = `exportsync-kill-${schema}`;
    const killed = createPostgresDestination({
      url: TEST_DATABASE_URL,
      schema,
      log: silentLogger,
      applicationName: appName,
    });
    await killed.open();
    try {
      const s = eventsSchema('killed');
      const load = await killed.beginLoad({ streamKey: 'test.killed', schema: s, runId: 'r' });
      await load.write([['a', '2024-01-01T01:00:00Z', 'a', '1']], s);
      // Block the commit at its state upsert: another session holds the state table exclusively.
      const blocker = new pg.Client({ connectionString: TEST_DATABASE_URL });
      await blocker.connect();
      try {
        await blocker.query('BEGIN');
        await blocker.query(`LOCK TABLE "${schema}"._exportsync_state IN ACCESS EXCLUSIVE MODE`);
        const commit = load.commit({
          schema: s,
          mode: 'merge',
          window: win('2024-01-01T00:00:00Z', '2024-01-02T00:00:00Z'),
          state: stateAt('2024-01-02T00:00:00.000Z'),
        });
        const outcome = commit.then(
          () => null,
          (err: unknown) => err,
        );
        let pid: number | undefined;
        for (let i = 0; i < 100 && pid === undefined; i++) {
          const res = await blocker.query<{ pid: number }>(
            `SELECT pid FROM pg_stat_activity WHERE application_name = $1 AND wait_event_type = 'Lock'`,
            [appName],
          );
          pid = res.rows[0]?.pid;
          if (pid === undefined) await new Promise((r) => setTimeout(r, 50));
        }
        expect(pid, 'the commit should be waiting on the state table').toBeDefined();
        await withClient((c) => c.query('SELECT pg_terminate_backend($1)', [pid]));
        const err = await outcome;
        expect(err).toBeInstanceOf(DestinationError);
        expect((err as DestinationError).retryable).toBe(true);
        expect(['57P01', '08006']).toContain((err as DestinationError).details.code);
        await blocker.query('ROLLBACK');
        await load.abort(); // must not throw on a dead connection
      } finally {
        await blocker.end();
      }
      expect(await killed.describeTable('killed')).toBeNull();
      expect(await killed.getState('test.killed')).toBeNull();
      // the pool recovered: a new load on the same destination works
      await loadWindow(killed, {
        streamKey: 'test.killed',
        schema: eventsSchema('killed'),
        batches: [[['b', '2024-01-01T01:00:00Z', 'b', '1']]],
      });
      expect(await query(`SELECT id FROM "${schema}".killed`)).toEqual([{ id: 'b' }]);
    } finally {
      await killed.close();
    }
  });

  it('an unreachable server gives a DestinationError naming host:port and never the password', async () => {
    const bad = createPostgresDestination({
      url: 'postgres://someone:sup3rs3cret@127.0.0.1:1/nowhere',
      schema: 'x',
      log: silentLogger,
    });
    const err = await bad.open().then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(DestinationError);
    const message = (err as Error).message;
    expect(message).toContain('127.0.0.1:1');
    expect(message).not.toContain('sup3rs3cret');
    expect((err as DestinationError).retryable).toBe(true);
    const verdict = await bad.check();
    expect(verdict.ok).toBe(false);
    expect(verdict.message).toContain('127.0.0.1:1');
    expect(JSON.stringify(verdict)).not.toContain('sup3rs3cret');
    await bad.close();
  });

  it('a LockedError names the holding backend pid and application_name', async () => {
    const other = createPostgresDestination({
      url: TEST_DATABASE_URL,
      schema,
      log: silentLogger,
      applicationName: 'holder-app',
    });
    await other.open();
    try {
      const held = await other.lock('scarf.events', 0);
      const err = await d.lock('scarf.events', 0).then(
        () => null,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(LockedError);
      expect((err as Error).message).toMatch(
        /stream scarf\.events is being synced by another run \(pid \d+, application_name "holder-app"/,
      );
      await held.release();
      await (await d.lock('scarf.events', 0)).release();
    } finally {
      await other.close();
    }
  });

  it('the lock is released when the holding process dies (its connection closes)', async () => {
    const other = createPostgresDestination({
      url: TEST_DATABASE_URL,
      schema,
      log: silentLogger,
      applicationName: `dies-${schema}`,
    });
    await other.open();
    await other.lock('scarf.dies', 0);
    await expect(d.lock('scarf.dies', 0)).rejects.toBeInstanceOf(LockedError);
    await withClient((c) =>
      c.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1', [
        `dies-${schema}`,
      ]),
    );
    const mine = await d.lock('scarf.dies', 5000);
    await mine.release();
    await other.close();
  });

  it('two processes opening the same new schema at once both succeed', async () => {
    const fresh = uniqueSchema('pgopen');
    const make = () =>
      createPostgresDestination({ url: TEST_DATABASE_URL, schema: fresh, log: silentLogger });
    const many = [make(), make(), make(), make()];
    try {
      await Promise.all(many.map((x) => x.open()));
      expect(await many[0]!.listStates()).toEqual([]);
    } finally {
      for (const x of many) await x.close();
      await dropSchema(fresh);
    }
  });

  it('statement_timeout cancels a slow statement with a classified, non-retryable error', async () => {
    const slow = createPostgresDestination({
      url: TEST_DATABASE_URL,
      schema,
      log: silentLogger,
      statementTimeoutMs: 200,
    });
    await slow.open();
    const blocker = new pg.Client({ connectionString: TEST_DATABASE_URL });
    await blocker.connect();
    try {
      await blocker.query('BEGIN');
      await blocker.query(`LOCK TABLE "${schema}"._exportsync_state IN ACCESS EXCLUSIVE MODE`);
      const err = await slow.getState('x').then(
        () => null,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(DestinationError);
      expect((err as DestinationError).details.code).toBe('57014');
      expect((err as DestinationError).retryable).toBe(false);
    } finally {
      await blocker.query('ROLLBACK');
      await blocker.end();
      await slow.close();
    }
  });

  it('check() fails with a clear verdict when the role lacks CREATE on the schema', async () => {
    const role = `exportsync_ro_${schema}`;
    await query(`CREATE ROLE ${role} LOGIN`);
    try {
      await query(`GRANT USAGE ON SCHEMA "${schema}" TO ${role}`);
      const url = new URL(TEST_DATABASE_URL);
      url.username = role;
      const ro = createPostgresDestination({ url: url.toString(), schema, log: silentLogger });
      const verdict = await ro.check();
      expect(verdict.ok).toBe(false);
      expect(verdict.message).toContain(`lacks CREATE on schema ${schema}`);
      await ro.close();
    } finally {
      await query(`REVOKE ALL ON SCHEMA "${schema}" FROM ${role}`);
      await query(`DROP ROLE ${role}`);
    }
  });

  it('re-committing unchanged rows rewrites nothing; a change in data or _extra does', async () => {
    const s = eventsSchema('same');
    const rows: Row[] = [
      ['a', '2024-01-01T01:00:00Z', 'a', '1', null, null, '{"x":1}'],
      ['b', '2024-01-01T02:00:00Z', 'b', '2'],
    ];
    await loadWindow(d, { streamKey: 'same', schema: s, batches: [rows], runId: 'run-1' });
    const again = await loadWindow(d, { streamKey: 'same', schema: s, batches: [rows], runId: 'run-2' });
    expect(again.upserted).toBe(0);
    const changed = await loadWindow(d, {
      streamKey: 'same',
      schema: s,
      batches: [[['a', '2024-01-01T01:00:00Z', 'a', '1', null, null, '{"x":2}'], rows[1]!]],
      runId: 'run-3',
    });
    expect(changed.upserted).toBe(1);
    expect(await query(`SELECT id, _exportsync_run_id AS run FROM "${schema}".same ORDER BY id`)).toEqual([
      { id: 'a', run: 'run-3' },
      { id: 'b', run: 'run-1' },
    ]);
  });

  it('refuses to narrow a column and leaves the table as it was', async () => {
    const wide = eventsSchema('narrow', [col('v', 'string', 'dynamic')]);
    await loadWindow(d, {
      streamKey: 'narrow',
      schema: wide,
      batches: [[['a', '2024-01-01T01:00:00Z', 'a', '1', null, null, null, 'text']]],
    });
    const narrow = eventsSchema('narrow', [col('v', 'integer', 'dynamic')]);
    const err = await loadWindow(d, {
      streamKey: 'narrow',
      schema: narrow,
      batches: [[['b', '2024-01-01T01:00:00Z', 'b', '1', null, null, null, '5']]],
    }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(DestinationError);
    expect((err as Error).message).toMatch(/cannot change to integer/);
    expect((await d.describeTable('narrow'))?.columns.find((c) => c.name === 'v')?.type).toBe('string');
  });

  it('the snapshot history table has primary key (key, cursor) and no _deleted_at', async () => {
    const funnel = {
      table: 'pkfunnel',
      columns: [col('domain', 'string'), col('day', 'date'), col('stage', 'string'), ...AUDIT],
      primaryKey: ['domain'],
      cursorColumn: 'day',
    };
    await loadWindow(d, {
      streamKey: 'pkfunnel',
      schema: funnel,
      mode: 'snapshot',
      window: win('2024-01-01T00:00:00Z', '2024-01-02T00:00:00Z'),
      batches: [[['a.com', '2024-01-01', 'lead']]],
      history: true,
    });
    const key = await query<{ column_name: string }>(
      `SELECT a.attname AS column_name FROM pg_index i
       JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)
       WHERE i.indrelid = format('%I.%I', $1::text, 'pkfunnel_history')::regclass AND i.indisprimary
       ORDER BY array_position(i.indkey::int2[], a.attnum)`,
      [schema],
    );
    expect(key.map((k) => k.column_name)).toEqual(['domain', 'day']);
    const columns = (await d.describeTable('pkfunnel_history'))?.columns.map((c) => c.name);
    expect(columns).not.toContain('_deleted_at');
    expect((await d.describeTable('pkfunnel'))?.columns.map((c) => c.name)).toContain('_deleted_at');
  });
});
