import { afterEach, describe, expect, it } from 'vitest';
import { SourceError } from '../../../src/core/errors.js';
import { eventDateRange, replicatedSourceSchema } from '../../../connectors/replicated/index.js';
import { NO_INSTANCE } from '../../../connectors/replicated/dictionary.js';
import { numericValue } from '../../../connectors/replicated/records.js';
import {
  faults,
  startReplicatedSimulator,
  type ReplicatedSimulator,
  type ReplicatedSimulatorOptions,
} from '../../../connectors/replicated/simulator.js';
import { APP, TOKEN, collect, context, mapped, objects, sourceFor, window } from './helpers.js';

const NOW = new Date('2026-01-20T12:00:00.000Z');
let sim: ReplicatedSimulator | undefined;
afterEach(async () => {
  await sim?.close();
  sim = undefined;
});

async function setup(options: ReplicatedSimulatorOptions = {}, config: Record<string, unknown> = {}) {
  sim = await startReplicatedSimulator({ now: NOW, ...options });
  const source = sourceFor(sim, config);
  const [events, instances] = source.streams;
  return { sim, source, events: events!, instances: instances!, ctx: context() };
}

describe('config', () => {
  it('defaults-format-json-and-the-public-origin-and-rejects-unknown-keys', () => {
    const c = replicatedSourceSchema.parse({ type: 'replicated', app_id: 'a', token: 't' });
    expect(c.format).toBe('json');
    expect(c.base_url).toBe('https://api.replicated.com');
    expect(() =>
      replicatedSourceSchema.parse({ type: 'replicated', app_id: 'a', token: 't', owner: 'x' }),
    ).toThrow();
    expect(() => replicatedSourceSchema.parse({ type: 'replicated', token: 't' })).toThrow();
  });
});

