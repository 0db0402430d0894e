/**
 * Streaming NDJSON and JSON-array readers → RecordBatch (fields = union of the batch's keys in
 * first-seen order; a key absent from a record is null; object/array values stay objects).
 * Numbers are parsed losslessly: a number whose text does not survive a round trip through a
 * double (ints beyond 2^53, long decimals, 1.0, 1e5) is kept as its exact source text, a string;
 * if numbers went through JSON.parse as doubles, ids and amounts would change silently. NUL
 * characters are removed from string values. A line/element that is not a JSON object, or
 * broken JSON, throws DataError naming the line (NDJSON) or element number (array).
 * `readJsonArray` streams a top-level array, or the records member of a top-level object:
 *  - with `wrapper` (the contract's member name, e.g. `events`): exactly that member, whatever other
 *    members (arrays included) come before or after it (`{"tags":[…],"events":[…]}`). A body without
 *    it, or where it is not an array or appears twice, is a DataError naming the member and the
 *    members seen. Without this, the first array of such a body (`tags`) would be read as records.
 *  - without `wrapper`: the first array-valued member (`{"events": [...]}`); a second array-valued
 *    member is a DataError (ambiguous: we cannot tell which holds the records).
 * A bare top-level array is read either way (the docs leave both shapes open).
 */
import { DataError, SourceError } from '../core/errors.js';
import type { RecordBatch } from '../core/contracts.js';
import { batchLimit } from './batch-limit.js';

export interface ReadJsonOptions {
  batchRows: number;
  stream?: string;
  /**
   * readJsonArray: the member of a top-level object holding the records (the contract's `wrapper`).
   * Absent: the first array-valued member.
   */
  wrapper?: string;
}

const TOKEN = /"(?:[^"\\]|\\.)*"|-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?/g;

/** JSON.parse that keeps numbers a double would alter as their source text. */
export function parseJsonLossless(text: string): unknown {
  let safe = text;
  if (/\d{16}|\d\.\d|\d[eE]|-0/.test(text)) {
    safe = text.replace(TOKEN, (tok) =>
      tok.charCodeAt(0) === 34 || String(Number(tok)) === tok ? tok : `"${tok}"`,
    );
  }
  if (!text.includes('\\u0000')) return JSON.parse(safe);
  return JSON.parse(safe, (_key, value: unknown) =>
    typeof value === 'string' ? value.replace(/\0/g, '') : value,
  );
}

/** Collects objects into RecordBatches of ≤ batchRows. */
class Batcher {
  private objects: Record<string, unknown>[] = [];
  private positions: number[] = [];
  /** batchRows, fewer for wide objects (from the first object of each batch; see batch-limit.ts). */
  private limit = 1;
  constructor(
    private readonly batchRows: number,
    private readonly where: string,
    private readonly stream: string | undefined,
  ) {}

  add(value: unknown, position: number, label: string): RecordBatch | undefined {
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      throw new DataError(`${this.where}${label} ${position} is not a JSON object`, {
        stream: this.stream,
        line: position,
      });
    }
    if (this.objects.length === 0) this.limit = batchLimit(this.batchRows, Object.keys(value).length);
    this.objects.push(value as Record<string, unknown>);
    this.positions.push(position);
    return this.objects.length >= this.limit ? this.flush() : undefined;
  }

  flush(): RecordBatch | undefined {
    if (this.objects.length === 0) return undefined;
    const index = new Map<string, number>();
    for (const o of this.objects) for (const k of Object.keys(o)) if (!index.has(k)) index.set(k, index.size);
    const records = this.objects.map((o) => {
      const r: unknown[] = new Array<unknown>(index.size).fill(null);
      for (const [k, v] of Object.entries(o)) r[index.get(k)!] = v;
      return r;
    });
    const batch: RecordBatch = { fields: [...index.keys()], records, positions: this.positions };
    this.objects = [];
    this.positions = [];
    return batch;
  }
}

