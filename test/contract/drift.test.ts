import { describe, expect, it } from 'vitest';
import { SCARF_CONTRACTS } from '../../connectors/scarf/contract.js';
import { REPLICATED_CONTRACTS } from '../../connectors/replicated/contract.js';
import { MARKETPLACE_CONTRACTS } from '../../connectors/marketplace/contract.js';
import { DriftWatcher, fieldDrift, firstPageVerdicts } from '../../src/contract/drift.js';
import type { RecordBatch } from '../../src/core/contracts.js';
import { DataError } from '../../src/core/errors.js';
import { capturingLogger } from './helpers.js';

const events = SCARF_CONTRACTS.events!;
const FIELDS = Object.keys(events.fields);

/** A Scarf events batch as the contract describes it, with per-field overrides. */
function batch(
  rows = 3,
  change: (fields: string[], record: unknown[]) => void = () => undefined,
): RecordBatch {
  const fields = [...FIELDS];
  const records = Array.from({ length: rows }, (_, i) => {
    const r: unknown[] = FIELDS.map((f) => {
      const type = events.fields[f]!.value;
      if (f === 'id') return `id-${i}`;
      if (type === 'timestamp') return `2025-10-0${i + 1}T12:34:56.789Z`;
      if (type === 'boolean') return 'false';
      if (type === 'decimal') return '0.5';
      return 'x';
    });
    change(fields, r);
    return r;
  });
  return { fields, records };
}

const warnings = (lines: Array<Record<string, unknown>>) => lines.filter((l) => l.level === 40);

describe('first-page drift check', () => {
  it('is silent when the page is what the contract says', () => {
    const { log, lines } = capturingLogger();
    new DriftWatcher().observe('scarf.events', events, batch(), log);
    expect(warnings(lines)).toEqual([]);
  });

  it('warns once per stream per run, naming the missing and extra fields and the differing format', () => {
    const { log, lines } = capturingLogger();
    const watcher = new DriftWatcher();
    const renamed = batch(3, (fields, r) => {
      fields[fields.indexOf('user_agent')] = 'agent';
      r[FIELDS.indexOf('time')] = '2025-10-01 12:34:56';
    });
    watcher.observe('scarf.events', events, renamed, log);
    watcher.observe('scarf.events', events, renamed, log); // second page: ignored
    watcher.observe('scarf.pixel_events', SCARF_CONTRACTS.pixel_events, batch(), log);
    const warned = warnings(lines);
    expect(warned).toHaveLength(1);
    expect(warned[0]).toMatchObject({ stream: 'scarf.events', missing: ['user_agent'], extra: ['agent'] });
    const differs = warned[0]!.differs as string[];
    expect(differs).toContain(
      'field time: format: YYYY-MM-DD HH:MM:SS ×3 (still parses); without a zone the time is read as UTC',
    );
    expect(differs.some((d) => d.startsWith('field user_agent: missing from the response'))).toBe(true);
    // a new run compares again
    new DriftWatcher().observe('scarf.events', events, renamed, log);
    expect(warnings(lines)).toHaveLength(2);
  });

  it('fails the stream with a DataError when the key field is missing, naming the point', () => {
    const { log } = capturingLogger();
    const noId = batch(3, (fields) => {
      fields[0] = 'event_id';
    });
    const call = () => new DriftWatcher().observe('scarf.events', events, noId, log);
    expect(call).toThrow(DataError);
    expect(call).toThrow(/nothing was loaded: field id \(key\): missing from the response/);
  });

  it('fails the stream when every key value is empty', () => {
    const emptyIds = batch(3, (_f, r) => {
      r[0] = null;
    });
    expect(() => new DriftWatcher().observe('scarf.events', events, emptyIds, capturingLogger().log)).toThrow(
      /field id \(key\): present, but empty in all 3 records/,
    );
  });

  it('fails the stream when the cursor does not parse, even if only some values are affected', () => {
    const epoch = batch(3, (_f, r) => {
      if (r[0] === 'id-1') r[FIELDS.indexOf('time')] = '1759322096';
    });
    let error: unknown;
    try {
      new DriftWatcher().observe('scarf.events', events, epoch, capturingLogger().log);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(DataError);
    expect((error as DataError).details).toMatchObject({ stream: 'scarf.events', field: 'time' });
    expect((error as Error).message).toContain(
      'field time (cursor): 1 of 3 values do not parse as timestamp (seen: epoch-seconds ×1)',
    );
  });

  it('only warns when a non-critical field does not parse (the value is kept in _extra)', () => {
    const { log, lines } = capturingLogger();
    const text = batch(2, (_f, r) => {
      r[FIELDS.indexOf('dnt')] = 'sometimes';
    });
    new DriftWatcher().observe('scarf.events', events, text, log);
    expect(warnings(lines)[0]?.differs).toEqual([
      'field dnt: 2 of 2 values do not parse as boolean (seen: string ×2); they are kept in _extra',
    ]);
  });

  it('does not report computed fields, optional fields or documented dynamic families', () => {
    const rollup = SCARF_CONTRACTS.aggregates!;
    const aggregates: RecordBatch = {
      fields: ['date', 'artifact', 'breakdown', 'rollup', 'total'],
      records: [['2025-10-01', 'acme/cli', 'by-total', 'daily', '5']],
    };
    expect(firstPageVerdicts(rollup, aggregates).filter((v) => v.verdict === 'differs')).toEqual([]);
    const instances = REPLICATED_CONTRACTS.customer_instances!;
    const fields = [...Object.keys(instances.fields), 'custom_metric__active_users', 'snapshot_date'];
    const record = fields.map((f) => (f.endsWith('_id') ? 'c1' : null));
    const verdicts = firstPageVerdicts(instances, { fields, records: [record] });
    expect(verdicts.find((v) => v.point === 'extra fields')?.verdict).toBe('ok');
  });

  it('matches camelCase contract names to snake_case fields and accepts midnight dates for date columns', () => {
    const replicated = REPLICATED_CONTRACTS.instance_events!;
    const shaped: RecordBatch = {
      fields: [
        'instance_id',
        'customer_id',
        'app_id',
        'field_name',
        'field_value',
        'field_value_numeric',
        'is_custom',
        'created_at',
      ],
      records: [['i1', 'c1', 'a1', 'numUsers', '5', '5', 'true', '2025-10-01T01:02:03.000Z']],
    };
    expect(firstPageVerdicts(replicated, shaped).filter((v) => v.verdict !== 'ok')).toEqual([]);
    const installs = MARKETPLACE_CONTRACTS.install_events!;
    const midnight: RecordBatch = {
      fields: ['package_id', 'version', 'tenant_region', 'install_date'],
      records: [['p', '1.0', 'eu', '2025-10-01T00:00:00Z']],
    };
    const verdicts = firstPageVerdicts(installs, midnight);
    expect(verdicts.filter((v) => v.corrupting)).toEqual([]);
    expect(verdicts.find((v) => v.point === 'field install_date: format')?.message).toBe(
      'YYYY-MM-DDTHH:MM:SSZ ×1 (still parses)',
    );
  });

  it('fieldDrift compares names case- and separator-insensitively', () => {
    expect(
      fieldDrift(REPLICATED_CONTRACTS.instance_events!, ['instance_id', 'created_at', 'extra_one']),
    ).toEqual({
      missing: ['appId', 'customerId', 'fieldName', 'fieldValue', 'isCustom'],
      extra: ['extra_one'],
    });
  });
});
