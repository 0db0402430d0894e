import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import type {
  ColumnSpec,
  DestinationCapabilities,
  DictionaryColumn,
  RecordBatch,
  Row,
  StreamDefinition,
} from '../../src/core/contracts.js';
import { ConfigError, DataError } from '../../src/core/errors.js';
import { nameHash } from '../../src/schema/identifiers.js';
import { RowMapper, type MapperOptions } from '../../src/schema/mapper.js';

const CAPS: DestinationCapabilities = {
  name: 'test',
  maxIdentifierLength: 63,
  maxColumns: 1600,
  transactionalDdl: true,
};
const LOADED_AT = '2025-10-02T03:04:05.678Z';
const DICT: DictionaryColumn[] = [
  { name: 'id', type: 'string' },
  { name: 'time', type: 'timestamp' },
  { name: 'amount', type: 'decimal' },
  { name: 'dnt', type: 'boolean' },
];
const AUDIT: ColumnSpec[] = [
  { name: '_exportsync_loaded_at', source: '_exportsync_loaded_at', type: 'timestamp', origin: 'audit' },
  { name: '_exportsync_run_id', source: '_exportsync_run_id', type: 'string', origin: 'audit' },
  { name: '_extra', source: '_extra', type: 'json', origin: 'audit' },
];

function stream(over: Partial<StreamDefinition> = {}): StreamDefinition {
  return {
    name: 'events',
    primaryKey: ['id'],
    cursorField: 'time',
    windowDays: 1,
    writeMode: 'merge',
    columns: DICT,
    dynamicColumns: true,
    async *read() {},
    describe: () => '',
    ...over,
  };
}

function mapper(over: Partial<MapperOptions> = {}, streamOver: Partial<StreamDefinition> = {}) {
  const lines: Array<Record<string, unknown>> = [];
  const log = pino(
    { level: 'info' },
    { write: (s: string) => void lines.push(JSON.parse(s) as Record<string, unknown>) },
  );
  const m = new RowMapper({
    table: 'scarf_events',
    stream: stream(streamOver),
    persisted: [],
    capabilities: CAPS,
    columnBudget: 500,
    runId: 'run-1',
    loadedAt: LOADED_AT,
    log,
    ...over,
  });
  const warnings = () => lines.filter((l) => l.level === 40);
  return { m, lines, warnings };
}

function names(m: RowMapper): string[] {
  return m.schema.columns.map((c) => c.name);
}

/** Row as an object keyed by column name (missing trailing cells → null). */
function obj(m: RowMapper, row: Row): Record<string, string | null> {
  return Object.fromEntries(m.schema.columns.map((c, i) => [c.name, row[i] ?? null]));
}

const F = ['id', 'time', 'amount', 'dnt'];

