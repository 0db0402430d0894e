/**
 * Deterministic Replicated data for the simulator: customers, their instances, and the instance
 * events, each a pure function of (seed, day), so a test can ask the simulator for the ground
 * truth of any day or snapshot at any time. Events exist only when a field's value changes, one
 * per changed field (as `instance-insights-event-data.mdx` describes [C]); a snapshot shows each
 * field's value as of its last change.
 *
 * Getting this wrong makes tests blind: (instance, field, created_at) must be unique by
 * construction, or a merge would collapse distinct events and row counts would match by luck.
 */
import { EVENT_CSV_FIELDS } from './contract.js';
import { DAY_MS, isoDate } from '../../src/core/time.js';
import { hashSeed, mix, rng } from '../scarf/simulator-data.js';
import { CUSTOMER_INSTANCE_COLUMNS, SNAPSHOT_DATE } from './dictionary.js';

export interface ReplicatedDataOptions {
  seed: string | number;
  appId: string;
  /** Number of customers (default 8); every fourth has no instance. */
  customers: number;
  /** First day instances report (YYYY-MM-DD); nothing exists before it. */
  epoch: string;
  /** From this day the custom metric `new_feature_usage` exists (events and snapshot). */
  newMetricFrom?: string;
  /** `disk_usage` values are integers before this day, decimals from it... */
  decimalFrom?: string;
  /** ...and text (`'12 GiB'`) from this day. */
  stringFrom?: string;
  /** Extra custom metrics `bulk_metric_<n>` on every instance (column-budget tests). */
  extraMetricKeys: number;
  /** Instances left out of the customer_instances export (vanished). */
  hiddenInstances: string[];
  /** This day's events are `events` synthetic events instead of the usual ones (memory tests). */
  hugeWindow?: { day: string; events: number };
}

export interface Instance {
  customerIndex: number;
  customerId: string;
  instanceId: string;
  /** Day number (days since 1970) of its first report. */
  firstDay: number;
}

/** One event, in the JSON shape [G] (camelCase), `fieldValue` typed as a custom metric sends it. */
export interface SimEvent {
  appId: string;
  customerId: string;
  instanceId: string;
  fieldName: string;
  fieldValue: string | number | boolean | null;
  isCustom: boolean;
  createdAt: string;
}

const dayNumber = (day: string): number => Date.parse(`${day}T00:00:00Z`) / DAY_MS;
const hex = (n: number): string => n.toString(16).padStart(8, '0');

const TYPES = ['prod', 'trial', 'dev', 'community'];
const PROVIDERS = [
  ['aws', 'us-east-1'],
  ['gcp', 'us-central1-b'],
  ['azure', 'westeurope'],
  ['', ''],
];
const NAMES = ['Acme, Inc.', 'Globex "Global"', 'Initech', 'Müller & Söhne GmbH', 'Umbrella Corp', 'Hooli'];

/** Built-in fields (isCustom false) and custom metrics (true) that change over time. */
const BUILT_IN = ['appStatus', 'kotsVersion', 'k8sVersion', 'numNodesTotal'];
const CUSTOM = [
  'active_users',
  'disk_usage',
  'Active Users', // normalises like active_users: two distinct columns
  'Seats (licensed) / total — a rather long metric name that goes on and on past sixty-three characters',
];
export const NEW_METRIC = 'new_feature_usage';

export function customerId(seed: number, i: number): string {
  return `cust${hex(mix(seed, i, 1))}`;
}

export function instancesOf(o: ReplicatedDataOptions, i: number): Instance[] {
  const seed = hashSeed(o.seed);
  const count = i % 4 === 0 ? 0 : 1 + (mix(seed, i, 2) % 3);
  const epoch = dayNumber(o.epoch);
  return Array.from({ length: count }, (_, k) => ({
    customerIndex: i,
    customerId: customerId(seed, i),
    instanceId: `inst${hex(mix(seed, i, k, 3))}`,
    firstDay: epoch + (mix(seed, i, k, 4) % 5),
  }));
}

