/**
 * Replicated end to end on Postgres and DuckDB: instance events load incrementally and a re-run
 * changes nothing; the customer_instances snapshot marks a vanished instance deleted (never
 * removes it). Expectations come from the simulator's ground truth.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startReplicatedSimulator, type ReplicatedSimulator } from '../../connectors/replicated/simulator.js';
import { NO_INSTANCE } from '../../connectors/replicated/dictionary.js';
import { parseConfig, type Config } from '../../src/config/load.js';
import { silentLogger } from '../../src/core/log.js';
import { createDestination } from '../../src/destinations/index.js';
import { CUSTOMER_INSTANCE_COLUMNS, INSTANCE_EVENT_COLUMNS } from '../../connectors/replicated/dictionary.js';
import { BACKENDS, type Backend, runOnce, sorted, type Target } from './harness.js';

const TOKEN = 'replicated-test-token';
const NOW = new Date('2026-01-20T12:00:00Z');
const NEXT = new Date('2026-01-21T12:00:00Z');
const at = (d: Date) => () => d;

function config(t: Target, url: string, extra = ''): Config {
  const yaml = [
    `destination: ${t.destinationYaml}`,
    'sync: { backfill_days: 5 }',
    'sources:',
    '  - type: replicated',
    '    app_id: app-acme',
    `    token: ${TOKEN}`,
    `    base_url: ${url}`,
    extra,
    '',
  ].join('\n');
  return parseConfig(yaml, '<e2e>', {});
}

const eventKey = (r: { instance_id: unknown; field_name: unknown; created_at: unknown }) =>
  `${String(r.instance_id)}|${String(r.field_name)}|${(r.created_at instanceof Date ? r.created_at : new Date(String(r.created_at))).toISOString()}`;

describe.each(BACKENDS)('replicated on %s', (_name, makeBackend) => {
  let backend: Backend;
  const sims: ReplicatedSimulator[] = [];
  beforeAll(() => {
    backend = makeBackend();
  });
  afterAll(async () => {
    await Promise.all(sims.map((s) => s.close()));
    await backend.cleanup();
  });
  const sim = async (o: Parameters<typeof startReplicatedSimulator>[0]) => {
    const s = await startReplicatedSimulator(o);
    sims.push(s);
    return s;
  };

  async function eventKeys(t: Target): Promise<string[]> {
    const rows = await t.query<{ instance_id: string; field_name: string; created_at: unknown }>(
      `SELECT instance_id, field_name, created_at FROM ${t.table('replicated_instance_events')}`,
    );
    return rows.map(eventKey);
  }

  for (const format of ['json', 'csv'] as const) {
    test(`instance-events-load-incrementally-and-a-rerun-changes-nothing (${format})`, async () => {
      const s = await sim({ now: NOW, newMetricFrom: '2026-01-18' });
      const t = backend.target();
      const c = config(t, s.url, `    format: ${format}\n    streams: [instance_events]`);
      const first = await runOnce(c, { now: at(NOW) });
      expect(first.status).toBe('ok');
      expect(s.requests.map((r) => [r.query.after, r.query.before])).toEqual(
        ['2026-01-16', '2026-01-17', '2026-01-18', '2026-01-19', '2026-01-20'].map((d) => [d, d]),
      );
      const truth = s
        .events('2026-01-16', '2026-01-20')
        .map((e) =>
          eventKey({ instance_id: e.instanceId, field_name: e.fieldName, created_at: e.createdAt }),
        );
      expect(truth.length).toBeGreaterThan(100);
      expect(sorted(await eventKeys(t))).toEqual(sorted(truth));

      const table = t.table('replicated_instance_events');
      const snapshot = async () =>
        t.query(
          `SELECT instance_id, field_name, CAST(created_at AS VARCHAR) AS c, field_value, CAST(field_value_numeric AS VARCHAR) AS n, is_custom, CAST(_exportsync_loaded_at AS VARCHAR) AS l FROM ${table} ORDER BY 1, 2, 3`,
        );
      const before = await snapshot();
      const again = await runOnce(c, { now: at(NOW) });
      expect(again.status).toBe('ok');
      expect(await snapshot()).toEqual(before); // not even rewritten (loaded_at unchanged)

      s.setNow(NEXT);
      const n = s.requests.length;
      expect((await runOnce(c, { now: at(NEXT) })).status).toBe('ok');
      expect(s.requests.slice(n).map((r) => r.query.after)).toEqual([
        '2026-01-19',
        '2026-01-20',
        '2026-01-21',
      ]);
      const truth2 = s
        .events('2026-01-16', '2026-01-21')
        .map((e) =>
          eventKey({ instance_id: e.instanceId, field_name: e.fieldName, created_at: e.createdAt }),
        );
      expect(sorted(await eventKeys(t))).toEqual(sorted(truth2));
      const [numeric] = await t.query<{ n: number }>(
        `SELECT CAST(count(*) AS INTEGER) AS n FROM ${table} WHERE field_value_numeric IS NOT NULL AND CAST(field_value_numeric AS VARCHAR) <> '' `,
      );
      expect(Number(numeric?.n)).toBeGreaterThan(0);
    }, 60_000);
  }

  test('customer-instances-snapshot-marks-a-vanished-instance-deleted-and-keeps-it', async () => {
    const s = await sim({ now: NOW, newMetricFrom: '2026-01-21', decimalFrom: '2026-01-21' });
    const t = backend.target();
    const c = config(t, s.url, '    streams: [customer_instances]');
    expect((await runOnce(c, { now: at(NOW) })).status).toBe('ok');
    const table = t.table('replicated_customer_instances');
    const truth = s.customerInstances();
    const rows = await t.query<{ customer_id: string; instance_id: string; d: unknown }>(
      `SELECT customer_id, instance_id, _deleted_at AS d FROM ${table}`,
    );
    expect(sorted(rows.map((r) => `${r.customer_id}/${r.instance_id}`))).toEqual(
      sorted(
        truth.map(
          (r) => `${String(r.customer_id)}/${r.instance_id === '' ? NO_INSTANCE : String(r.instance_id)}`,
        ),
      ),
    );
    expect(rows.every((r) => r.d === null)).toBe(true);

    const victim = truth.find((r) => r.instance_id !== '')!;
    s.set({ hiddenInstances: [String(victim.instance_id)] });
    s.setNow(NEXT);
    expect((await runOnce(c, { now: at(NEXT) })).status).toBe('ok');
    const after = await t.query<{ instance_id: string; deleted: boolean; sd: string }>(
      `SELECT instance_id, _deleted_at IS NOT NULL AS deleted, CAST(snapshot_date AS VARCHAR) AS sd FROM ${table}`,
    );
    expect(after).toHaveLength(rows.length);
    expect(after.filter((r) => r.deleted).map((r) => r.instance_id)).toEqual([victim.instance_id]);
    // live rows carry the new snapshot date; the deleted one keeps the last date it was seen
    expect(after.filter((r) => !r.deleted).every((r) => r.sd === '2026-01-21')).toBe(true);
    expect(after.find((r) => r.deleted)?.sd).toBe('2026-01-20');

    // the new metric became a column; disk usage widened to decimal with old integers intact
    const cols = await t.query<{ column_name: string; data_type: string }>(
      `SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = $1 AND table_name = 'replicated_customer_instances' AND column_name LIKE 'custom_metric%'`,
      [table.split('.')[0]!.replace(/"/g, '')],
    );
    const names = cols.map((r) => r.column_name);
    expect(names).toContain('custom_metric_new_feature_usage');
    expect(cols.find((r) => r.column_name === 'custom_metric_disk_usage')?.data_type).toMatch(
      /numeric|decimal/i,
    );

    // the re-run of the same day changes nothing
    const snap = `SELECT customer_id, instance_id, CAST(_deleted_at AS VARCHAR) AS d, CAST(_exportsync_loaded_at AS VARCHAR) AS l FROM ${table} ORDER BY 1, 2`;
    const before = await t.query(snap);
    expect((await runOnce(c, { now: at(NEXT) })).status).toBe('ok');
    expect(await t.query(snap)).toEqual(before);
  }, 60_000);

  test('dictionary-types-land-as-documented', async () => {
    const s = await sim({ now: NOW });
    const t = backend.target();
    const c = config(t, s.url);
    expect((await runOnce(c, { now: at(NOW) })).status).toBe('ok');
    const destination = await createDestination(c.destination, silentLogger);
    await destination.open();
    try {
      for (const [table, dictionary] of [
        ['replicated_instance_events', INSTANCE_EVENT_COLUMNS],
        ['replicated_customer_instances', CUSTOMER_INSTANCE_COLUMNS],
      ] as const) {
        const existing = await destination.describeTable(table);
        const types = Object.fromEntries((existing?.columns ?? []).map((col) => [col.name, col.type]));
        for (const d of dictionary) expect([table, d.name, types[d.name]]).toEqual([table, d.name, d.type]);
      }
    } finally {
      await destination.close();
    }
  }, 60_000);

  test('customer-instances-history-has-one-row-per-key-per-snapshot-date', async () => {
    const s = await sim({ now: NOW });
    const t = backend.target();
    const c = config(t, s.url, '    streams: [customer_instances]');
    await runOnce(c, { now: at(NOW) });
    s.setNow(NEXT);
    await runOnce(c, { now: at(NEXT) });
    await runOnce(c, { now: at(NEXT) });
    const rows = await t.query<{ sd: string; n: number }>(
      `SELECT CAST(snapshot_date AS VARCHAR) AS sd, CAST(count(*) AS INTEGER) AS n FROM ${t.table('replicated_customer_instances_history')} GROUP BY 1 ORDER BY 1`,
    );
    const count = s.customerInstances().length;
    expect(rows.map((r) => [r.sd, Number(r.n)])).toEqual([
      ['2026-01-20', count],
      ['2026-01-21', count],
    ]);
  });
});
