/**
 * What each corpus input must end as. `records`: how many records the input holds (all must be
 * rows when kept). `expect`: 'kept', 'error' (then `errorNames` is what the message must name),
 * or 'kept-or-error' where either is a correct answer. `check`: more about the stored values;
 * returns the problems found. `knownBug`: the case fails today for the reason given (the CI test
 * runs it as `it.fails`, so the day it is fixed the test says so).
 */
import type { Target } from '../e2e/harness.js';
import {
  DYNAMIC_KEYS,
  MEGABYTE_VALUE,
  dynamicKey,
  oneMegabyteField,
  tenThousandDynamicKeys,
} from '../corpus/generate.js';

export interface Outcome {
  status: string;
  error?: string;
  rows: number;
}

export interface CorpusCase {
  name: string;
  /** Path under test/corpus, or absent for a generated input. */
  file?: string;
  generate?: () => Buffer;
  connector: 'scarf' | 'replicated-events' | 'replicated-instances';
  contentType: string;
  records: number;
  expect: 'kept' | 'error' | 'kept-or-error';
  errorNames?: RegExp;
  check?: (t: Target, table: string) => Promise<string[]>;
  knownBug?: string;
}

const CSV = 'text/csv; charset=utf-8';
const JSON_TYPE = 'application/json';
const scarfId = (i: number) => `c0rpus00-0000-4000-8000-${String(i).padStart(12, '0')}`;

/** `column` of every row as text, keyed by `key`. */
async function values(
  t: Target,
  table: string,
  key: string,
  column: string,
): Promise<Map<string, string | null>> {
  const rows = await t.query<{ k: string; v: string | null }>(
    `SELECT CAST(${quote(key)} AS VARCHAR) AS k, CAST(${quote(column)} AS VARCHAR) AS v FROM ${t.table(table)}`,
  );
  return new Map(rows.map((r) => [r.k, r.v]));
}