describe('instance_events', () => {
  it('asks-a-one-day-window-as-after-and-before-the-same-day-inclusive', async () => {
    expect(eventDateRange(window('2026-01-10', '2026-01-11'))).toEqual({
      after: '2026-01-10',
      before: '2026-01-10',
    });
    expect(eventDateRange(window('2026-01-10', '2026-01-13'))).toEqual({
      after: '2026-01-10',
      before: '2026-01-12',
    });
    const { sim, events, ctx } = await setup({}, { customer_ids: ['c1', 'c2'], event_types: ['numUsers'] });
    await collect(events.read(window('2026-01-10', '2026-01-11'), ctx));
    expect(sim.requests).toHaveLength(1);
    expect(sim.requests[0]!.path).toBe(`/vendor/v3/app/${APP}/events`);
    expect(sim.requests[0]!.query).toEqual({
      after: '2026-01-10',
      before: '2026-01-10',
      customerIds: 'c1,c2',
      eventTypes: 'numUsers',
    });
    expect(events.describe(window('2026-01-10', '2026-01-11'))).toContain(
      'after=2026-01-10&before=2026-01-10',
    );
  });

  it('sends-the-token-raw-without-bearer', async () => {
    const { sim, events, ctx } = await setup();
    await collect(events.read(window('2026-01-10', '2026-01-11'), ctx));
    expect(sim.requests[0]!.authorization).toBe(TOKEN);
  });

  it('json-and-csv-answers-give-identical-rows', async () => {
    const { sim, events, ctx } = await setup({ decimalFrom: '2026-01-05', stringFrom: '2026-01-08' });
    const w = window('2026-01-03', '2026-01-10');
    const json = await mapped(events.read(w, ctx), events);
    const csvSource = sourceFor(sim, { format: 'csv' }).streams[0]!;
    const csv = await mapped(csvSource.read(w, ctx), csvSource);
    expect(sim.requests.map((r) => r.query.format)).toEqual([undefined, 'csv']);
    expect(json.rows.length).toBeGreaterThan(50);
    expect(json.rows.length).toBe(sim.events('2026-01-03', '2026-01-09').length);
    expect(csv.schema).toEqual(json.schema);
    expect(csv.rows).toEqual(json.rows);
  });

  it('csv-is-also-served-on-accept-text-csv-and-read-by-content-type', async () => {
    const { sim, ctx } = await setup();
    const csvSource = sourceFor(sim, { format: 'csv' }).streams[0]!;
    await collect(csvSource.read(window('2026-01-10', '2026-01-11'), ctx));
    expect(sim.requests[0]!.accept).toBe('text/csv');
  });

  it('wrapped-and-bare-json-arrays-give-identical-rows', async () => {
    const { sim, events, ctx } = await setup();
    const w = window('2026-01-10', '2026-01-12');
    const bare = await mapped(events.read(w, ctx), events);
    sim.set({ wrapJson: true });
    const wrapped = await mapped(events.read(w, ctx), events);
    expect(bare.rows.length).toBeGreaterThan(0);
    expect(wrapped.rows).toEqual(bare.rows);
  });

  it('types-columns-and-computes-field-value-numeric-only-for-numbers', async () => {
    const { events, ctx } = await setup({ decimalFrom: '2026-01-05', stringFrom: '2026-01-08' });
    const { rows, schema } = await mapped(events.read(window('2026-01-01', '2026-01-10'), ctx), events);
    const types = Object.fromEntries(schema.columns.map((c) => [c.name, c.type]));
    expect(types).toMatchObject({
      field_value: 'string',
      field_value_numeric: 'decimal',
      is_custom: 'boolean',
      created_at: 'timestamp',
    });
    const objs = objects(rows, schema);
    const disk = objs.filter((o) => o.field_name === 'disk_usage');
    expect(disk.some((o) => /^\d+$/.test(o.field_value!) && o.field_value_numeric === o.field_value)).toBe(
      true,
    );
    expect(
      disk.some((o) => /^\d+\.\d+$/.test(o.field_value!) && o.field_value_numeric === o.field_value),
    ).toBe(true);
    expect(disk.some((o) => o.field_value!.endsWith('GiB') && o.field_value_numeric === undefined)).toBe(
      true,
    );
    const version = objs.find((o) => o.field_name === 'kotsVersion')!;
    expect(version.field_value_numeric).toBeUndefined();
    expect(version.is_custom).toBe('false');
    expect(objs.find((o) => o.field_name === 'Active Users')!.field_value).toMatch(/^(true|false)$/);
  });

  it('field-value-numeric-is-exact-and-null-for-non-numbers-and-over-38-digits', () => {
    expect(numericValue('42')).toBe('42');
    expect(numericValue('-0.50')).toBe('-0.50');
    expect(numericValue('1e3')).toBe('1000');
    expect(numericValue('+7')).toBe('7');
    expect(numericValue('12345678901234567890.123456789')).toBe('12345678901234567890.123456789');
    expect(numericValue('1'.repeat(39))).toBeNull();
    for (const v of [null, 'true', 'v1.2.3', '1,5', ' 5', 'NaN', '0x10', ''])
      expect(numericValue(v)).toBeNull();
  });

  it('unknown-customer-ids-give-no-records-and-no-error', async () => {
    const { events, ctx } = await setup({}, { customer_ids: ['nobody'] });
    const batches = await collect(events.read(window('2026-01-10', '2026-01-11'), ctx));
    expect(batches.flatMap((b) => b.records)).toEqual([]);
  });

  it('customer-filter-returns-only-that-customers-events', async () => {
    const { sim, ctx } = await setup();
    const customer = sim.events('2026-01-10', '2026-01-10')[0]!.customerId;
    const source = sourceFor(sim, { customer_ids: [customer] }).streams[0]!;
    const { rows, schema } = await mapped(source.read(window('2026-01-10', '2026-01-11'), ctx), source);
    expect(rows.length).toBe(sim.events('2026-01-10', '2026-01-10', { customers: [customer] }).length);
    expect(new Set(objects(rows, schema).map((o) => o.customer_id))).toEqual(new Set([customer]));
  });

  it('a-wrong-token-is-a-permanent-error-naming-the-fix-without-the-token', async () => {
    const { sim, ctx } = await setup();
    const source = sourceFor(sim, { token: 'wrong-secret-value' }).streams[0]!;
    const err = await collect(source.read(window('2026-01-10', '2026-01-11'), ctx)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SourceError);
    expect((err as SourceError).retryable).toBe(false);
    expect((err as SourceError).message).toMatch(/rejected the token.*without 'Bearer'/);
    expect((err as SourceError).message).not.toContain('wrong-secret-value');
  });

  it('an-unknown-app-is-a-permanent-error-naming-app-id', async () => {
    const { sim, ctx } = await setup();
    const source = sourceFor(sim, { app_id: 'other-app' }).streams[0]!;
    const err = await collect(source.read(window('2026-01-10', '2026-01-11'), ctx)).catch((e: unknown) => e);
    expect((err as SourceError).message).toMatch(/no app 'other-app'.*app_id/);
    expect((err as SourceError).retryable).toBe(false);
  });

  it('retries-429-and-5xx-and-surfaces-a-truncated-body-as-retryable', async () => {
    const { sim, events, ctx } = await setup();
    sim.queueFaults([faults.tooManyRequests('0'), faults.serverError(502)]);
    const rows = (await collect(events.read(window('2026-01-10', '2026-01-11'), ctx))).flatMap(
      (b) => b.records,
    );
    expect(rows.length).toBe(sim.events('2026-01-10', '2026-01-10').length);
    expect(sim.requests.map((r) => r.status)).toEqual([429, 502, 200]);
    sim.queueFaults([faults.truncate(3)]);
    const err = await collect(events.read(window('2026-01-10', '2026-01-11'), ctx)).catch((e: unknown) => e);
    expect(err).toMatchObject({ retryable: true });
  });

  it('check-reports-ok-and-a-rejected-token', async () => {
    const { sim, source, ctx } = await setup();
    expect((await source.check(ctx)).ok).toBe(true);
    const bad = await sourceFor(sim, { token: 'nope-nope' }).check(ctx);
    expect(bad.ok).toBe(false);
    expect(bad.message).toMatch(/token/);
  });
});