describe('RowMapper schema', () => {
  it('starts a new table with the dictionary, then the audit columns, key and cursor named', () => {
    const { m } = mapper();
    expect(m.schema.columns).toEqual([
      { name: 'id', source: 'id', type: 'string', origin: 'dictionary' },
      { name: 'time', source: 'time', type: 'timestamp', origin: 'dictionary' },
      { name: 'amount', source: 'amount', type: 'decimal', origin: 'dictionary' },
      { name: 'dnt', source: 'dnt', type: 'boolean', origin: 'dictionary' },
      ...AUDIT,
    ]);
    expect(m.schema.primaryKey).toEqual(['id']);
    expect(m.schema.cursorColumn).toBe('time');
    expect(m.schema.table).toBe('scarf_events');
    expect(m.schemaChanged).toBe(true);
  });

  it('keeps persisted names and order, reports no change when nothing is new', () => {
    const persisted: ColumnSpec[] = [
      { name: 'event_id', source: 'id', type: 'string', origin: 'dictionary' },
      { name: 'time', source: 'time', type: 'timestamp', origin: 'dictionary' },
      ...AUDIT,
      { name: 'amount', source: 'amount', type: 'decimal', origin: 'dictionary' },
      { name: 'dnt', source: 'dnt', type: 'boolean', origin: 'dictionary' },
      { name: 'legacy_field_name', source: 'fieldName', type: 'integer', origin: 'dynamic' },
    ];
    const { m } = mapper({ persisted });
    expect(m.schema.columns).toEqual(persisted);
    expect(m.schema.primaryKey).toEqual(['event_id']);
    expect(m.schemaChanged).toBe(false);
    const [row] = m.map({ fields: ['fieldName', 'id'], records: [['7', 'a']] });
    expect(obj(m, row as Row)).toMatchObject({ event_id: 'a', legacy_field_name: '7' });
    expect(names(m)).toEqual(persisted.map((c) => c.name));
    expect(m.schemaChanged).toBe(false);
  });

  it('appends a dictionary column missing from the persisted map after the existing columns', () => {
    const persisted: ColumnSpec[] = [
      { name: 'id', source: 'id', type: 'string', origin: 'dictionary' },
      { name: 'time', source: 'time', type: 'timestamp', origin: 'dictionary' },
      ...AUDIT,
    ];
    const { m } = mapper({ persisted });
    expect(names(m)).toEqual([
      'id',
      'time',
      '_exportsync_loaded_at',
      '_exportsync_run_id',
      '_extra',
      'amount',
      'dnt',
    ]);
    expect(m.schemaChanged).toBe(true);
  });

  it('widens a persisted column whose dictionary type is no longer compatible', () => {
    const persisted: ColumnSpec[] = [
      { name: 'id', source: 'id', type: 'integer', origin: 'dictionary' },
      { name: 'time', source: 'time', type: 'timestamp', origin: 'dictionary' },
      { name: 'amount', source: 'amount', type: 'integer', origin: 'dynamic' },
      { name: 'dnt', source: 'dnt', type: 'boolean', origin: 'dictionary' },
      ...AUDIT,
    ];
    const { m } = mapper({ persisted });
    expect(m.schema.columns.map((c) => c.type).slice(0, 3)).toEqual(['string', 'timestamp', 'decimal']);
    expect(m.schemaChanged).toBe(true);
  });

  it('keeps a persisted column that is already wider than the dictionary type, without a change', () => {
    const persisted: ColumnSpec[] = [
      { name: 'id', source: 'id', type: 'string', origin: 'dictionary' },
      { name: 'time', source: 'time', type: 'timestamp', origin: 'dictionary' },
      { name: 'amount', source: 'amount', type: 'string', origin: 'dynamic' },
      { name: 'dnt', source: 'dnt', type: 'boolean', origin: 'dictionary' },
      ...AUDIT,
    ];
    const { m } = mapper({ persisted });
    expect(m.schema.columns).toEqual(persisted);
    expect(m.schemaChanged).toBe(false);
    const [row] = m.map({ fields: ['id', 'amount'], records: [['a', '1e3']] });
    expect(obj(m, row as Row).amount).toBe('1e3');
  });

  it('refuses a key or cursor that is not a dictionary column', () => {
    expect(() => mapper({}, { primaryKey: ['nope'] })).toThrow(ConfigError);
    expect(() => mapper({}, { cursorField: 'amount' })).toThrow(/timestamp or date/);
  });

  it('hands out schema snapshots that later changes do not mutate', () => {
    const { m } = mapper();
    const before = m.schema;
    m.map({
      fields: ['id', 'time', 'n'],
      records: [
        ['a', '2025-01-01', '1'],
        ['b', '2025-01-01', '1.5'],
      ],
    });
    expect(before.columns).toHaveLength(7);
    expect(m.schema.columns).toHaveLength(8);
    expect(m.schema.columns[7]).toEqual({ name: 'n', source: 'n', type: 'decimal', origin: 'dynamic' });
  });
});

