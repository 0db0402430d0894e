/**
 * CSV load jobs of the stand-in: the file is parsed here, by the rules BigQuery documents for the
 * options given, and refused when a job asks for an option this parser does not model (so a test
 * can never pass on an option the stand-in silently ignored). The parsed records go back out as a
 * normalised CSV (every value quoted, NULL an unquoted empty field) for DuckDB to insert.
 *
 * Modelled, from BigQuery's documentation: fields map to the job schema by position; a record with
 * more fields than the schema fails; fewer fail unless `allowJaggedRows` (then NULL); an unquoted
 * field equal to `nullMarker` (default '') is NULL, a quoted empty field is '' in a STRING column;
 * a line break inside quotes fails unless `allowQuotedNewlines`; '""' is a quote inside quotes;
 * text after a closing quote fails; the data must be valid UTF-8.
 * Assumed, NOT verified against the service (the stand-in is stricter where unsure):
 * - without `preserveAsciiControlCharacters`, a byte 0x00–0x1F other than TAB, LF and CR fails
 *   the load (the documentation says only that the option preserves them);
 * - whitespace around an unquoted field is dropped (an older BigQuery guide says leading and
 *   trailing whitespace of unquoted fields is ignored; quote a value to keep it).
 */
import { BqError } from './engine.js';

const SUPPORTED = new Set([
  'sourceFormat',
  'destinationTable',
  'schema',
  'writeDisposition',
  'createDisposition',
  'ignoreUnknownValues',
  'maxBadRecords',
  'fieldDelimiter',
  'quote',
  'skipLeadingRows',
  'encoding',
  'allowQuotedNewlines',
  'allowJaggedRows',
  'nullMarker',
  'preserveAsciiControlCharacters',
]);

const invalid = (message: string) => new BqError(400, 'invalid', message);

/** The records of a CSV load job's data, `width` values each (NULL padded when jagged rows are allowed). */
export function parseCsvLoad(
  config: Record<string, unknown>,
  data: Buffer,
  width: number,
): Array<Array<string | null>> {
  for (const key of Object.keys(config)) {
    if (!SUPPORTED.has(key)) throw invalid(`stand-in: CSV load option ${key} is not modelled`);
  }
  if ((config.fieldDelimiter ?? ',') !== ',') throw invalid('stand-in: only fieldDelimiter "," is modelled');
  if ((config.quote ?? '"') !== '"') throw invalid("stand-in: only quote '\"' is modelled");
  if (Number(config.skipLeadingRows ?? 0) !== 0)
    throw invalid('stand-in: only skipLeadingRows 0 is modelled');
  if (String(config.encoding ?? 'UTF-8').toUpperCase() !== 'UTF-8')
    throw invalid('stand-in: only UTF-8 is modelled');
  if (config.ignoreUnknownValues === true) throw invalid('stand-in: ignoreUnknownValues is not modelled');
  if (Number(config.maxBadRecords ?? 0) !== 0) throw invalid('stand-in: only maxBadRecords 0 is modelled');
  const nullMarker = String(config.nullMarker ?? '');
  const quotedNewlines = config.allowQuotedNewlines === true;
  const jagged = config.allowJaggedRows === true;
  const controls = config.preserveAsciiControlCharacters === true;
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(data);
  } catch {
    throw invalid('Error while reading data, error message: CSV data is not valid UTF-8');
  }
  const records: Array<Array<string | null>> = [];
  let i = 0;
  let line = 1;
  const bad = (why: string) =>
    invalid(
      `Error while reading data, error message: Error detected while parsing row starting at line ${line}: ${why}`,
    );
  while (i < text.length) {
    const values: Array<string | null> = [];
    const start = line;
    for (;;) {
      let value: string | null;
      if (text[i] === '"') {
        let v = '';
        let j = i + 1;
        for (;;) {
          if (j >= text.length) throw bad('Missing close double quote (") character');
          const ch = text[j]!;
          if (ch === '"') {
            if (text[j + 1] === '"') {
              v += '"';
              j += 2;
              continue;
            }
            break;
          }
          if ((ch === '\n' || ch === '\r') && !quotedNewlines)
            throw bad('a quoted field holds a line break and allowQuotedNewlines is false');
          if (ch === '\n') line++;
          v += ch;
          j++;
        }
        i = j + 1;
        if (i < text.length && !',\r\n'.includes(text[i]!))
          throw bad('Data between close double quote (") and field separator');
        value = v;
      } else {
        let j = i;
        while (j < text.length && !',\r\n'.includes(text[j]!)) {
          if (text[j] === '"') throw bad('a quote inside an unquoted field');
          j++;
        }
        const raw = text.slice(i, j);
        i = j;
        const trimmed = raw.replace(/^[ \t]+|[ \t]+$/g, '');
        value = trimmed === nullMarker ? null : trimmed;
      }
      if (value !== null && !controls && hasControl(value))
        throw bad('an ASCII control character and preserveAsciiControlCharacters is false');
      values.push(value);
      if (text[i] === ',') {
        i++;
        continue;
      }
      if (text[i] === '\r') i++;
      if (text[i] === '\n') i++;
      line++;
      break;
    }
    if (values.length > width) throw bad(`Too many values in row starting at line ${start}`);
    if (values.length < width) {
      if (!jagged)
        throw bad(`Missing values: ${values.length} of ${width} columns and allowJaggedRows is false`);
      while (values.length < width) values.push(null);
    }
    records.push(values);
  }
  return records;
}

/** Records as CSV that DuckDB reads back exactly: values quoted, NULL an unquoted empty field. */
export function normalisedCsv(records: Array<Array<string | null>>): string {
  return records
    .map((r) => r.map((v) => (v === null ? '' : `"${v.replace(/"/g, '""')}"`)).join(',') + '\n')
    .join('');
}

/** A byte 0x00–0x1F other than TAB, LF and CR. */
function hasControl(value: string): boolean {
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c < 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) return true;
  }
  return false;
}