async function columns(t: Target, table: string): Promise<string[]> {
  const schema = t.table().split('.')[0]?.replace(/"/g, '') ?? '';
  const rows = await t.query<{ c: string }>(
    'SELECT column_name AS c FROM information_schema.columns WHERE table_schema = $1 AND table_name = $2',
    [schema, table],
  );
  return rows.map((r) => r.c);
}

const quote = (s: string) => `"${s.replace(/"/g, '""')}"`;

/** Exact decimal text without trailing fractional zeros (DuckDB pads to the scale). */
const exact = (v: string | null | undefined) => (v ?? '').replace(/(\.\d*?)0+$/, '$1').replace(/\.$/, '');

function expectValue(
  problems: string[],
  what: string,
  got: string | null | undefined,
  want: string | null,
): void {
  if (got !== want)
    problems.push(
      `${what}: expected ${JSON.stringify(want)?.slice(0, 80)}, got ${JSON.stringify(got)?.slice(0, 80)}`,
    );
}

export const CORPUS_CASES: CorpusCase[] = [
  // ── Scarf events CSV ──
  {
    name: 'unbalanced quote never closed: a clear error naming the line the record starts',
    file: 'scarf-events/unbalanced-quote-never-closed-fails-naming-its-line.csv',
    connector: 'scarf',
    contentType: CSV,
    records: 5,
    expect: 'error',
    errorNames: /line 5\b/,
  },
  {
    name: 'stray quote inside an unquoted field: kept as text',
    file: 'scarf-events/stray-quote-inside-a-field-is-kept.csv',
    connector: 'scarf',
    contentType: CSV,
    records: 3,
    expect: 'kept',
    async check(t, table) {
      const p: string[] = [];
      expectValue(
        p,
        'origin_company',
        (await values(t, table, 'id', 'origin_company')).get(scarfId(3)),
        'Acme "the best" Inc',
      );
      return p;
    },
  },
  {
    // A merge stream cannot tell which value is the key once the field count is off (a comma in
    // an unquoted field shifts every column), so it refuses the window naming the line.
    name: 'a row with an extra field: a clear error naming its line',
    file: 'scarf-events/extra-field-row-in-a-merge-stream-fails-naming-its-line.csv',
    connector: 'scarf',
    contentType: CSV,
    records: 4,
    expect: 'error',
    errorNames: /line 4: .*25 fields, header has 24/,
  },
  {
    name: 'a row with missing fields: a clear error naming its line',
    file: 'scarf-events/missing-field-row-in-a-merge-stream-fails-naming-its-line.csv',
    connector: 'scarf',
    contentType: CSV,
    records: 4,
    expect: 'error',
    errorNames: /line 4: .*21 fields, header has 24/,
  },
  {
    name: 'byte order mark before the header: dropped, the id column is found',
    file: 'scarf-events/byte-order-mark-before-the-header-is-dropped.csv',
    connector: 'scarf',
    contentType: CSV,
    records: 3,
    expect: 'kept',
    async check(t, table) {
      const p: string[] = [];
      if ((await columns(t, table)).some((c) => c.includes('\uFEFF') || c.includes('bom')))
        p.push('a column name carries the BOM');
      if (!(await values(t, table, 'id', 'id')).has(scarfId(1))) p.push('id of row 1 missing');
      return p;
    },
  },
  {
    name: 'CRLF line endings: no carriage return left in a value',
    file: 'scarf-events/crlf-line-endings-leave-no-carriage-returns.csv',
    connector: 'scarf',
    contentType: CSV,
    records: 3,
    expect: 'kept',
    async check(t, table) {
      const p: string[] = [];
      for (const [id, v] of await values(t, table, 'id', 'mtc_quota_exceeded'))
        expectValue(p, `mtc_quota_exceeded of ${id}`, v, 'false');
      for (const [id, v] of await values(t, table, 'id', '_extra'))
        expectValue(p, `_extra of ${id}`, v, null);
      return p;
    },
  },
  {
    name: 'NUL bytes inside fields: removed, rows kept',
    file: 'scarf-events/nul-bytes-inside-fields-are-removed.csv',
    connector: 'scarf',
    contentType: CSV,
    records: 3,
    expect: 'kept',
    async check(t, table) {
      const p: string[] = [];
      expectValue(
        p,
        'origin_company',
        (await values(t, table, 'id', 'origin_company')).get(scarfId(2)),
        'Acme',
      );
      expectValue(p, 'user_agent', (await values(t, table, 'id', 'user_agent')).get(scarfId(3)), 'curl/8');
      return p;
    },
  },
  {
    name: 'invalid UTF-8: replacement characters, rows kept',
    file: 'scarf-events/invalid-utf8-bytes-become-replacement-characters.csv',
    connector: 'scarf',
    contentType: CSV,
    records: 3,
    expect: 'kept',
    async check(t, table) {
      const p: string[] = [];
      const v = (await values(t, table, 'id', 'origin_company')).get(scarfId(2)) ?? '';
      if (!v.startsWith('Acme\uFFFD') || !v.endsWith('(Inc'))
        p.push(`origin_company is ${JSON.stringify(v)}`);
      return p;
    },
  },
  {
    name: 'empty body (0 bytes, no header): a clear error (a glitch, not "no records"), the mark stays',
    file: 'scarf-events/empty-body-fails-and-keeps-the-mark.csv',
    connector: 'scarf',
    contentType: CSV,
    records: 0,
    expect: 'error',
  },
  {
    name: 'header without rows: loads nothing',
    file: 'scarf-events/header-only-body-loads-nothing.csv',
    connector: 'scarf',
    contentType: CSV,
    records: 0,
    expect: 'kept',
  },
  {
    name: 'odd but valid and far-future timestamps: typed',
    file: 'scarf-events/odd-but-valid-and-far-future-timestamps-are-typed.csv',
    connector: 'scarf',
    contentType: CSV,
    records: 7,
    expect: 'kept',
    async check(t, table) {
      const p: string[] = [];
      const times = await values(t, table, 'id', 'time');
      const extra = await values(t, table, 'id', '_extra');
      const want: Array<[number, RegExp]> = [
        [1, /^2026-11-24[ T]04:28:06/],
        [2, /^2026-11-24[ T]02:28:06/],
        [3, /^9999-12-31[ T]23:59:59/],
        [4, /^1970-01-01[ T]00:00:00/],
        [5, /^0001-01-01[ T]00:00:00/],
        [6, /^2026-11-24[ T]04:28:06\.123456/],
        [7, /^2026-11-24[ T]04:28:06\.1/],
      ];
      for (const [i, re] of want) {
        const v = times.get(scarfId(i));
        if (!re.test(v ?? '')) p.push(`time of row ${i}: ${v} (extra ${extra.get(scarfId(i))})`);
      }
      return p;
    },
  },
  {
    name: 'unparseable cursor timestamps: a clear error naming the lines',
    file: 'scarf-events/unparseable-cursor-timestamps-fail-naming-the-line.csv',
    connector: 'scarf',
    contentType: CSV,
    records: 6,
    expect: 'error',
    errorNames: /line\/record 3, 4, 6\b/,
  },
  {
    name: 'SQL injection in a header and in values: stored as text, nothing executed',
    file: 'scarf-events/sql-injection-in-a-header-and-values-is-stored-as-text.csv',
    connector: 'scarf',
    contentType: CSV,
    records: 2,
    expect: 'kept',
    async check(t, table) {
      const p: string[] = [];
      const cols = await columns(t, table);
      const metric = cols.find((c) => c.startsWith('custom_metric_x'));
      if (!metric) return [`no custom_metric__x column among ${cols.join(',')}`];
      const got = await values(t, table, 'id', metric);
      expectValue(p, metric, got.get(scarfId(1)), '42');
      expectValue(p, `${metric} of the injected id`, got.get("'); DROP TABLE scarf_events; --"), '7');
      return p;
    },
  },
  {
    name: 'HTML error page with 200 and text/csv: a clear error',
    file: 'scarf-events/html-error-page-served-as-csv-with-200-fails-clearly.csv',
    connector: 'scarf',
    contentType: CSV,
    records: 0,
    expect: 'error',
    errorNames: /field id \(key\): missing from the response/,
  },
  {
    name: 'HTML error page with 200 and text/html: a clear error',
    file: 'scarf-events/html-error-page-served-as-text-html-with-200-fails-clearly.html.body',
    connector: 'scarf',
    contentType: 'text/html; charset=utf-8',
    records: 0,
    expect: 'error',
    errorNames: /html|HTML|missing from the response/,
  },
  {
    name: 'a 1 MB field value: kept exact',
    generate: oneMegabyteField,
    connector: 'scarf',
    contentType: CSV,
    records: 3,
    expect: 'kept',
    async check(t, table) {
      const v = (await values(t, table, 'id', 'referer')).get('big-2');
      return v === MEGABYTE_VALUE ? [] : [`referer is ${v?.length} chars, not the 1 MB value`];
    },
  },
  // ── Replicated instance events JSON ──
  {
    name: 'integers beyond 2^53 and 20-digit decimals: exact, as text and as numbers',
    file: 'replicated-events/integers-beyond-2-pow-53-and-20-digit-decimals-stay-exact.json.body',
    connector: 'replicated-events',
    contentType: JSON_TYPE,
    records: 6,
    expect: 'kept',
    async check(t, table) {
      const p: string[] = [];
      const text = await values(t, table, 'instance_id', 'field_value');
      const num = await values(t, table, 'instance_id', 'field_value_numeric');
      const want: Array<[string, string]> = [
        ['inst1', '9007199254740993'],
        ['inst2', '-9223372036854775808'],
        ['inst3', '12345678901234567890.12345678901234567890'],
        ['inst4', '0.10000000000000000001'],
        ['inst5', '9007199254740993'],
      ];
      for (const [id, v] of want) {
        expectValue(p, `field_value of ${id}`, text.get(id), v);
        // beyond 38 digits (the widest DECIMAL of every warehouse) the numeric copy is NULL, the text stays
        const digits = v.replace(/[-.]/g, '').length;
        expectValue(
          p,
          `field_value_numeric of ${id}`,
          digits > 38 ? (num.get(id) ?? null) : exact(num.get(id)),
          digits > 38 ? null : exact(v),
        );
      }
      const seats = await values(t, table, 'instance_id', 'seat_count');
      const ratio = await values(t, table, 'instance_id', 'ratio');
      expectValue(p, 'seat_count of inst5', seats.get('inst5'), '9007199254740993');
      expectValue(p, 'seat_count of inst6', exact(seats.get('inst6')), '18446744073709551617');
      expectValue(p, 'ratio of inst5', exact(ratio.get('inst5')), '12345678901234567890.5');
      expectValue(p, 'ratio of inst6', exact(ratio.get('inst6')), '0.1');
      return p;
    },
  },
  {
    name: 'JSON empty body: a clear error (a glitch, not "no records"), the mark stays',
    file: 'replicated-events/empty-body-fails-and-keeps-the-mark.json.body',
    connector: 'replicated-events',
    contentType: JSON_TYPE,
    records: 0,
    expect: 'error',
  },
  {
    name: 'JSON empty array: loads nothing',
    file: 'replicated-events/empty-array-loads-nothing.json.body',
    connector: 'replicated-events',
    contentType: JSON_TYPE,
    records: 0,
    expect: 'kept',
  },
  {
    name: 'HTML error page with 200 and application/json: a clear error',
    file: 'replicated-events/html-error-page-served-as-json-with-200-fails-clearly.json.body',
    connector: 'replicated-events',
    contentType: JSON_TYPE,
    records: 0,
    expect: 'error',
    errorNames: /expected a JSON array/,
  },
  {
    name: 'JSON cut midway: a clear error naming where',
    file: 'replicated-events/json-cut-midway-fails-clearly.json.body',
    connector: 'replicated-events',
    contentType: JSON_TYPE,
    records: 2,
    expect: 'error',
    errorNames: /ends early \(after 1 complete/,
  },
  {
    name: 'SQL injection in JSON keys and values: quoted columns, values as text',
    file: 'replicated-events/sql-injection-in-keys-and-values-is-stored-as-text.json.body',
    connector: 'replicated-events',
    contentType: JSON_TYPE,
    records: 1,
    expect: 'kept',
    async check(t, table) {
      const p: string[] = [];
      expectValue(
        p,
        'field_value',
        (await values(t, table, 'instance_id', 'field_value')).get('inst1'),
        "x'); DROP TABLE replicated_instance_events; --",
      );
      const cols = await columns(t, table);
      const metric = cols.find((c) => c.startsWith('custom_metric_x'));
      if (!metric) p.push(`no custom_metric__x column among ${cols.join(',')}`);
      else expectValue(p, metric, (await values(t, table, 'instance_id', metric)).get('inst1'), '5');
      return p;
    },
  },
  // ── Replicated customer instances JSON ──
  {
    name: 'SQL injection in dynamic keys of a snapshot: quoted columns',
    file: 'replicated-instances/sql-injection-key-becomes-a-quoted-column.json.body',
    connector: 'replicated-instances',
    contentType: JSON_TYPE,
    records: 2,
    expect: 'kept',
    async check(t, table) {
      const p: string[] = [];
      const cols = await columns(t, table);
      const metric = cols.find((c) => c.startsWith('custom_metric_x'));
      if (!metric) return [`no custom_metric__x column among ${cols.join(',')}`];
      const got = await values(t, table, 'customer_id', metric);
      expectValue(p, metric, got.get('cust1'), '5');
      expectValue(
        p,
        'customer_name',
        (await values(t, table, 'customer_id', 'customer_name')).get('cust1'),
        "Robert'); DROP TABLE students;--",
      );
      const states = await t.query(`SELECT stream_key FROM ${t.table('_exportsync_state')}`);
      if (states.length !== 1) p.push(`_exportsync_state has ${states.length} rows`);
      return p;
    },
  },
  {
    name: '10,000 distinct dynamic keys: columns up to the budget, the rest in _extra, none lost',
    generate: tenThousandDynamicKeys,
    connector: 'replicated-instances',
    contentType: JSON_TYPE,
    records: 2,
    expect: 'kept',
    async check(t, table) {
      const p: string[] = [];
      const cols = (await columns(t, table)).filter((c) => c.startsWith('custom_metric_k'));
      if (cols.length === 0 || cols.length > 500) p.push(`${cols.length} dynamic columns (budget 500)`);
      const extra = JSON.parse(
        (await values(t, table, 'customer_id', '_extra')).get('cust1') ?? '{}',
      ) as Record<string, unknown>;
      const inExtra = Object.keys(extra).filter((k) => k.startsWith('custom_metric__k'));
      // the warehouse name of custom_metric__k00042 is custom_metric_k00042
      if (cols.length + inExtra.length !== DYNAMIC_KEYS)
        p.push(`${cols.length} columns + ${inExtra.length} keys in _extra ≠ ${DYNAMIC_KEYS}`);
      const last = dynamicKey(DYNAMIC_KEYS - 1);
      const lastValue = cols.includes(last)
        ? (await values(t, table, 'customer_id', last)).get('cust1')
        : String(extra[last]);
      expectValue(p, last, lastValue, String(DYNAMIC_KEYS - 1));
      return p;
    },
  },
];