export function allInstances(o: ReplicatedDataOptions): Instance[] {
  return Array.from({ length: o.customers }, (_, i) => instancesOf(o, i)).flat();
}

/** Custom metric names an instance reports on `day`. */
function metricsOn(o: ReplicatedDataOptions, day: number): string[] {
  const names = [...CUSTOM];
  if (o.newMetricFrom !== undefined && day >= dayNumber(o.newMetricFrom)) names.push(NEW_METRIC);
  for (let n = 0; n < o.extraMetricKeys; n++) names.push(`bulk_metric_${n}`);
  return names;
}

/** Whether `field` of `inst` changed on `day` (always on its first day). */
function changed(seed: number, inst: Instance, field: string, day: number, from: number): boolean {
  return day === from || mix(seed, hashSeed(inst.instanceId), hashSeed(field), day) % 3 === 0;
}

/** The value `field` took when it changed on `day`. */
function rawValue(o: ReplicatedDataOptions, seed: number, inst: Instance, field: string, day: number) {
  const h = mix(seed, hashSeed(inst.instanceId), hashSeed(field), day, 9);
  switch (field) {
    case 'appStatus':
      return ['ready', 'updating', 'degraded', 'unavailable'][h % 4] as string;
    case 'kotsVersion':
      return `1.${100 + (h % 20)}.${h % 4}`;
    case 'k8sVersion':
      return `v1.${26 + (h % 4)}.${h % 9}`;
    case 'numNodesTotal':
      return String(1 + (h % 5));
    case 'disk_usage': {
      if (o.stringFrom !== undefined && day >= dayNumber(o.stringFrom)) return `${h % 500} GiB`;
      if (o.decimalFrom !== undefined && day >= dayNumber(o.decimalFrom))
        return Number(`${h % 500}.${(h % 99) + 1}`);
      return h % 500;
    }
    case 'Active Users':
      return h % 2 === 0;
    default:
      return h % 1000;
  }
}

/** Day a field first exists for an instance. */
function fieldStart(o: ReplicatedDataOptions, inst: Instance, field: string): number {
  return field === NEW_METRIC && o.newMetricFrom !== undefined
    ? Math.max(inst.firstDay, dayNumber(o.newMetricFrom))
    : inst.firstDay;
}

/** Value of a field as of `day` (its last change on or before it), undefined before it exists. */
function valueAsOf(o: ReplicatedDataOptions, seed: number, inst: Instance, field: string, day: number) {
  const from = fieldStart(o, inst, field);
  if (day < from) return undefined;
  for (let d = day; d > from; d--)
    if (changed(seed, inst, field, d, from)) return rawValue(o, seed, inst, field, d);
  return rawValue(o, seed, inst, field, from);
}

/** Events of one UTC day visible at `nowMs`, filtered by customers and field names. */
export function* dayEvents(
  o: ReplicatedDataOptions,
  day: string,
  nowMs: number,
  filter: { customers?: Set<string>; types?: Set<string> } = {},
): Generator<SimEvent> {
  const seed = hashSeed(o.seed);
  const d = dayNumber(day);
  const start = d * DAY_MS;
  const instances = allInstances(o).filter((i) => !filter.customers || filter.customers.has(i.customerId));
  if (o.hugeWindow?.day === day) {
    if (instances.length === 0 || (filter.types && !filter.types.has('bulk'))) return;
    for (let k = 0; k < o.hugeWindow.events; k++) {
      const inst = instances[k % instances.length] as Instance;
      const ms = start + Math.floor((k / o.hugeWindow.events) * DAY_MS);
      if (ms > nowMs) return;
      yield event(o, inst, 'bulk', k, true, ms);
    }
    return;
  }
  const out: SimEvent[] = [];
  for (const inst of instances) {
    for (const field of [...BUILT_IN, ...metricsOn(o, d)]) {
      if (filter.types && !filter.types.has(field)) continue;
      const from = fieldStart(o, inst, field);
      if (d < from || !changed(seed, inst, field, d, from)) continue;
      const ms = start + (mix(seed, hashSeed(inst.instanceId), hashSeed(field), d, 5) % DAY_MS);
      if (ms > nowMs) continue;
      out.push(event(o, inst, field, rawValue(o, seed, inst, field, d), !BUILT_IN.includes(field), ms));
    }
  }
  out.sort((a, b) => (a.createdAt < b.createdAt ? -1 : a.createdAt > b.createdAt ? 1 : 0));
  yield* out;
}

