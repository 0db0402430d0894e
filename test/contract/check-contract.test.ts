/**
 * `check --contract` against simulator variants that each break ONE assumption of a contract:
 * every variant is reported on the point it breaks, with the exit code the docs promise
 * (1 only when loading would lose or double data), and the saved file carries no data value.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startScarfSimulator, type ScarfSimulator } from '../../connectors/scarf/simulator.js';
import { startReplicatedSimulator, type ReplicatedSimulator } from '../../connectors/replicated/simulator.js';
import {
  ADMIN_TOKEN,
  PUBLISHER_TOKEN,
  startMarketplaceSimulator,
  type MarketplaceSimulator,
} from '../../connectors/marketplace/simulator.js';
import { EXIT } from '../../src/core/errors.js';
import { configWith, runContractCheck, scarfLines, tempDir, verdictOf } from './helpers.js';

const dir = tempDir();
let scarf: ScarfSimulator;
let replicated: ReplicatedSimulator;
let marketplace: MarketplaceSimulator;

beforeAll(async () => {
  scarf = await startScarfSimulator();
  replicated = await startReplicatedSimulator();
  marketplace = await startMarketplaceSimulator();
});
afterAll(async () => {
  await Promise.all([scarf.close(), replicated.close(), marketplace.close()]);
});

const scarfConfig = () => configWith(dir, scarfLines(scarf.url));
const differing = (r: Awaited<ReturnType<typeof runContractCheck>>, stream: string) =>
  r.streams.find((s) => s.stream === stream)!.verdicts.filter((v) => v.verdict === 'differs');

describe('check --contract on Scarf events', () => {
  it('reports every point ok for the simulator as the contract describes it, and exits 0', async () => {
    scarf.setVariant({});
    const r = await runContractCheck(scarfConfig(), dir);
    expect(r.code).toBe(EXIT.ok);
    expect(differing(r, 'scarf.events')).toEqual([]);
    expect(verdictOf(r, 'scarf.events', 'end date').verdict).toBe('ok');
    expect(verdictOf(r, 'scarf.events', 'format')).toMatchObject({ verdict: 'ok', message: 'csv' });
    expect(r.stdout).toMatch(/^scarf\.events {2}GET \{base_url\}\/v2\/packages\/\{owner\}\/events/);
    expect(r.stdout).toContain('  ok              field id (key): present, 96 values parse as string\n');
    expect(r.stdout).toMatch(/0 point\(s\) differ; observed shape \(no data values\) saved to /);
  });

  it('a renamed cursor field: DIFFERS on the field, the new name as extra, exit 1', async () => {
    scarf.setVariant({ renameFields: { time: 'timestamp' } });
    const r = await runContractCheck(scarfConfig(), dir);
    expect(r.code).toBe(EXIT.failed);
    expect(verdictOf(r, 'scarf.events', 'field time (cursor)')).toMatchObject({
      verdict: 'differs',
      corrupting: true,
      message: 'missing from the response: rows could not be keyed or windowed',
    });
    expect(verdictOf(r, 'scarf.events', 'extra fields')).toMatchObject({
      verdict: 'differs',
      extra: ['timestamp'],
    });
    expect(verdictOf(r, 'scarf.events', 'end date').verdict).toBe('could not tell');
    expect(r.stdout).toContain('  DIFFERS         field time (cursor): missing from the response');
    expect(r.stdout).toContain('— would lose or double data');
  });

  it('a renamed ordinary field: differs (missing + extra), tolerated, exit 0', async () => {
    scarf.setVariant({ renameFields: { referer: 'referrer' } });
    const r = await runContractCheck(scarfConfig(), dir);
    expect(r.code).toBe(EXIT.ok);
    expect(differing(r, 'scarf.events').map((v) => [v.point, v.corrupting])).toEqual([
      ['field referer', false],
      ['extra fields', false],
    ]);
  });

  it('a field spelled in camelCase is recognised and named as it came', async () => {
    scarf.setVariant({ renameFields: { user_agent: 'userAgent' } });
    const r = await runContractCheck(scarfConfig(), dir);
    expect(verdictOf(r, 'scarf.events', 'field user_agent')).toMatchObject({
      verdict: 'ok',
      message: expect.stringMatching(/^present \(as userAgent\), \d+ values parse as string$/),
    });
    expect(differing(r, 'scarf.events')).toEqual([]);
  });

  it('an exclusive end date: DIFFERS on the end date (every window would lose its last day), exit 1', async () => {
    scarf.setVariant({ endInclusive: false });
    const r = await runContractCheck(scarfConfig(), dir);
    expect(r.code).toBe(EXIT.failed);
    const v = verdictOf(r, 'scarf.events', 'end date');
    expect(v).toMatchObject({
      verdict: 'differs',
      corrupting: true,
      expected: 'inclusive',
      status: 'assumed',
    });
    expect(v.message).toMatch(
      /^the one-day window \d{4}-\d{2}-\d{2} returned nothing, but .* returned 24 rows dated .*: the end date excludes its day, every window would lose its last day$/,
    );
    expect(differing(r, 'scarf.events').map((x) => x.point)).toEqual(['end date']);
  });

  it('an extra column: differs (extra), tolerated, exit 0', async () => {
    scarf.setVariant({});
    scarf.setFaults({ newColumnFrom: '2000-01-01', newColumnName: 'origin_asn' });
    try {
      const r = await runContractCheck(scarfConfig(), dir);
      expect(r.code).toBe(EXIT.ok);
      expect(differing(r, 'scarf.events').map((v) => v.message)).toEqual([
        '1 field the contract does not name: origin_asn (kept: each becomes a column, or goes to _extra)',
      ]);
    } finally {
      scarf.setFaults({ newColumnFrom: undefined });
    }
  });

  it('columns in another order: every point ok', async () => {
    scarf.setVariant({ reverseColumns: true });
    const r = await runContractCheck(scarfConfig(), dir);
    expect(r.code).toBe(EXIT.ok);
    expect(differing(r, 'scarf.events')).toEqual([]);
  });

  it('a timestamp format that still parses: differs on the format only, exit 0', async () => {
    scarf.setVariant({ timeFormat: 'YYYY-MM-DD HH:MM:SS' });
    const r = await runContractCheck(scarfConfig(), dir);
    expect(r.code).toBe(EXIT.ok);
    expect(differing(r, 'scarf.events')).toEqual([
      expect.objectContaining({
        point: 'field time: format',
        expected: 'YYYY-MM-DDTHH:MM:SS.sssZ',
        message: 'YYYY-MM-DD HH:MM:SS ×96 (still parses); without a zone the time is read as UTC',
      }),
    ]);
  });

  it('a timestamp format that does not parse: DIFFERS on the cursor, exit 1', async () => {
    scarf.setVariant({ timeFormat: 'epoch-millis' });
    const r = await runContractCheck(scarfConfig(), dir);
    expect(r.code).toBe(EXIT.failed);
    expect(verdictOf(r, 'scarf.events', 'field time (cursor)')).toMatchObject({
      corrupting: true,
      message:
        '96 of 96 values do not parse as timestamp (seen: epoch-millis ×96), first at line/record 2, 3, 4, 5, 6',
    });
  });

  it('saves field names, kinds, formats and counts, never a data value', async () => {
    scarf.setVariant({});
    const r = await runContractCheck(scarfConfig(), dir);
    const report = r.streams[0]!;
    expect(report.fields.find((f) => f.name === 'time')).toMatchObject({
      values: 96,
      empty: 0,
      kinds: { timestamp: 96 },
      formats: { 'YYYY-MM-DDTHH:MM:SS.sssZ': 96 },
      expected: 'timestamp',
      misfits: 0,
    });
    expect(report.responses).toEqual([
      { status: 200, contentType: 'text/csv; charset=utf-8', body: 'csv' },
      { status: 200, contentType: 'text/csv; charset=utf-8', body: 'csv' },
      { status: 200, contentType: 'text/csv; charset=utf-8', body: 'csv' },
    ]);
    const day = report.windows[0]!.slice(0, 10);
    const { rows } = { rows: [...scarf.rows(day, day)].slice(1) };
    for (const row of rows.slice(0, 10)) {
      expect(r.file).not.toContain(row[0]); // id
      expect(r.file).not.toContain(row[5]); // time
    }
    expect(r.file).not.toContain(scarf.url);
  });

  it('an unknown --streams name exits through the config error (2) before any request', async () => {
    const before = scarf.requests.length;
    await expect(runContractCheck(scarfConfig(), dir, { streams: ['nope'] })).rejects.toThrow(/--streams/);
    expect(scarf.requests.length).toBe(before);
  });
});

describe('check --contract on Replicated and the marketplace', () => {
  const replicatedConfig = () =>
    configWith(dir, [
      'type: replicated',
      'app_id: app-acme',
      'token: replicated-test-token',
      `base_url: ${replicated.url}`,
    ]);

  it('Replicated as the contract says: every point ok', async () => {
    replicated.set({ wrapJson: false, endInclusive: true, eventKeys: 'camel' });
    const r = await runContractCheck(replicatedConfig(), dir);
    expect(r.code).toBe(EXIT.ok);
    expect(differing(r, 'replicated.instance_events')).toEqual([]);
    expect(differing(r, 'replicated.customer_instances')).toEqual([]);
    expect(verdictOf(r, 'replicated.instance_events', 'end date').verdict).toBe('ok');
  });

  it('an array wrapped in the member the contract names: every point ok, exit 0', async () => {
    replicated.set({ wrapJson: true });
    try {
      const r = await runContractCheck(replicatedConfig(), dir, { streams: ['instance_events'] });
      expect(r.code).toBe(EXIT.ok);
      expect(differing(r, 'replicated.instance_events')).toEqual([]);
    } finally {
      replicated.set({ wrapJson: false });
    }
  });

  it('snake_case keys instead of camelCase: every point ok', async () => {
    replicated.set({ eventKeys: 'snake' });
    try {
      const r = await runContractCheck(replicatedConfig(), dir, { streams: ['instance_events'] });
      expect(differing(r, 'replicated.instance_events')).toEqual([]);
    } finally {
      replicated.set({ eventKeys: 'camel' });
    }
  });

  it('an exclusive `before`: DIFFERS on the end date, exit 1', async () => {
    replicated.set({ endInclusive: false });
    try {
      const r = await runContractCheck(replicatedConfig(), dir, { streams: ['instance_events'] });
      expect(r.code).toBe(EXIT.failed);
      expect(verdictOf(r, 'replicated.instance_events', 'end date')).toMatchObject({
        verdict: 'differs',
        corrupting: true,
        status: 'confirmed',
      });
    } finally {
      replicated.set({ endInclusive: true });
    }
  });

  const marketplaceConfig = (format: string) =>
    configWith(dir, [
      'type: marketplace',
      `token: ${PUBLISHER_TOKEN}`,
      `base_url: ${marketplace.url}`,
      `format: ${format}`,
    ]);

  it('marketplace dates sent with a midnight time: differs on the format (still parses), exit 0', async () => {
    marketplace.set({ dateSuffix: 'T00:00:00Z' });
    try {
      const r = await runContractCheck(marketplaceConfig('csv'), dir, { streams: ['install_events'] });
      expect(r.code).toBe(EXIT.ok);
      expect(differing(r, 'marketplace.install_events')).toEqual([
        expect.objectContaining({
          point: 'field install_date: format',
          message: expect.stringMatching(/^YYYY-MM-DDTHH:MM:SSZ ×\d+ \(still parses\)$/),
        }),
      ]);
      expect(verdictOf(r, 'marketplace.install_events', 'end date').verdict).toBe('ok');
    } finally {
      marketplace.set({ dateSuffix: '' });
    }
  });

  it('marketplace JSON as the contract wraps it is ok; a bare array differs, tolerated', async () => {
    let r = await runContractCheck(marketplaceConfig('json'), dir, { streams: ['review_data'] });
    expect(verdictOf(r, 'marketplace.review_data', 'format')).toMatchObject({
      verdict: 'ok',
      message: 'json-object(periods)',
    });
    marketplace.set({ bareJson: true });
    try {
      r = await runContractCheck(marketplaceConfig('json'), dir, { streams: ['review_data'] });
      expect(r.code).toBe(EXIT.ok);
      expect(verdictOf(r, 'marketplace.review_data', 'format')).toMatchObject({
        verdict: 'differs',
        corrupting: false,
      });
    } finally {
      marketplace.set({ bareJson: false });
    }
  });

  it('every stream of every simulator serves its contract: no point differs', async () => {
    scarf.setVariant({});
    const all = await runContractCheck(
      configWith(
        dir,
        scarfLines(scarf.url, [
          'streams: [events, aggregates, company_rollup, company_events, pixel_events]',
          'company_domains: [acme.example]',
        ]),
      ),
      dir,
    );
    const admin = await runContractCheck(
      configWith(dir, [
        'type: marketplace',
        'role: admin',
        `token: ${ADMIN_TOKEN}`,
        `base_url: ${marketplace.url}`,
      ]),
      dir,
    );
    for (const r of [all, admin]) {
      expect(r.code).toBe(EXIT.ok);
      for (const stream of r.streams) {
        expect(
          stream.verdicts.filter((v) => v.verdict === 'differs'),
          stream.stream,
        ).toEqual([]);
        expect(stream.records, stream.stream).toBeGreaterThan(0);
      }
    }
    expect(all.streams.map((s) => s.stream)).toHaveLength(5);
    expect(admin.streams.map((s) => s.stream)).toHaveLength(7);
  });
});