function parseOrFail(text: string, where: string, label: string, position: number, stream?: string): unknown {
  try {
    return parseJsonLossless(text);
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw new DataError(`${where}invalid JSON at ${label} ${position}: ${reason}`, {
      stream,
      line: position,
    });
  }
}

export async function* readNdjson(
  body: AsyncIterable<Uint8Array>,
  options: ReadJsonOptions,
): AsyncGenerator<RecordBatch> {
  const where = options.stream === undefined ? '' : `stream ${options.stream}: `;
  const batcher = new Batcher(Math.max(1, options.batchRows), where, options.stream);
  let carry: Buffer[] = [];
  let line = 0;
  const handle = (bytes: Buffer): RecordBatch | undefined => {
    line++;
    const text = bytes.toString('utf8').trim();
    if (text === '') return undefined;
    return batcher.add(parseOrFail(text, where, 'line', line, options.stream), line, 'line');
  };
  for await (const chunk of body) {
    const buf = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    let start = 0;
    for (let nl = buf.indexOf(10); nl !== -1; nl = buf.indexOf(10, start)) {
      const piece = buf.subarray(start, nl);
      const out = handle(carry.length > 0 ? Buffer.concat([...carry, piece]) : piece);
      carry = [];
      start = nl + 1;
      if (out !== undefined) yield out;
    }
    if (start < buf.length) carry.push(Buffer.from(buf.subarray(start)));
  }
  if (carry.length > 0) {
    const out = handle(Buffer.concat(carry));
    if (out !== undefined) yield out;
  }
  const rest = batcher.flush();
  if (rest !== undefined) yield rest;
}

const WS = new Set([0x20, 0x09, 0x0a, 0x0d]);

/** Names of members a "no such member" error lists (more would flood the message). */
const MAX_MEMBERS_SHOWN = 20;