describe('RowMapper rows', () => {
  it('writes canonical text and the audit values', () => {
    const { m } = mapper();
    const rows = m.map({
      fields: F,
      records: [
        ['a', '2025-10-01 12:34:56.789', '+1.50', 'TRUE'],
        ['b', '', '', ''],
      ],
    });
    expect(rows[0]).toEqual([
      'a',
      '2025-10-01T12:34:56.789000Z',
      '1.50',
      'true',
      '2025-10-02T03:04:05.678000Z',
      'run-1',
      null,
    ]);
    expect(rows[1]).toEqual(['b', null, null, null, '2025-10-02T03:04:05.678000Z', 'run-1', null]);
  });

  it('appends a new field as a typed column; earlier rows stay shorter', () => {
    const { m } = mapper();
    const rows = m.map({
      fields: ['id', 'time', 'fieldName'],
      records: [
        ['a', '2025-01-01', null],
        ['b', '2025-01-01', '42'],
        ['c', '2025-01-01', '-7'],
      ],
    });
    expect(names(m).slice(4)).toEqual([
      '_exportsync_loaded_at',
      '_exportsync_run_id',
      '_extra',
      'field_name',
    ]);
    expect(m.schema.columns[7]?.type).toBe('integer');
    expect(rows[0]).toHaveLength(7);
    expect(rows[1]).toHaveLength(8);
    expect(rows[1]?.[7]).toBe('42');
    expect(rows[2]?.[7]).toBe('-7');
  });

  it('widens a dynamic column when a value needs it, and earlier text stays valid', () => {
    const { m } = mapper();
    const fields = ['id', 'n', 'flag', 'when'];
    const rows = m.map({
      fields,
      records: [
        ['a', '1', 'true', '2025-01-01'],
        ['b', '9223372036854775808', '1', '2025-01-01T10:00:00Z'],
        ['c', 'n/a', null, null],
      ],
    });
    const types = Object.fromEntries(m.schema.columns.map((c) => [c.name, c.type]));
    // integer → decimal (20 digits) → string; boolean + integer → string, not integer; date + timestamp → string.
    expect(types).toMatchObject({ n: 'string', flag: 'string', when: 'string' });
    expect(rows.map((r) => obj(m, r).n)).toEqual(['1', '9223372036854775808', 'n/a']);
    expect(rows.map((r) => obj(m, r).flag)).toEqual(['true', '1', null]);
    expect(m.schemaChanged).toBe(true);
  });

  it('widens integer to decimal only as far as the data needs', () => {
    const { m } = mapper();
    m.map({
      fields: ['id', 'n'],
      records: [
        ['a', '1'],
        ['b', '2.5'],
        ['c', 3],
      ],
    });
    expect(m.schema.columns.find((c) => c.name === 'n')?.type).toBe('decimal');
  });

  it('keeps a dictionary value that does not fit in _extra and leaves the column NULL', () => {
    const { m, warnings } = mapper();
    const rows = m.map({
      fields: F,
      records: [
        ['a', 'not a date', '1.5', 'maybe'],
        ['b', 'also not', '1,5', 'false'],
      ],
    });
    expect(obj(m, rows[0] as Row)).toMatchObject({
      time: null,
      dnt: null,
      amount: '1.5',
      _extra: '{"time":"not a date","dnt":"maybe"}',
    });
    expect(obj(m, rows[1] as Row)).toMatchObject({
      time: null,
      amount: null,
      dnt: 'false',
      _extra: '{"time":"also not","amount":"1,5"}',
    });
    expect(m.schema.columns.find((c) => c.name === 'time')?.type).toBe('timestamp');
    // one warning per column, not per value
    expect(
      warnings()
        .map((w) => w.field)
        .sort(),
    ).toEqual(['amount', 'dnt', 'time']);
  });

  it('sends new fields past the column budget to _extra with one warning per field', () => {
    const { m, warnings } = mapper({ columnBudget: 2 });
    const fields = ['id', 'a', 'b', 'c', 'd'];
    m.map({ fields, records: [['x', '1', '2', '3', '4']] });
    const rows = m.map({
      fields: [...fields],
      records: [
        ['y', '5', '6', '7', '8'],
        ['z', null, null, '9', null],
      ],
    });
    expect(names(m).slice(7)).toEqual(['a', 'b']);
    expect(obj(m, rows[0] as Row)).toMatchObject({ a: '5', b: '6', _extra: '{"c":"7","d":"8"}' });
    expect(obj(m, rows[1] as Row)._extra).toBe('{"c":"9"}');
    expect(warnings().map((w) => w.field)).toEqual(['c', 'd']);
  });

  it('counts persisted dynamic columns against the budget and respects the warehouse column limit', () => {
    const persisted: ColumnSpec[] = [
      ...DICT.map((d) => ({ name: d.name, source: d.name, type: d.type, origin: 'dictionary' as const })),
      ...AUDIT,
      { name: 'old', source: 'old', type: 'string', origin: 'dynamic' },
    ];
    const { m } = mapper({ persisted, columnBudget: 1 });
    m.map({ fields: ['id', 'new'], records: [['a', 'v']] });
    expect(names(m)).not.toContain('new');
    const limited = mapper({ capabilities: { ...CAPS, maxColumns: 8 } }).m;
    limited.map({ fields: ['id', 'p', 'q'], records: [['a', '1', '2']] });
    expect(names(limited).slice(7)).toEqual(['p']);
  });

  it('puts unknown fields in _extra when the stream has no dynamic columns', () => {
    const { m } = mapper({}, { dynamicColumns: false });
    const [row] = m.map({ fields: ['id', 'extraField'], records: [['a', { deep: [1] }]] });
    expect(names(m)).toHaveLength(7);
    expect(obj(m, row as Row)._extra).toBe('{"extraField":{"deep":[1]}}');
  });

  it('keeps repeated header fields and surplus values in _extra', () => {
    const { m } = mapper();
    const [row] = m.map({ fields: ['id', 'amount', 'amount'], records: [['a', '1', '2', 'surplus']] });
    expect(obj(m, row as Row)).toMatchObject({
      amount: '1',
      _extra: '{"amount#3":"2","_overflow":["surplus"]}',
    });
  });

  it('never maps a data field to an audit column', () => {
    const { m } = mapper();
    const [row] = m.map({ fields: ['id', '_extra', '_exportsync_run_id'], records: [['a', 'x', 'y']] });
    expect(obj(m, row as Row)).toMatchObject({
      _extra: null,
      _exportsync_run_id: 'run-1',
      extra: 'x',
      exportsync_run_id: 'y',
    });
  });

  it('resolves a case collision between fields with a hash of the raw name', () => {
    const { m } = mapper();
    const [row] = m.map({ fields: ['id', 'foo', 'Foo'], records: [['a', '1', '2']] });
    expect(obj(m, row as Row)).toMatchObject({ foo: '1', [`foo_${nameHash('Foo')}`]: '2' });
  });

  it('maps batches with differently ordered fields through their own plans', () => {
    const { m } = mapper();
    const a = m.map({ fields: ['id', 'x'], records: [['a', '1']] });
    const b = m.map({ fields: ['x', 'id', 'time'], records: [['2', 'b', '2025-01-01']] });
    expect(obj(m, a[0] as Row)).toMatchObject({ id: 'a', x: '1' });
    expect(obj(m, b[0] as Row)).toMatchObject({ id: 'b', x: '2', time: '2025-01-01T00:00:00.000000Z' });
  });

  it('treats a short record as trailing NULLs', () => {
    const { m } = mapper();
    const [row] = m.map({ fields: F, records: [['a']] });
    expect(obj(m, row as Row)).toMatchObject({ id: 'a', time: null, amount: null });
  });
});