function event(
  o: ReplicatedDataOptions,
  inst: Instance,
  fieldName: string,
  fieldValue: string | number | boolean,
  isCustom: boolean,
  ms: number,
): SimEvent {
  return {
    appId: o.appId,
    customerId: inst.customerId,
    instanceId: inst.instanceId,
    fieldName,
    fieldValue,
    isCustom,
    createdAt: new Date(ms).toISOString(),
  };
}

/** Column name of a custom metric / tag / entitlement key in the export. */
const metricColumn = (name: string): string => `custom_metric__${name}`;

type Cell = string | number | boolean | null;

/**
 * The customer_instances export as of `nowMs`: one object per (customer, instance), or one per
 * customer without instances (instance columns empty). Keys are the dictionary labels (minus
 * `snapshot_date`) plus that row's dynamic keys; values typed as JSON would carry them.
 */
export function customerInstanceRows(
  o: ReplicatedDataOptions,
  nowMs: number,
  customers?: Set<string>,
): Array<Record<string, Cell>> {
  const seed = hashSeed(o.seed);
  const today = Math.floor(nowMs / DAY_MS);
  const hidden = new Set(o.hiddenInstances);
  const rows: Array<Record<string, Cell>> = [];
  for (let i = 0; i < o.customers; i++) {
    const id = customerId(seed, i);
    if (customers && !customers.has(id)) continue;
    const r = rng(mix(seed, i, 7));
    const created = new Date(Date.parse(`${o.epoch}T00:00:00Z`) - (10 + i) * DAY_MS + i * 3_600_000);
    const customer: Record<string, Cell> = {
      customer_id: id,
      customer_name: NAMES[i % NAMES.length] as string,
      customer_created_date: created.toISOString(),
      customer_license_expiration_date:
        i % 3 === 0 ? null : new Date(created.getTime() + 365 * DAY_MS).toISOString(),
      customer_channel_id: `chan${hex(mix(seed, i % 2, 8))}`,
      customer_channel_name: i % 2 === 0 ? 'Stable' : 'Beta',
      customer_app_id: o.appId,
      customer_last_active: new Date(today * DAY_MS - (i % 3) * 3_600_000).toISOString(),
      customer_type: TYPES[i % TYPES.length] as string,
      customer_status: i % 5 === 4 ? 'expired' : 'active',
      customer_is_airgap_enabled: r() < 0.3,
      customer_is_geoaxis_supported: false,
      customer_is_gitops_supported: r() < 0.5,
      customer_is_embedded_cluster_download_enabled: r() < 0.5,
      customer_is_identity_service_supported: false,
      customer_is_snapshot_supported: r() < 0.5,
      customer_has_entitlements: true,
      'customer_entitlement__active-users': 10 * (1 + (i % 7)),
      'customer_entitlement__Is Enterprise?': i % 2 === 0,
      customer_entitlement__region: i % 2 === 0 ? 'eu' : 'us',
      customer_created_by_id: `user${hex(mix(seed, i, 10))}`,
      customer_created_by_type: i % 2 === 0 ? 'user' : 'service-account',
      customer_created_by_description: i % 2 === 0 ? 'jane@vendor.example' : 'ci token',
      customer_created_by_link: `https://vendor.replicated.com/team/members/${i}`,
      customer_created_by_timestamp: created.toISOString(),
      customer_updated_by_id: null,
      customer_updated_by_type: null,
      customer_updated_by_description: null,
      customer_updated_by_link: null,
      customer_updated_by_timestamp: null,
    };
    const instances = instancesOf(o, i).filter(
      (inst) => inst.firstDay <= today && !hidden.has(inst.instanceId),
    );
    if (instances.length === 0) {
      rows.push({ ...customer, instance_id: '' });
      continue;
    }
    instances.forEach((inst, k) => {
      const [provider, region] = PROVIDERS[(i + k) % PROVIDERS.length] as string[];
      const kurl = (i + k) % 2 === 0;
      const nodes = Number(valueAsOf(o, seed, inst, 'numNodesTotal', today));
      const row: Record<string, Cell> = {
        ...customer,
        instance_id: inst.instanceId,
        instance_is_active: k % 3 !== 2,
        instance_first_reported_at: new Date(inst.firstDay * DAY_MS + 3_723_000).toISOString(),
        instance_last_reported_at: new Date(today * DAY_MS + 60_000).toISOString(),
        instance_first_ready_at: new Date(inst.firstDay * DAY_MS + 4_000_000).toISOString(),
        instance_kots_version: String(valueAsOf(o, seed, inst, 'kotsVersion', today)),
        instance_k8s_version: String(valueAsOf(o, seed, inst, 'k8sVersion', today)),
        instance_is_airgap: customer.customer_is_airgap_enabled === true && k === 0,
        instance_is_kurl: kurl,
        instance_last_app_status: String(valueAsOf(o, seed, inst, 'appStatus', today)),
        instance_client: k % 2 === 0 ? 'kots' : 'sdk',
        instance_kurl_node_count_total: kurl ? nodes : null,
        instance_kurl_node_count_ready: kurl ? Math.max(1, nodes - (k % 2)) : null,
        instance_cloud_provider: provider || null,
        instance_cloud_provider_region: region || null,
        instance_app_version: `2.${k}.${i}`,
        instance_version_age: `${(i * 7 + k) % 40}`,
        instance_is_gitops_enabled: false,
        instance_gitops_provider: null,
        instance_is_skip_preflights: k === 1,
        instance_preflight_status: k === 1 ? 'warn' : 'pass',
        instance_k8s_distribution: kurl ? 'kurl' : 'eks',
        instance_has_custom_metrics: true,
        instance_custom_metrics_reported_at: new Date(today * DAY_MS + 120_000).toISOString(),
        instance_has_tags: true,
        instance_tag__name: `cluster-${k}`,
        'instance_tag__Env (Prod/Dev)': k === 0 ? 'Prod' : 'Dev',
      };
      for (const m of metricsOn(o, today)) {
        const v = valueAsOf(o, seed, inst, m, today);
        if (v !== undefined) row[metricColumn(m)] = v;
      }
      rows.push(row);
    });
  }
  return rows;
}

/** CSV header of an export: dictionary labels, then every dynamic key in first-seen order. */
export function customerInstanceHeader(rows: Array<Record<string, Cell>>): string[] {
  const header = CUSTOMER_INSTANCE_COLUMNS.map((c) => c.name).filter((n) => n !== SNAPSHOT_DATE);
  const seen = new Set(header);
  for (const r of rows) {
    for (const k of Object.keys(r)) {
      if (seen.has(k)) continue;
      seen.add(k);
      header.push(k);
    }
  }
  return header;
}

/** The `/events` CSV header: the contract's JSON keys in snake_case [G] (connectors/replicated/contract.ts). */
export const EVENT_CSV_HEADER: string[] = [...EVENT_CSV_FIELDS];

/** CSV cells of an event, in `EVENT_CSV_HEADER` order. */
export function eventCells(e: SimEvent): string[] {
  return [
    e.appId,
    e.customerId,
    e.instanceId,
    e.fieldName,
    cellText(e.fieldValue),
    String(e.isCustom),
    e.createdAt,
  ];
}

export function cellText(v: Cell | undefined): string {
  return v === null || v === undefined ? '' : String(v);
}

export { isoDate };