describe('customer_instances', () => {
  it('fills-snapshot-date-and-keys-an-instance-less-customer-as-none', async () => {
    const { sim, instances, ctx } = await setup();
    const { rows, schema } = await mapped(instances.read(window('2026-01-20', '2026-01-21'), ctx), instances);
    expect(sim.requests[0]!.path).toBe(`/vendor/v3/app/${APP}/customer_instances`);
    const objs = objects(rows, schema);
    expect(objs).toHaveLength(sim.customerInstances().length);
    expect(objs.every((o) => o.snapshot_date === '2026-01-20')).toBe(true);
    const lonely = objs.filter((o) => o.instance_id === NO_INSTANCE);
    expect(lonely.length).toBeGreaterThan(0);
    expect(lonely.every((o) => o.instance_is_active === undefined)).toBe(true);
    expect(new Set(objs.map((o) => `${o.customer_id}/${o.instance_id}`)).size).toBe(objs.length);
  });

  it('json-and-csv-exports-give-identical-rows', async () => {
    const { sim, instances, ctx } = await setup({ newMetricFrom: '2026-01-10' });
    const w = window('2026-01-20', '2026-01-21');
    const json = await mapped(instances.read(w, ctx), instances);
    const csvStream = sourceFor(sim, { format: 'csv' }).streams[1]!;
    const csv = await mapped(csvStream.read(w, ctx), csvStream);
    expect(csv.schema).toEqual(json.schema);
    expect(csv.rows).toEqual(json.rows);
    sim.set({ wrapJson: true });
    expect((await mapped(instances.read(w, ctx), instances)).rows).toEqual(json.rows);
  });

  it('dictionary-columns-keep-their-documented-types-whatever-the-values', async () => {
    const { instances, ctx } = await setup();
    const { rows, schema } = await mapped(instances.read(window('2026-01-20', '2026-01-21'), ctx), instances);
    for (const d of instances.columns) {
      const c = schema.columns.find((x) => x.source === d.name)!;
      expect([d.name, c.type, c.origin]).toEqual([d.name, d.type, 'dictionary']);
    }
    // nothing was a misfit: no _extra on any row
    const extra = schema.columns.findIndex((c) => c.name === '_extra');
    expect(rows.every((r) => r[extra] === null || r[extra] === undefined)).toBe(true);
  });

  it('dynamic-columns-appear-widen-and-keep-stable-distinct-names-across-snapshots', async () => {
    const { sim, instances, ctx } = await setup({
      now: new Date('2026-01-06T12:00:00Z'),
      newMetricFrom: '2026-01-08',
      decimalFrom: '2026-01-08',
      stringFrom: '2026-01-10',
    });
    const snap = (d: string) => window(d, d);
    const first = await mapped(instances.read(snap('2026-01-06'), ctx), instances);
    const byField = (cols: typeof first.schema.columns) => Object.fromEntries(cols.map((c) => [c.source, c]));
    let cols = byField(first.schema.columns);
    expect(cols['custom_metric__disk_usage']).toMatchObject({ type: 'integer', origin: 'dynamic' });
    expect(cols['custom_metric__new_feature_usage']).toBeUndefined();
    expect(cols['customer_entitlement__active-users']).toMatchObject({
      name: 'customer_entitlement_active_users',
      type: 'integer',
    });
    expect(cols['customer_entitlement__Is Enterprise?']).toMatchObject({ type: 'boolean' });
    expect(cols['instance_tag__Env (Prod/Dev)']?.type).toBe('string');
    // two raw names that normalise alike get two distinct columns
    const a = cols['custom_metric__active_users']!;
    const b = cols['custom_metric__Active Users']!;
    expect(a.name).not.toBe(b.name);
    const long = Object.values(cols).find((c) => c.source.startsWith('custom_metric__Seats'))!;
    expect(long.name.length).toBeLessThanOrEqual(63);

    sim.setNow(new Date('2026-01-08T12:00:00Z'));
    const second = await mapped(instances.read(snap('2026-01-08'), ctx), instances, first.schema.columns);
    cols = byField(second.schema.columns);
    expect(cols['custom_metric__new_feature_usage']).toMatchObject({ type: 'integer', origin: 'dynamic' });
    expect(cols['custom_metric__disk_usage']?.type).toBe('decimal');
    // names persisted by the first snapshot stay the same
    for (const c of first.schema.columns) expect(cols[c.source]?.name).toBe(c.name);

    sim.setNow(new Date('2026-01-11T12:00:00Z'));
    const third = await mapped(instances.read(snap('2026-01-11'), ctx), instances, second.schema.columns);
    const disk = third.schema.columns.findIndex((c) => c.source === 'custom_metric__disk_usage');
    expect(third.schema.columns[disk]?.type).toBe('string');
    expect(third.rows.some((r) => String(r[disk]).endsWith('GiB'))).toBe(true);
  });

  it('past-the-column-budget-dynamic-keys-go-to-extra', async () => {
    const { instances, ctx } = await setup({ extraMetricKeys: 300 });
    const { rows, schema } = await mapped(
      instances.read(window('2026-01-20', '2026-01-21'), ctx),
      instances,
      [],
      100,
    );
    expect(schema.columns.filter((c) => c.origin === 'dynamic')).toHaveLength(100);
    const extra = schema.columns.findIndex((c) => c.name === '_extra');
    const withInstance = rows.filter((r) => r[extra] !== null && r[extra] !== undefined);
    expect(withInstance.length).toBeGreaterThan(0);
    expect(
      Object.keys(JSON.parse(withInstance[0]![extra]!)).some((k) =>
        k.startsWith('custom_metric__bulk_metric_'),
      ),
    ).toBe(true);
  });
});
