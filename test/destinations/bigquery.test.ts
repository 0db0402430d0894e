/**
 * The BigQuery destination through the real @google-cloud/bigquery SDK against the local stand-in
 * (test/support/bigquery-standin): the shared contract suite, then what is particular to BigQuery.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Destination, LogicalType } from '../../src/core/contracts.js';
import { DataError, DestinationError, LockedError } from '../../src/core/errors.js';
import { isRetryable } from '../../src/destinations/bigquery/bigquery-errors.js';
import { makeHarnessFor } from '../support/bigquery-standin/harness.js';
import {
  startBigQueryStandin,
  STANDIN_TOKEN,
  type BigQueryStandin,
} from '../support/bigquery-standin/index.js';
import {
  canon,
  col,
  destinationContract,
  eventsSchema,
  loadWindow,
  type DestinationHarness,
} from './contract.js';

let standin: BigQueryStandin;
beforeAll(async () => {
  standin = await startBigQueryStandin();
});
afterAll(async () => {
  await standin?.stop();
});

const target = () => ({
  project: standin.project,
  apiEndpoint: standin.url,
  authClient: standin.authClient(),
});

destinationContract('bigquery (stand-in)', makeHarnessFor(target), { snapshot: true });

// ───────────────────────────── BigQuery specifics ─────────────────────────────

describe('bigquery destination (stand-in): what it sends', () => {
  let h: DestinationHarness;
  let d: Destination;
  const dataset = () =>
    (h.destination as unknown as { options: { config: { dataset: string } } }).options.config.dataset;
  const since = (n: number) => standin.requests.slice(n);

  beforeEach(async () => {
    h = await makeHarnessFor(target)();
    d = h.destination;
  });
  afterEach(async () => {
    await h.cleanup();
  });

  it('stages by an NDJSON load job into a STRING staging table, then one transaction script with MERGE and state; values only as parameters', async () => {
    const mark = standin.requests.length;
    await loadWindow(d, {
      schema: eventsSchema(),
      batches: [[['a', '2024-01-01T01:00:00Z', 'secret-ish value', '1']]],
    });
    const sent = since(mark);
    const upload = sent.find((r) => r.path.startsWith('/upload/'));
    const load = (upload?.body?.configuration as { load: Record<string, unknown> }).load;
    expect(load).toMatchObject({
      sourceFormat: 'NEWLINE_DELIMITED_JSON',
      writeDisposition: 'WRITE_APPEND',
      createDisposition: 'CREATE_NEVER',
      maxBadRecords: 0,
    });
    const fields = (load.schema as { fields: Array<{ name: string; type: string }> }).fields;
    expect(fields[0]).toMatchObject({ name: '_exportsync_seq', type: 'INT64' });
    expect(new Set(fields.slice(1).map((f) => f.type))).toEqual(new Set(['STRING']));
    expect(upload?.data).toContain('"secret-ish value"');
    expect(upload?.authorization).toBe(`Bearer ${STANDIN_TOKEN}`);

    const created = sent.find(
      (r) =>
        r.method === 'POST' &&
        r.path.endsWith('/tables') &&
        (r.body?.tableReference as { tableId: string }).tableId === 'events',
    );
    expect(created?.body).toMatchObject({
      timePartitioning: { type: 'DAY', field: 'ts' },
      clustering: { fields: ['id'] },
    });
    const script = standin.queries().find((q) => q.includes('BEGIN TRANSACTION'));
    expect(script).toBeDefined();
    const statements = script!.split(';\n');
    expect(statements[2]).toBe('BEGIN TRANSACTION');
    expect(statements.findIndex((s) => s.startsWith('MERGE INTO'))).toBeGreaterThan(2);
    expect(statements.some((s) => s.includes('`_exportsync_state`'))).toBe(true);
    expect(statements.at(-2)).toBe('COMMIT TRANSACTION');
    expect(standin.queries().join('\n')).not.toContain('secret-ish value');
    // the staging table is gone after the commit
    expect(sent.some((r) => r.method === 'DELETE' && r.path.includes('_exportsync_stage_'))).toBe(true);
  });

  it('a column added later is a schema patch that appends the field', async () => {
    await loadWindow(d, { schema: eventsSchema(), batches: [[['a', '2024-01-01T01:00:00Z', 'a', '1']]] });
    const mark = standin.requests.length;
    await loadWindow(d, {
      schema: eventsSchema('events', [col('country', 'string', 'dynamic')]),
      batches: [[['b', '2024-01-01T02:00:00Z', 'b', '2', null, null, null, 'NL']]],
    });
    const patch = since(mark).find((r) => r.method === 'PATCH' && r.path.endsWith('/tables/events'));
    const fields = (patch?.body?.schema as { fields: Array<{ name: string; type: string }> }).fields;
    expect(fields.map((f) => f.name)).toEqual([...eventsSchema().columns.map((c) => c.name), 'country']);
    expect(fields.at(-1)?.type).toBe('STRING');
  });

  it('widens INT64 → NUMERIC in place, NUMERIC → BIGNUMERIC in place for wide values, and rebuilds for → STRING', async () => {
    const withV = (t: LogicalType) => eventsSchema('events', [col('v', t, 'dynamic')]);
    const typeOfV = async () =>
      (await d.describeTable('events'))?.columns.find((c) => c.name === 'v')?.nativeType;
    await loadWindow(d, {
      schema: withV('integer'),
      batches: [[['a', '2024-01-01T01:00:00Z', 'a', '1', null, null, null, '9223372036854775807']]],
    });
    expect(await typeOfV()).toBe('INT64');
    let mark = standin.queries().length;
    await loadWindow(d, {
      schema: withV('decimal'),
      batches: [[['b', '2024-01-01T02:00:00Z', 'b', '2', null, null, null, '1.25']]],
    });
    expect(await typeOfV()).toBe('NUMERIC');
    let ddl = standin
      .queries()
      .slice(mark)
      .filter(
        (q) => !q.startsWith('SELECT') && !q.includes('TRANSACTION') && !q.includes('_exportsync_locks'),
      );
    expect(ddl).toEqual([`ALTER TABLE \`${dataset()}\`.\`events\` ALTER COLUMN \`v\` SET DATA TYPE NUMERIC`]);
    await loadWindow(d, {
      schema: withV('decimal'),
      batches: [
        [['c', '2024-01-01T03:00:00Z', 'c', '3', null, null, null, '123456789012345678901234567890.5']],
      ],
    });
    expect(await typeOfV()).toBe('BIGNUMERIC');
    mark = standin.queries().length;
    await loadWindow(d, {
      schema: withV('string'),
      batches: [[['d', '2024-01-01T04:00:00Z', 'd', '4', null, null, null, 'n/a']]],
    });
    expect(await typeOfV()).toBe('STRING');
    ddl = standin
      .queries()
      .slice(mark)
      .filter((q) => q.startsWith('CREATE OR REPLACE TABLE'));
    expect(ddl).toHaveLength(1);
    expect(ddl[0]).toContain('PARTITION BY TIMESTAMP_TRUNC(`ts`, DAY) CLUSTER BY `id`');
    const values = (await h.rows('events', ['id'])).map((r) => [r.id, canon('decimal', r.v ?? null)]);
    expect(values).toEqual([
      ['a', '9223372036854775807'],
      ['b', '1.25'],
      ['c', '123456789012345678901234567890.5'],
      ['d', 'n/a'],
    ]);
  });

  it('an invalid value fails the commit with a DataError naming the staged row, column and value; nothing committed', async () => {
    const err = await loadWindow(d, {
      schema: eventsSchema(),
      batches: [
        [
          ['a', '2024-01-01T01:00:00Z', 'a', '1'],
          ['b', '2024-01-01T02:00:00Z', 'b', 'twelve'],
        ],
      ],
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DataError);
    expect((err as Error).message).toContain('staged row 2 has n = "twelve", not a valid INT64');
    expect(await d.getState('test.events')).toBeNull();
    expect(await d.getColumnMap('events')).toEqual([]);
  });

  it('retries rateLimitExceeded (HTTP 403) and a job that ends in backendError; an invalid query is not retried', async () => {
    await d.describeTable('events');
    const mark = standin.requests.length;
    standin.failNext({
      method: 'POST',
      path: /^\/upload\//,
      kind: 'http',
      status: 403,
      reason: 'rateLimitExceeded',
      message: 'Exceeded rate limits: too many table update operations',
    });
    standin.failNext({
      method: 'POST',
      path: /^\/upload\//,
      kind: 'job',
      status: 500,
      reason: 'backendError',
      message: 'Backend error. Job aborted.',
    });
    standin.failNext({
      method: 'POST',
      path: /^\/bigquery\/v2\/projects\/[^/]+\/jobs$/,
      kind: 'job',
      status: 500,
      reason: 'backendError',
      message: 'Backend error. Job aborted.',
    });
    const result = await loadWindow(d, {
      schema: eventsSchema(),
      batches: [[['a', '2024-01-01T01:00:00Z', 'a', '1']]],
    });
    expect(result.upserted).toBe(1);
    expect(await h.rows('events', ['id'])).toHaveLength(1);
    const sent = since(mark);
    expect(sent.filter((r) => r.path.startsWith('/upload/')).length).toBeGreaterThanOrEqual(3);
    // the query job that ended in backendError was sent again (same text, new job id)
    const texts = sent
      .filter((r) => !r.path.startsWith('/upload/') && r.path.endsWith('/jobs'))
      .map((r) => JSON.stringify((r.body?.configuration as { query: unknown }).query));
    expect(texts.length - new Set(texts).size).toBe(1);

    const before = standin.queries().length;
    standin.failNext({
      method: 'POST',
      path: /^\/bigquery\/v2\/projects\/[^/]+\/jobs$/,
      kind: 'job',
      status: 400,
      reason: 'invalidQuery',
      message: 'Syntax error',
    });
    const err = await d.getState('test.events').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DestinationError);
    expect((err as DestinationError).retryable).toBe(false);
    expect((err as DestinationError).details.code).toBe('invalidQuery');
    expect(standin.queries().length - before).toBe(1);
  });

  it('locks are lease rows: an expired lease of a dead run is taken over, a live one names its holder, and two claims at once give one winner', async () => {
    const locks = `"${dataset()}"."_exportsync_locks"`;
    await standin.engine.run((c) =>
      c.run(
        `INSERT INTO ${locks} VALUES ('stream:dead.run', 'crashed-host:1', now() - INTERVAL 10 MINUTE, now() - INTERVAL 1 MINUTE), ('stream:live.run', 'other-host:2', now(), now() + INTERVAL 10 MINUTE)`,
      ),
    );
    const taken = await d.lock('dead.run', 0);
    await taken.release();
    const refused = await d.lock('live.run', 0).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(LockedError);
    expect((refused as Error).message).toContain('other-host:2');

    const other = await h.reopen();
    const claims = await Promise.allSettled([d.lock('race.run', 0), other.lock('race.run', 0)]);
    expect(claims.filter((c) => c.status === 'fulfilled')).toHaveLength(1);
    expect(
      claims.filter((c) => c.status === 'rejected').map((c) => (c as PromiseRejectedResult).reason),
    ).toEqual([expect.any(LockedError)]);
    for (const c of claims) if (c.status === 'fulfilled') await c.value.release();
  });
});

describe('bigquery errors', () => {
  it('classifies transient reasons, 5xx, resets and concurrent-update aborts as retryable, the rest not', () => {
    expect(isRetryable({ code: 403, errors: [{ reason: 'rateLimitExceeded' }] })).toBe(true);
    expect(isRetryable({ errors: [{ reason: 'backendError' }] })).toBe(true);
    expect(isRetryable({ code: 503 })).toBe(true);
    expect(isRetryable({ code: 'ECONNRESET' })).toBe(true);
    expect(
      isRetryable({
        code: 400,
        errors: [
          {
            reason: 'invalidQuery',
            message: 'Transaction is aborted due to concurrent update against table x',
          },
        ],
      }),
    ).toBe(true);
    expect(isRetryable({ code: 400, errors: [{ reason: 'invalidQuery', message: 'Syntax error' }] })).toBe(
      false,
    );
    expect(isRetryable({ code: 403, errors: [{ reason: 'accessDenied' }] })).toBe(false);
    expect(isRetryable({ code: 403, errors: [{ reason: 'quotaExceeded' }] })).toBe(false);
  });
});
