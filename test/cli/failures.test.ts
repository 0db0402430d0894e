/**
 * How the CLI fails: partial (3), total (1), locked (4), a rejected token, a dead database, and
 * `check` verdicts. Every run here logs at debug level, and no secret may appear in stdout or
 * stderr (tokens, the database password).
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startScarfSimulator, type ScarfSimulator } from '../../connectors/scarf/simulator.js';
import { silentLogger } from '../../src/core/log.js';
import { startOfUtcDay } from '../../src/core/time.js';
import { createPostgresDestination } from '../../src/destinations/postgres/index.js';
import { TEST_DATABASE_URL, dropSchema, query, uniqueSchema } from '../support/postgres.js';
import { FAST_SYNC, cli, jsonLines, scarfSource, tempDir, writeConfig } from './helpers.js';

const GOOD_TOKEN = 'scarf-good-7Hq2xV9pL4';
const BAD_TOKEN = 'scarf-revoked-Zk81Qw55Mn';
const DB_PASSWORD = 'secretpw-9f3a1c';
const DEAD_DB = `postgres://u:${DB_PASSWORD}@127.0.0.1:1/x`;
const DEBUG = { EXPORTSYNC_LOG_LEVEL: 'debug' };

const schema = uniqueSchema('clif');
let sim: ScarfSimulator;
let tmp: ReturnType<typeof tempDir>;

beforeAll(async () => {
  sim = await startScarfSimulator({ token: GOOD_TOKEN, eventsPerDay: 10, now: startOfUtcDay(new Date()) });
  tmp = tempDir();
});
afterAll(async () => {
  await sim.close();
  tmp.cleanup();
  await dropSchema(schema);
});

function config(
  name: string,
  sources: Array<{ name: string; token: string }>,
  url = TEST_DATABASE_URL,
): string {
  return writeConfig(
    tmp.dir,
    `${name}.yaml`,
    `destination: { type: postgres, url: "${url}", schema: ${schema} }\n${FAST_SYNC}sources:\n` +
      sources.map((s) => scarfSource({ baseUrl: sim.url, ...s })).join('\n') +
      '\n',
  );
}

function expectNoSecrets(r: { stdout: string; stderr: string }): void {
  for (const secret of [GOOD_TOKEN, BAD_TOKEN, DB_PASSWORD]) {
    expect(r.stdout).not.toContain(secret);
    expect(r.stderr).not.toContain(secret);
  }
}

const REJECTED =
  "Scarf rejected the token for owner 'acme' (401 unauthorized: Invalid or missing API token). " +
  "Check the source's token (e.g. ${SCARF_API_TOKEN}) and that its user can export this owner's data";

const count = async (table: string): Promise<number | null> => {
  const exists = await query<{ t: string | null }>('SELECT to_regclass($1)::text AS t', [
    `"${schema}"."${table}"`,
  ]);
  if (!exists[0]?.t) return null;
  return (await query<{ n: number }>(`SELECT count(*)::int AS n FROM "${schema}"."${table}"`))[0]?.n ?? null;
};

describe.concurrent('failures', () => {
  test('one source with a bad token: the good one commits, exit 3, stdout names the failed stream', async () => {
    const path = config('partial', [
      { name: 'good', token: GOOD_TOKEN },
      { name: 'bad', token: BAD_TOKEN },
    ]);
    const r = await cli(['run', '--config', path], { env: DEBUG });
    expect(r.code).toBe(3);
    expect(r.stdout).toMatch(/^run \S+: partial in /);
    expect(r.stdout).toMatch(/^ {2}good\.events +3\/3 window\(s\), 20 rows read, 20 new or changed;/m);
    expect(r.stdout).toContain(`  bad.events                   FAILED: ${REJECTED}; mark (none)\n`);
    expect(r.stdout).toContain('partial: bad.events failed; the others committed\n');
    expect(await count('good_events')).toBe(20);
    expect(await count('bad_events')).toBeNull();
    const logs = jsonLines(r.stderr);
    expect(logs.find((l) => l.msg === 'run finished')).toMatchObject({
      level: 40,
      status: 'partial',
      exitCode: 3,
      failed: ['bad.events'],
    });
    expect(logs.some((l) => l.level === 20)).toBe(true); // debug lines were written, and checked for secrets
    expectNoSecrets(r);
  });

  test('every stream failing is a total failure: exit 1, the message says the token was rejected', async () => {
    const path = config('total', [{ name: 'revoked', token: BAD_TOKEN }]);
    const r = await cli(['run', '--config', path], { env: DEBUG });
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(`  revoked.events               FAILED: ${REJECTED}; mark (none)\n`);
    expect(r.stdout).not.toContain('partial:');
    const summary = jsonLines(r.stderr).find((l) => l.msg === 'run finished');
    expect(summary).toMatchObject({ level: 50, status: 'failed', exitCode: 1, failed: ['revoked.events'] });
    expectNoSecrets(r);
  });

  test('another run holding the stream lock: exit 4, nothing loaded', async () => {
    const path = config('locked', [{ name: 'held', token: GOOD_TOKEN }]);
    const other = createPostgresDestination({ url: TEST_DATABASE_URL, schema, log: silentLogger });
    const lock = await other.lock('held.events', 0);
    try {
      const r = await cli(['run', '--config', path]);
      expect(r.code).toBe(4);
      expect(r.stdout).toMatch(
        /^ {2}held\.events +LOCKED: stream held\.events is being synced by another run \(pid \d+, application_name "exportsync"/m,
      );
      expect(await count('held_events')).toBeNull();
    } finally {
      await lock.release();
      await other.close();
    }
    const after = await cli(['run', '--config', path]);
    expect(after.code).toBe(0);
  });

  test('an unreachable database: exit 1 naming host:port, never the password', async () => {
    const path = config('dead', [{ name: 'scarf', token: GOOD_TOKEN }], DEAD_DB);
    for (const command of [['run'], ['plan'], ['state', 'show']]) {
      const r = await cli([...command, '--config', path], { env: DEBUG });
      expect(r.code, command.join(' ')).toBe(1);
      expect(r.stderr).toContain(
        'exportsync: cannot connect to Postgres at 127.0.0.1:1/x: connect ECONNREFUSED 127.0.0.1:1 (ECONNREFUSED)\n',
      );
      expectNoSecrets(r);
    }
  });

  test('check: one verdict per source and destination; exit 0 when all pass', async () => {
    const path = config('check-ok', [
      { name: 'one', token: GOOD_TOKEN },
      { name: 'two', token: GOOD_TOKEN },
    ]);
    const r = await cli(['check', '--config', path], { env: DEBUG });
    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatch(
      new RegExp(`^ok {4}destination postgres 127\\.0\\.0\\.1:\\d+/\\S+ schema ${schema}: connected as `),
    );
    expect(lines[1]).toBe('ok    source one, scarf (acme): events export reachable (24 columns)');
    expect(lines[2]).toBe('ok    source two, scarf (acme): events export reachable (24 columns)');
    expectNoSecrets(r);
  });

  test('check: a rejected token and a dead database each FAIL, naming the source; exit 1', async () => {
    const path = config(
      'check-bad',
      [
        { name: 'good', token: GOOD_TOKEN },
        { name: 'bad', token: BAD_TOKEN },
      ],
      DEAD_DB,
    );
    const r = await cli(['check', '--config', path], { env: DEBUG });
    expect(r.code).toBe(1);
    expect(r.stdout).toBe(
      'FAIL  destination postgres 127.0.0.1:1/x schema ' +
        `${schema}: cannot connect to Postgres at 127.0.0.1:1/x: connect ECONNREFUSED 127.0.0.1:1 (ECONNREFUSED)\n` +
        'ok    source good, scarf (acme): events export reachable (24 columns)\n' +
        `FAIL  source bad, scarf (acme): ${REJECTED}\n` +
        '2 of 3 check(s) failed\n',
    );
    expectNoSecrets(r);
  });
});