export async function* readJsonArray(
  body: AsyncIterable<Uint8Array>,
  options: ReadJsonOptions,
): AsyncGenerator<RecordBatch> {
  const where = options.stream === undefined ? '' : `stream ${options.stream}: `;
  const fail = (msg: string): never => {
    throw new DataError(`${where}${msg}`, { stream: options.stream });
  };
  const wrapper = options.wrapper;
  const batcher = new Batcher(Math.max(1, options.batchRows), where, options.stream);
  let top: number | undefined; // 0x5b '[' or 0x7b '{'
  let depth = 0;
  let arrayDepth = -1; // depth inside the streamed array; -1 before it, -2 after it
  let inString = false;
  let escaped = false;
  let parts: Buffer[] = [];
  let elemStart = -1; // offset in the current chunk where the element began, or -1
  let inElement = false;
  let afterElement = false; // an element ended; only ',' or ']' may follow
  let count = 0;
  // Member names of the top-level object, tracked only when a wrapper is named.
  let expectKey = false; // the next string at depth 1 is a member name
  let inKey = false;
  let keyStart = -1;
  let keyParts: Buffer[] = [];
  let member: string | undefined; // the member whose value comes next (or is being read)
  let valueNext = false; // a ':' at depth 1 was seen: the next token starts member's value
  const members: string[] = [];

  const finish = (buf: Buffer, end: number): RecordBatch | undefined => {
    parts.push(buf.subarray(elemStart, end));
    const text = Buffer.concat(parts).toString('utf8');
    parts = [];
    inElement = false;
    count++;
    return batcher.add(parseOrFail(text, where, 'element', count, options.stream), count, 'element');
  };

  const endKey = (buf: Buffer, end: number): void => {
    keyParts.push(buf.subarray(keyStart, end));
    const text = Buffer.concat(keyParts).toString('utf8');
    keyParts = [];
    inKey = false;
    try {
      member = JSON.parse(text) as string;
    } catch {
      fail(`invalid JSON: a member name of the top-level object is not a valid string`);
    }
    if (members.length < MAX_MEMBERS_SHOWN) members.push(member as string);
  };

  for await (const chunk of body) {
    const buf = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    elemStart = inElement ? 0 : -1;
    keyStart = inKey ? 0 : -1;
    for (let i = 0; i < buf.length; i++) {
      const c = buf[i]!;
      if (inString) {
        if (escaped) escaped = false;
        else if (c === 0x5c) escaped = true;
        else if (c === 0x22) {
          inString = false;
          if (inKey) endKey(buf, i + 1);
        }
        continue;
      }
      if (WS.has(c)) continue;
      if (top === undefined) {
        if (c !== 0x5b && c !== 0x7b) fail('expected a JSON array or an object holding one');
        top = c;
      }
      if (valueNext) {
        valueNext = false;
        if (wrapper !== undefined && member === wrapper && c !== 0x5b) {
          fail(`member '${wrapper}' of the top-level object is not an array of records`);
        }
      }
      if (depth === arrayDepth && !inElement && c !== 0x2c && c !== 0x5d) {
        if (afterElement) fail(`invalid JSON: missing comma before element ${count + 1}`);
        inElement = true;
        elemStart = i;
      }
      let out: RecordBatch | undefined;
      if (c === 0x22) {
        inString = true;
        if (expectKey && depth === 1) {
          expectKey = false;
          inKey = true;
          keyStart = i;
        }
      } else if (c === 0x5b || c === 0x7b) {
        depth++;
        if (wrapper !== undefined && top === 0x7b && depth === 1) expectKey = true;
        const isTarget =
          c === 0x5b &&
          ((top === 0x5b && depth === 1) ||
            (top === 0x7b && depth === 2 && (wrapper === undefined || member === wrapper)));
        if (isTarget && arrayDepth === -2) {
          fail(
            wrapper === undefined
              ? 'the top-level object holds more than one array; cannot tell which holds the records'
              : `the top-level object holds member '${wrapper}' twice; cannot tell which holds the records`,
          );
        }
        if (isTarget && arrayDepth === -1) arrayDepth = depth;
      } else if (c === 0x5d || c === 0x7d) {
        if (depth === arrayDepth) {
          if (inElement) out = finish(buf, i);
          else if (count > 0 && !afterElement) fail(`invalid JSON: trailing comma after element ${count}`);
          arrayDepth = -2;
        }
        depth--;
        if (inElement && depth === arrayDepth) {
          out = finish(buf, i + 1);
          afterElement = true;
        }
      } else if (c === 0x2c && depth === arrayDepth) {
        if (inElement) out = finish(buf, i);
        else if (!afterElement) fail(`invalid JSON: unexpected comma after element ${count}`);
        afterElement = false;
      } else if (wrapper !== undefined && top === 0x7b && depth === 1) {
        if (c === 0x2c) expectKey = true;
        else if (c === 0x3a) valueNext = true;
      }
      if (out !== undefined) yield out;
    }
    if (inElement) parts.push(Buffer.from(buf.subarray(elemStart)));
    if (inKey) keyParts.push(Buffer.from(buf.subarray(keyStart)));
  }
  if (top === undefined) {
    // A JSON export with nothing to say still says `[]`: an empty body is a glitch (a proxy, a
    // cut connection), and reading it as "no records" would move the mark past the window.
    throw new SourceError(
      `${where}the response body is empty: expected a JSON array, even an empty one ([])`,
      {
        retryable: true,
      },
    );
  }
  if (depth !== 0 || inString) fail(`the JSON body ends early (after ${count} complete elements)`);
  if (arrayDepth === -1) {
    if (wrapper !== undefined && top === 0x7b) {
      const seen = members.length === 0 ? 'none' : members.map((m) => `'${m}'`).join(', ');
      fail(`the top-level object has no member '${wrapper}' holding the records (members: ${seen})`);
    }
    fail('expected a JSON array or an object holding one; found no array');
  }
  const rest = batcher.flush();
  if (rest !== undefined) yield rest;
}