describe('RowMapper unloadable rows', () => {
  it('throws DataError naming stream, line and field for an empty key', () => {
    const { m } = mapper();
    const batch: RecordBatch = {
      fields: F,
      records: [
        ['a', '2025-01-01'],
        ['', '2025-01-01'],
      ],
      positions: [16, 17],
    };
    expect(() => m.map(batch)).toThrow(DataError);
    expect(() => m.map(batch)).toThrow('events: line 17: id is empty');
    try {
      m.map({ fields: ['time'], records: [['2025-01-01']] });
    } catch (e) {
      expect((e as DataError).details).toEqual({ stream: 'events', line: 1, field: 'id' });
    }
    expect.assertions(3);
  });

  it('names the bad value when a key does not fit its type', () => {
    const { m } = mapper({}, { columns: [{ name: 'id', type: 'integer' }, ...DICT.slice(1)] });
    expect(() => m.map({ fields: ['id'], records: [['abc']], positions: [3] })).toThrow(
      'events: line 3: id "abc" is not a valid integer',
    );
  });

  it('throws on a reject in a merge stream', () => {
    const { m } = mapper();
    const batch: RecordBatch = {
      fields: F,
      records: [],
      rejects: [{ position: 9, raw: 'a,b', error: 'expected 4 fields, got 2' }],
    };
    expect(() => m.map(batch)).toThrow(/events: line 9: unreadable record \(expected 4 fields, got 2\)/);
  });

  it('throws on a NULL cursor or a reject in a replace_window stream, whose delete could never reach them', () => {
    const { m } = mapper({}, { primaryKey: [], writeMode: 'replace_window' });
    expect(() => m.map({ fields: F, records: [['a', null]], positions: [5] })).toThrow(
      'events: line 5: time is empty',
    );
    expect(() =>
      m.map({ fields: F, records: [], rejects: [{ position: 2, raw: 'x', error: 'bad' }] }),
    ).toThrow(DataError);
  });

  it('keeps a reject of a keyless snapshot stream as a row with its raw text in _extra', () => {
    const { m } = mapper({}, { primaryKey: [], writeMode: 'snapshot' });
    const rows = m.map({
      fields: F,
      records: [['a', '2025-01-01']],
      rejects: [{ position: 2, raw: 'x,"y\0', error: 'Invalid Record Length' }],
    });
    expect(rows).toHaveLength(2);
    expect(obj(m, rows[1] as Row)).toEqual({
      id: null,
      time: null,
      amount: null,
      dnt: null,
      _exportsync_loaded_at: '2025-10-02T03:04:05.678000Z',
      _exportsync_run_id: 'run-1',
      _extra: '{"_rejected":{"position":2,"error":"Invalid Record Length","raw":"x,\\"y"}}',
    });
  });
});

