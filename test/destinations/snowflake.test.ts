/**
 * Snowflake destination on the local stand-in (test/support/snowflake-standin), driven through the
 * real snowflake-sdk: the shared contract suite, then what only Snowflake has — the statements
 * sent (DDL before BEGIN, dedupe before MERGE, one transaction), QUERY_TAG, and the PUT + COPY path.
 */
import { afterAll, describe, expect, it } from 'vitest';
import type { Row, TableSchema } from '../../src/core/contracts.js';
import { SMALL_VALUES } from '../../src/destinations/snowflake/snowflake-stage.js';
import { makeSnowflakeHarness, stopSharedStandin } from '../support/snowflake-standin/harness.js';
import { col, destinationContract, eventsSchema, loadWindow, pick, stateAt, win } from './contract.js';

afterAll(stopSharedStandin);

destinationContract('snowflake', makeSnowflakeHarness);

describe('snowflake: statements sent', () => {
  it('a merge window: staging and dedupe and DDL before BEGIN; MERGE, column map, state inside one transaction', async () => {
    const h = await makeSnowflakeHarness();
    try {
      const from = h.standin.statements.length;
      await loadWindow(h.destination, {
        schema: eventsSchema(),
        batches: [
          [
            ['a', '2024-01-01T01:00:00Z', 'old', '1'],
            ['a', '2024-01-01T02:00:00Z', 'new', '2'],
          ],
        ],
        runId: 'run-77',
      });
      const sent = h.standin.statements.slice(from);
      const loadSession = sent[0]!.session;
      const mine = sent.filter((s) => s.session === loadSession).map((s) => s.sql);
      const at = (re: RegExp) => mine.findIndex((sql) => re.test(sql));
      const staging = at(/^CREATE TEMPORARY TABLE .*"_exportsync_stage_[0-9a-f]+"/);
      const insert = at(/^INSERT INTO .*"_exportsync_stage_[0-9a-f]+" \(.*\) VALUES \(\?/);
      const dedupe = at(
        /^CREATE OR REPLACE TEMPORARY TABLE .*_typed" AS SELECT .* QUALIFY ROW_NUMBER\(\) OVER \(PARTITION BY .* ORDER BY .* DESC NULLS LAST, s\."_exportsync_seq" DESC\) = 1$/,
      );
      const create = at(
        new RegExp(
          `^CREATE TABLE IF NOT EXISTS "${h.schema}"\\."events" \\("id" VARCHAR NOT NULL, "ts" TIMESTAMP_TZ`,
        ),
      );
      const begin = at(/^BEGIN$/);
      const merge = at(
        /^MERGE INTO "[^"]+"\."events" t USING .*_typed" s ON t\."id" = s\."id" WHEN MATCHED AND \(/,
      );
      const columns = at(/^MERGE INTO .*"_exportsync_columns"/);
      const state = at(/^MERGE INTO .*"_exportsync_state"/);
      const commit = at(/^COMMIT$/);
      expect(
        [staging, insert, dedupe, create, begin, merge, columns, state, commit].every((i) => i >= 0),
        mine.join('\n'),
      ).toBe(true);
      expect(staging < insert && insert < dedupe && dedupe < create && create < begin).toBe(true);
      expect(begin < merge && merge < columns && columns < state && state < commit).toBe(true);
      // nothing but DML between BEGIN and COMMIT: Snowflake DDL would commit the transaction
      expect(mine.slice(begin + 1, commit).filter((sql) => /^(CREATE|ALTER|DROP)\b/.test(sql))).toEqual([]);
      // the array bind carried both staged rows; values are never spliced into the SQL
      expect(sent.find((s) => /^INSERT INTO .*_exportsync_stage_/.test(s.sql))?.binds).toHaveLength(2);
      expect(mine.join('\n')).not.toContain('old');
      expect(pick(await h.rows('events', ['id']), ['id', 'name'])).toEqual([{ id: 'a', name: 'new' }]);
    } finally {
      await h.cleanup();
    }
  });

  it('every statement of a load carries QUERY_TAG with the run id and the stream', async () => {
    const h = await makeSnowflakeHarness();
    try {
      const from = h.standin.statements.length;
      await loadWindow(h.destination, {
        streamKey: 'scarf.events',
        schema: eventsSchema(),
        batches: [[['a', '2024-01-01T01:00:00Z', 'x', '1']]],
        runId: 'run-20240101T000000-abc',
      });
      const sent = h.standin.statements.slice(from);
      const session = sent[0]!.session;
      const tags = new Set(sent.filter((s) => s.session === session).map((s) => s.queryTag));
      expect([...tags]).toEqual([
        '{"app":"exportsync","run_id":"run-20240101T000000-abc","stream":"scarf.events"}',
      ]);
      await h.destination.recordRun({
        runId: 'run-9',
        command: 'run',
        startedAt: '2024-01-01T00:00:00.000Z',
        status: 'ok',
        streams: [],
        rows: 0,
      });
      expect(JSON.parse(h.standin.statements.at(-1)!.queryTag!)).toEqual({
        app: 'exportsync',
        run_id: 'run-9',
      });
    } finally {
      await h.cleanup();
    }
  });
});

describe('snowflake: bulk path (PUT + COPY INTO)', () => {
  it('a large window goes through a gzip CSV on the table stage, one COPY per column set, values intact', async () => {
    const h = await makeSnowflakeHarness();
    try {
      const v1 = eventsSchema('bulk');
      const v2 = eventsSchema('bulk', [col('note', 'string', 'dynamic')]);
      const n = Math.ceil(SMALL_VALUES / v1.columns.length) + 100;
      const awkward = ['', 'NULL', '\\N', 'a,"b"\nc', '\\', 'ünï ✓'];
      const first: Row[] = Array.from({ length: n }, (_, i) => [
        `k${i}`,
        '2024-01-01T01:00:00Z',
        awkward[i % awkward.length]!,
        String(i),
      ]);
      const second: Row[] = Array.from({ length: n }, (_, i) => [
        `m${i}`,
        '2024-01-01T02:00:00Z',
        null,
        String(i),
        null,
        null,
        null,
        awkward[i % awkward.length]!,
      ]);
      const from = h.standin.statements.length;
      const result = await loadWindow(h.destination, {
        schema: v2,
        batches: [
          { rows: first, schema: v1 },
          { rows: second, schema: v2 },
        ],
      });
      expect(result).toEqual({ staged: 2 * n, upserted: 2 * n, deleted: 0 });
      const sqls = h.standin.statements.slice(from).map((s) => s.sql);
      const puts = sqls.filter((s) =>
        /^PUT 'file:\/\/.*\.csv\.gz' @"[^"]+"\.%"_exportsync_stage_[0-9a-f]+" AUTO_COMPRESS = FALSE SOURCE_COMPRESSION = GZIP/.test(
          s,
        ),
      );
      const copies = sqls.filter((s) =>
        /^COPY INTO .*_exportsync_stage_.* FROM @.*FIELD_OPTIONALLY_ENCLOSED_BY = '"'.*NULL_IF = \(\).* PURGE = TRUE/.test(
          s,
        ),
      );
      expect(puts).toHaveLength(2);
      expect(copies).toHaveLength(2);
      expect(copies[0]).not.toContain('"note"');
      expect(copies[1]).toContain('"note"');
      const rows = await h.rows('bulk', ['id']);
      expect(rows).toHaveLength(2 * n);
      const byId = new Map(rows.map((r) => [r.id, r]));
      for (let i = 0; i < awkward.length; i++) {
        expect(byId.get(`k${i}`)?.name).toBe(awkward[i]);
        expect(byId.get(`m${i}`)?.note).toBe(awkward[i]);
        expect(byId.get(`m${i}`)?.name).toBeNull();
      }
    } finally {
      await h.cleanup();
    }
  });

  it('a decimal column takes its scale from the data and grows it by add-copy-swap, keeping old values', async () => {
    const h = await makeSnowflakeHarness();
    try {
      const schema: TableSchema = { ...eventsSchema('prices', [col('price', 'decimal', 'dynamic')]) };
      await loadWindow(h.destination, {
        schema,
        batches: [[['a', '2024-01-01T01:00:00Z', 'a', '1', null, null, null, '12.5']]],
      });
      expect(
        (await h.destination.describeTable('prices'))?.columns.find((c) => c.name === 'price')?.nativeType,
      ).toBe('NUMBER(38,1)');
      const from = h.standin.statements.length;
      await loadWindow(h.destination, {
        schema,
        window: win('2024-01-02T00:00:00Z', '2024-01-03T00:00:00Z'),
        batches: [[['b', '2024-01-02T01:00:00Z', 'b', '2', null, null, null, '0.0001']]],
      });
      const sqls = h.standin.statements.slice(from).map((s) => s.sql);
      expect(
        sqls.some((s) =>
          /^UPDATE .*"prices" SET "_exportsync_swap_[0-9a-f]+" = CAST\("price" AS NUMBER\(38,4\)\)$/.test(s),
        ),
      ).toBe(true);
      expect(
        (await h.destination.describeTable('prices'))?.columns.find((c) => c.name === 'price')?.nativeType,
      ).toBe('NUMBER(38,4)');
      expect(pick(await h.rows('prices', ['id']), ['id', 'price'])).toEqual([
        { id: 'a', price: '12.5000' },
        { id: 'b', price: '0.0001' },
      ]);
      expect(await h.destination.getState('test.events')).toEqual(stateAt('2024-01-03T00:00:00.000Z'));
    } finally {
      await h.cleanup();
    }
  });
});
