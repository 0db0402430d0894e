/**
 * Snowflake's JSON wire format for results and errors, as snowflake-sdk 3 parses it: a `rowtype`
 * per column and a `rowset` of text cells (numbers as text, booleans "1"/"0", dates as days since
 * the epoch, TIMESTAMP_TZ as "<epoch seconds>.<9 digits> <offset minutes + 1440>"), plus the
 * session parameters the driver needs to convert them (TIMEZONE is mandatory). DuckDB errors map
 * to the Snowflake error codes the destination classifies.
 */
import { randomUUID } from 'node:crypto';

export const SESSION_PARAMETERS = [
  { name: 'TIMEZONE', value: 'UTC' },
  { name: 'TIMESTAMP_OUTPUT_FORMAT', value: 'YYYY-MM-DD HH24:MI:SS.FF3 TZHTZM' },
  { name: 'TIMESTAMP_NTZ_OUTPUT_FORMAT', value: 'YYYY-MM-DD HH24:MI:SS.FF3' },
  { name: 'TIMESTAMP_LTZ_OUTPUT_FORMAT', value: '' },
  { name: 'TIMESTAMP_TZ_OUTPUT_FORMAT', value: '' },
  { name: 'DATE_OUTPUT_FORMAT', value: 'YYYY-MM-DD' },
  { name: 'TIME_OUTPUT_FORMAT', value: 'HH24:MI:SS' },
  { name: 'CLIENT_RESULT_CHUNK_SIZE', value: 160 },
  { name: 'CLIENT_SESSION_KEEP_ALIVE', value: false },
];

export interface ColumnInfo {
  name: string;
  /** DuckDB type text, e.g. DECIMAL(38,0), VARCHAR, TIMESTAMP WITH TIME ZONE. */
  duckType: string;
}

function sfType(duckType: string): { type: string; precision?: number; scale?: number } {
  const dec = /^DECIMAL\((\d+),(\d+)\)$/.exec(duckType);
  if (dec) return { type: 'fixed', precision: Number(dec[1]), scale: Number(dec[2]) };
  if (/^(BIGINT|INTEGER|SMALLINT|TINYINT|HUGEINT|UBIGINT|UINTEGER)$/.test(duckType))
    return { type: 'fixed', precision: 38, scale: 0 };
  if (duckType === 'DOUBLE' || duckType === 'FLOAT') return { type: 'real' };
  if (duckType === 'BOOLEAN') return { type: 'boolean' };
  if (duckType === 'DATE') return { type: 'date' };
  if (duckType === 'TIMESTAMP WITH TIME ZONE') return { type: 'timestamp_tz', scale: 9 };
  if (duckType === 'TIMESTAMP') return { type: 'timestamp_ntz', scale: 9 };
  if (duckType === 'JSON') return { type: 'variant' };
  return { type: 'text' };
}

export function rowtype(columns: ColumnInfo[]): unknown[] {
  return columns.map((c) => {
    const t = sfType(c.duckType);
    return {
      name: c.name,
      database: '',
      schema: '',
      table: '',
      type: t.type,
      nullable: true,
      precision: t.precision ?? null,
      scale: t.scale ?? null,
      length: t.type === 'text' || t.type === 'variant' ? 16777216 : null,
      byteLength: t.type === 'text' || t.type === 'variant' ? 16777216 : null,
      collation: null,
    };
  });
}

/** '2024-01-01 10:00:00.000001+00' → '1704103200.000001000 1440'. */
function timestampCell(text: string, withZone: boolean): string {
  const m = /^(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(?:([+-]\d{2})(?::?(\d{2}))?)?$/.exec(
    text,
  );
  if (!m) throw new Error(`stand-in: cannot encode timestamp ${text}`);
  const sign = m[4]?.startsWith('-') ? -1 : 1;
  const offsetMin = m[4] ? sign * (Math.abs(Number(m[4])) * 60 + Number(m[5] ?? 0)) : 0;
  const seconds = Date.parse(`${m[1]}T${m[2]}Z`) / 1000 - offsetMin * 60;
  const cell = `${seconds}.${(m[3] ?? '').padEnd(9, '0')}`;
  return withZone ? `${cell} ${offsetMin + 1440}` : cell;
}

export function encodeCell(value: unknown, duckType: string): string | null {
  if (value === null || value === undefined) return null;
  const { type } = sfType(duckType);
  if (type === 'boolean') return value === true || value === 'true' ? '1' : '0';
  if (type === 'date') return String(Math.round(Date.parse(`${String(value)}T00:00:00Z`) / 86_400_000));
  if (type === 'timestamp_tz') return timestampCell(String(value), true);
  if (type === 'timestamp_ntz') return timestampCell(String(value), false);
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

export function success(data: Record<string, unknown>): unknown {
  return {
    success: true,
    code: null,
    message: null,
    data: {
      queryId: randomUUID(),
      parameters: SESSION_PARAMETERS,
      version: 1,
      queryResultFormat: 'json',
      ...data,
    },
  };
}

export interface SnowflakeFailure {
  code: string;
  sqlState: string;
  message: string;
}

export function failure(f: SnowflakeFailure): unknown {
  return {
    success: false,
    code: f.code,
    message: f.message,
    data: { sqlState: f.sqlState, queryId: randomUUID(), errorCode: f.code, internalError: false },
  };
}

/** A DuckDB error as the Snowflake error it stands for. */
export function mapDuckError(err: unknown): SnowflakeFailure {
  const message = err instanceof Error ? err.message : String(err);
  if (/^(Parser|Catalog|Binder) Error/i.test(message)) {
    const missing = /does not exist/i.test(message);
    return {
      code: missing ? '002003' : /^Parser/i.test(message) ? '001003' : '000904',
      sqlState: missing ? '42S02' : /^Parser/i.test(message) ? '42000' : '42000',
      message: `SQL compilation error:\n${message}`,
    };
  }
  if (/NOT NULL constraint/i.test(message))
    return {
      code: '100072',
      sqlState: '22000',
      message: `NULL result in a non-nullable column (${message})`,
    };
  if (/^Conversion Error|Could not convert|Malformed JSON/i.test(message))
    return { code: '100038', sqlState: '22018', message: `Numeric value is not recognized (${message})` };
  if (/conflict/i.test(message))
    return {
      code: '000625',
      sqlState: '57014',
      message: `Statement aborted by a conflicting transaction (${message})`,
    };
  return { code: '100035', sqlState: '22000', message };
}