describe('RowMapper canonical guarantee', () => {
  const FORMS: Record<string, RegExp> = {
    boolean: /^(true|false)$/,
    integer: /^-?\d+$/,
    decimal: /^-?\d+(\.\d+)?$/,
    timestamp: /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/,
    date: /^\d{4}-\d{2}-\d{2}$/,
    string: /^[^\0]*$/s,
  };

  it('hands out only text in the canonical form of its column, whatever the input', () => {
    const { m } = mapper();
    const values: unknown[] = [
      'x',
      '',
      '1',
      '-5',
      '007',
      1.5,
      2 ** 60,
      1e21,
      1e-9,
      true,
      'TRUE',
      '2025-01-01',
      '2025-01-01T01:02:03+01:00',
      '2025-02-30',
      '1e3',
      'a\0b',
      { o: 1 },
      [1],
      '9223372036854775808',
      Number.NaN,
    ];
    const fields = ['id', 'time', 'amount', 'dnt', 'd1', 'd2', 'd3'];
    const records: unknown[][] = [];
    for (let i = 0; i < 400; i++) {
      records.push([`id${i}`, ...fields.slice(1).map((_, k) => values[(i * (k + 3) + k) % values.length])]);
    }
    const rows = m.map({ fields, records });
    const cols = m.schema.columns;
    for (const row of rows) {
      row.forEach((cell, i) => {
        if (cell === null) return;
        const type = cols[i]?.type as string;
        if (type === 'json') expect(() => JSON.parse(cell)).not.toThrow();
        else expect(cell, `${cols[i]?.name} (${type})`).toMatch(FORMS[type] as RegExp);
      });
    }
  });
});
