import { describe, expect, it } from 'vitest';
import { DEFAULTS } from '../../src/core/defaults.js';
import { parseConfig, resolveSourceSettings } from '../../src/config/load.js';
import { configErrorOf, minimal, SCARF } from './helpers.js';

describe('config validation', () => {
  it('applies-every-default-so-consumers-never-re-apply-them', () => {
    const config = parseConfig(minimal(), 'test.yaml', {});
    expect(config.destination).toEqual({
      type: 'duckdb',
      path: DEFAULTS.duckdb_path,
      schema: DEFAULTS.duckdb_schema,
      bulk_first_load: DEFAULTS.bulk_first_load,
    });
    expect(config.sync).toEqual({
      backfill_days: DEFAULTS.backfill_days,
      lookback_days: DEFAULTS.lookback_days,
      concurrency: DEFAULTS.concurrency,
      batch_rows: DEFAULTS.batch_rows,
      csv_pass_through: DEFAULTS.csv_pass_through,
      window_attempts: DEFAULTS.window_attempts,
      request_timeout_ms: DEFAULTS.request_timeout_ms,
      max_requests_per_run: DEFAULTS.max_requests_per_run,
      lock_wait_ms: DEFAULTS.lock_wait_ms,
      column_budget: DEFAULTS.column_budget,
      retry: {
        attempts: DEFAULTS.retry_attempts,
        min_delay_ms: DEFAULTS.retry_min_delay_ms,
        max_delay_ms: DEFAULTS.retry_max_delay_ms,
      },
    });
    expect(config.sources[0]).toMatchObject({
      type: 'scarf',
      name: 'scarf',
      base_url: 'https://api.scarf.sh',
      backfill_days: DEFAULTS.backfill_days,
      lookback_days: DEFAULTS.lookback_days,
      max_requests_per_run: DEFAULTS.max_requests_per_run,
    });
  });

  it('bulk-first-load-is-on-by-default-and-can-be-turned-off-per-destination', () => {
    const on = parseConfig(`destination:\n  type: postgres\n  url: postgres://h/db\n${SCARF}`, 'a.yaml', {});
    expect(on.destination).toMatchObject({ bulk_first_load: DEFAULTS.bulk_first_load });
    expect(DEFAULTS.bulk_first_load).toBe(true);
    const off = parseConfig(`destination:\n  type: duckdb\n  bulk_first_load: false\n${SCARF}`, 'b.yaml', {});
    expect(off.destination).toMatchObject({ type: 'duckdb', bulk_first_load: false });
    const err = configErrorOf(
      `destination:\n  type: postgres\n  url: postgres://h/db\n  bulk_first_load: 'no'\n${SCARF}`,
    );
    expect(err.issues.join('\n')).toContain('destination.bulk_first_load');
  });

  it('names-the-path-of-a-missing-required-field', () => {
    const err = configErrorOf(`destination:\n  type: postgres\n${SCARF}`);
    expect(err.issues).toEqual(['destination.url: required']);
    expect(err.message).toContain('destination.url: required');
  });

  it('names-the-index-of-the-source-missing-a-field', () => {
    const err = configErrorOf(`${minimal()}  - type: scarf\n    name: second\n    token: t\n`);
    expect(err.issues).toEqual(['sources[1].owner: required']);
  });

  it('lists-the-known-destination-types-for-an-unknown-one', () => {
    expect(configErrorOf(`destination:\n  type: redshift\n${SCARF}`).issues).toEqual([
      'destination.type: must be one of: duckdb, postgres, bigquery, snowflake',
    ]);
    expect(configErrorOf(`destination:\n  path: x.duckdb\n${SCARF}`).issues).toEqual([
      'destination.type: required (one of: duckdb, postgres, bigquery, snowflake)',
    ]);
  });

  it('snowflake-needs-exactly-one-credential', () => {
    const sf = 'destination: { type: snowflake, account: a, user: u, database: d';
    expect(configErrorOf(`${sf} }\n${SCARF}`).issues).toEqual([
      'destination.password: set exactly one of private_key_path, private_key, password (none is set)',
    ]);
    expect(configErrorOf(`${sf}, private_key: k, password: p }\n${SCARF}`).issues).toEqual([
      'destination.password: set exactly one of private_key_path, private_key, password (private_key and password are set)',
    ]);
  });

  it('lists-the-known-source-types-for-an-unknown-one', () => {
    const err = configErrorOf('destination: {type: duckdb}\nsources:\n  - type: scarff\n    owner: a\n');
    expect(err.issues).toEqual(['sources[0].type: must be one of: scarf, replicated, marketplace']);
  });

  it('rejects-an-unknown-key-by-its-full-path-and-suggests-the-closest', () => {
    const err = configErrorOf(minimal('sync:\n  backfil_days: 365\n  retry:\n    atempts: 2\nextra: 1\n'));
    expect(err.issues).toEqual([
      'sync.retry.atempts: unknown key (did you mean attempts?)',
      'sync.backfil_days: unknown key (did you mean backfill_days?)',
      'extra: unknown key',
    ]);
  });

  it('rejects-an-unknown-key-inside-a-source-and-the-destination', () => {
    const err = configErrorOf(
      'destination:\n  type: duckdb\n  paht: x\nsources:\n  - type: scarf\n    owner: a\n    token: t\n    ownr: b\n',
    );
    expect(err.issues).toEqual([
      'destination.paht: unknown key (did you mean path?)',
      'sources[0].ownr: unknown key (did you mean owner?)',
    ]);
  });

  it('reports-every-issue-at-once-in-short-human-words', () => {
    const err = configErrorOf(
      [
        'destination: {type: postgres, url: "mysql://x"}',
        'sync:',
        '  concurrency: 0',
        '  lookback_days: -1',
        '  batch_rows: 2.5',
        '  column_budget: many',
        '  retry: {min_delay_ms: 1000, max_delay_ms: 10}',
        'sources:',
        '  - {type: scarf, owner: "", token: t, base_url: not-a-url, name: Has-Caps}',
        '  - 7',
      ].join('\n'),
    );
    expect(err.issues).toEqual([
      'destination.url: must be a postgres:// or postgresql:// URL',
      'sync.lookback_days: must be an integer ≥ 0',
      'sync.concurrency: must be an integer ≥ 1',
      'sync.batch_rows: must be an integer ≥ 1',
      'sync.column_budget: must be an integer ≥ 1',
      'sync.retry.max_delay_ms: must be ≥ min_delay_ms (1000)',
      'sources[0].name: lower snake_case: letters, digits, underscores, starting with a letter',
      'sources[0].owner: must not be empty',
      'sources[0].base_url: must be a URL',
      'sources[1]: must be a mapping',
    ]);
    for (const issue of err.issues) expect(err.message).toContain(issue);
  });

  it('rejects-an-empty-sources-list-and-a-missing-destination', () => {
    expect(configErrorOf('sources: []\n').issues).toEqual([
      'destination: required',
      'sources: must not be empty',
    ]);
  });

  it('rejects-duplicate-source-names-naming-both-indexes', () => {
    const err = configErrorOf(`${minimal()}  - type: scarf\n    owner: other\n    token: t\n`);
    expect(err.issues).toEqual([
      'sources[1].name: duplicate source name "scarf" (also sources[0]); give each source a distinct name',
    ]);
  });

  it('reports-a-duplicate-name-even-when-another-source-is-invalid', () => {
    const err = configErrorOf(
      'destination: {type: duckdb}\nsources:\n  - {type: scarf, name: a, owner: x, token: t}\n  - {type: scarf, name: a}\n',
    );
    expect(err.issues).toContain(
      'sources[1].name: duplicate source name "a" (also sources[0]); give each source a distinct name',
    );
    expect(err.issues).toContain('sources[1].owner: required');
  });

  it('accepts-two-sources-of-one-type-with-distinct-names', () => {
    const config = parseConfig(
      `${minimal()}  - type: scarf\n    name: scarf_b\n    owner: b\n    token: t\n`,
      'x',
      {},
    );
    expect(config.sources.map((s) => s.name)).toEqual(['scarf', 'scarf_b']);
  });

  it('lets-a-source-override-win-over-sync', () => {
    const config = parseConfig(
      [
        'destination: {type: duckdb}',
        'sync: {backfill_days: 90, lookback_days: 3, max_requests_per_run: 100}',
        'sources:',
        '  - {type: scarf, owner: a, token: t, backfill_days: 400, window_days: 7}',
        '  - {type: scarf, name: other, owner: b, token: t, lookback_days: 0, max_requests_per_run: 9}',
      ].join('\n'),
      'x',
      {},
    );
    expect(resolveSourceSettings(config, 0)).toEqual({
      backfill_days: 400,
      lookback_days: 3,
      window_days: 7,
      max_requests_per_run: 100,
    });
    expect(resolveSourceSettings(config, 1)).toEqual({
      backfill_days: 90,
      lookback_days: 0,
      max_requests_per_run: 9,
    });
    expect(() => resolveSourceSettings(config, 2)).toThrow(RangeError);
  });

  it('treats-an-empty-section-as-unset', () => {
    const config = parseConfig(`destination:\n  type: duckdb\n  path:\nsync:\n${SCARF}`, 'x', {});
    expect(config.destination).toMatchObject({ path: DEFAULTS.duckdb_path });
    expect(config.sync.backfill_days).toBe(DEFAULTS.backfill_days);
  });

  it('returns-a-deeply-frozen-config', () => {
    const config = parseConfig(minimal('sync: {retry: {attempts: 2}}\n'), 'x', {});
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.sync.retry)).toBe(true);
    expect(Object.isFrozen(config.sources)).toBe(true);
    expect(Object.isFrozen(config.sources[0])).toBe(true);
    expect(() => {
      (config.sync.retry as { attempts: number }).attempts = 9;
    }).toThrow(TypeError);
    expect(config.sync.retry.attempts).toBe(2);
  });
});
