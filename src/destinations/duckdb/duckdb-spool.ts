/**
 * The CSV spool of one DuckDB load (the CSV pass-through): encoded rows (`Load.writeCsv`) are
 * appended to a CSV file as they arrive — one file write per call, no per-row work in Node and no
 * rows held in JS memory — and `loadInto` reads them into the load's VARCHAR staging table with
 * DuckDB's own parallel `read_csv` when the window commits. Rows the load gets through `write`
 * once the spool exists are encoded to the same lines (csv-lines.ts) and appended too, so the
 * staging order is the call order ("latest staged wins" goes by it).
 *
 * Each width (the schema grows between calls) gets its own file, read with that many columns;
 * the staging table's later columns stay NULL for those rows, as a short Row means trailing NULLs.
 * Sequence numbers continue the staging table's (`row_number() OVER ()` over one file keeps the
 * file order: DuckDB documents it as order-preserving). NULL is an unquoted empty field, '' a
 * quoted empty one (`allow_quoted_nulls = false`), nothing else is NULL (`nullstr = ''`, no
 * trimming), and a malformed line (field count, stray quote) fails the load (`strict_mode`).
 *
 * Files live under `<database file>.spool/`, on the database's volume. DuckDB lets one process
 * open the database file, so when this process first spools after opening it, every directory
 * there not made by this process is left over from a killed run and is removed; without that
 * sweep each crash would leave a window's rows on disk for good.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, open, readdir, rm, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import type { CsvRows, Row } from '../../core/contracts.js';
import { DestinationError } from '../../core/errors.js';
import { csvLine } from '../csv-lines.js';
import type { SharedDatabase } from './duckdb-database.js';
import { columnList, quoteIdent } from './duckdb-sql.js';

interface Segment {
  path: string;
  width: number;
  rows: number;
  /** Upper bound of its longest line in bytes (a line is never longer than the write holding it). */
  longest: number;
}

/** DuckDB's default `max_line_size`: a longer line fails the read unless raised. */
const DEFAULT_MAX_LINE = 2_000_000;
const LINE_TOO_LONG = /Maximum line size of \d+ bytes exceeded/;

/** Spool directories this process made (never swept), and the opened databases already swept. */
const ours = new Set<string>();
const swept = new WeakSet<SharedDatabase>();

export function spoolRoot(databasePath: string): string {
  return `${databasePath}.spool`;
}

export class DuckDbSpool {
  private dir: string | undefined;
  private readonly segments: Segment[] = [];
  private file: FileHandle | undefined;
  private count = 0;

  constructor(
    private readonly db: SharedDatabase,
    /** Names the load in errors (its stream key). */
    private readonly label: string,
  ) {}

  /** Rows spooled so far. */
  get rows(): number {
    return this.count;
  }

  /** The spool's directory (undefined before the first write and after `discard`). */
  get directory(): string | undefined {
    return this.dir;
  }

  /** Appends encoded rows (framing and width checked by the caller) in one write. */
  async appendCsv(rows: CsvRows): Promise<void> {
    const seg = await this.segmentFor(rows.width);
    await this.writeAll(rows.text);
    seg.rows += rows.rows;
    seg.longest = Math.max(seg.longest, rows.text.length);
    this.count += rows.rows;
  }

  /** Appends rows as lines padded with NULLs to `width`, in one write. */
  async appendRows(rows: Row[], width: number): Promise<void> {
    const seg = await this.segmentFor(width);
    const lines = new Array<string>(rows.length);
    let longest = 0;
    for (let i = 0; i < rows.length; i++) {
      const line = csvLine(rows[i]!, width);
      if (line.length > longest) longest = line.length;
      lines[i] = line;
    }
    await this.writeAll(Buffer.from(lines.join(''), 'utf8'));
    seg.rows += rows.length;
    seg.longest = Math.max(seg.longest, 3 * longest); // UTF-16 unit → at most 3 UTF-8 bytes
    this.count += rows.length;
  }

  /**
   * Inserts every spooled row into `stage` (VARCHAR columns `columns`, at least as many as the
   * widest segment, and `seq`), numbered from `firstSeq` on in spool order. Throws when DuckDB
   * reads another number of rows than were spooled (a line break where none belongs).
   */
  async loadInto(
    conn: DuckDBConnection,
    stage: { ref: string; seq: string; columns: string[] },
    firstSeq: number,
  ): Promise<void> {
    await this.closeFile();
    let seq = firstSeq;
    for (const [i, seg] of this.segments.entries()) {
      if (seg.rows === 0) continue;
      let read: number;
      try {
        read = await this.insertSegment(conn, stage, seg, seq, undefined);
      } catch (err) {
        const tooLong = err instanceof Error && LINE_TOO_LONG.test(err.message);
        if (!tooLong || seg.longest + 1 <= DEFAULT_MAX_LINE) throw err;
        read = await this.insertSegment(conn, stage, seg, seq, seg.longest + 1);
      }
      if (read !== seg.rows) {
        throw new DestinationError(
          `${this.label}: spool file ${i + 1} holds ${read} CSV records where ${seg.rows} rows were written: the encoded rows are not one line per row`,
        );
      }
      seq += seg.rows;
    }
  }

  /** Closes and removes the spool's files. Safe to call more than once. */
  async discard(): Promise<void> {
    await this.closeFile().catch(() => undefined);
    const dir = this.dir;
    this.dir = undefined;
    if (!dir) return;
    await rm(dir, { recursive: true, force: true });
    ours.delete(dir);
  }

  private async insertSegment(
    conn: DuckDBConnection,
    stage: { ref: string; seq: string; columns: string[] },
    seg: Segment,
    firstSeq: number,
    maxLine: number | undefined,
  ): Promise<number> {
    const names = Array.from({ length: seg.width }, (_, i) => `c${i}`);
    const types = names.map((n) => `'${n}': 'VARCHAR'`).join(', ');
    const options = [
      `columns = {${types}}`,
      `header = false`,
      `auto_detect = false`,
      `delim = ','`,
      `quote = '"'`,
      `escape = '"'`,
      `new_line = '\\n'`,
      `nullstr = ''`,
      `allow_quoted_nulls = false`,
      `strict_mode = true`,
      ...(maxLine === undefined ? [] : [`max_line_size = ${maxLine}`]),
    ];
    const sql =
      `INSERT INTO ${stage.ref} (${columnList([stage.seq, ...stage.columns.slice(0, seg.width)])}) ` +
      `SELECT ${firstSeq - 1} + row_number() OVER (), ${names.map(quoteIdent).join(', ')} ` +
      `FROM read_csv(${sqlString(seg.path)}, ${options.join(', ')})`;
    return (await conn.run(sql)).rowsChanged;
  }

  /** The file lines of `width` go to: the current one, or a new one when the width changed. */
  private async segmentFor(width: number): Promise<Segment> {
    const last = this.segments[this.segments.length - 1];
    if (last && last.width === width && this.file) return last;
    await this.closeFile();
    this.dir ??= await this.makeDirectory();
    const seg: Segment = { path: join(this.dir, `${this.segments.length}.csv`), width, rows: 0, longest: 0 };
    this.file = await open(seg.path, 'wx');
    this.segments.push(seg);
    return seg;
  }

  private async makeDirectory(): Promise<string> {
    const root = spoolRoot(this.db.path);
    await mkdir(root, { recursive: true });
    if (!swept.has(this.db)) {
      swept.add(this.db);
      for (const name of await readdir(root)) {
        const stale = join(root, name);
        if (!ours.has(stale)) await rm(stale, { recursive: true, force: true });
      }
    }
    const dir = join(root, `load-${process.pid}-${randomBytes(6).toString('hex')}`);
    ours.add(dir);
    await mkdir(dir);
    return dir;
  }

  private async writeAll(data: Uint8Array): Promise<void> {
    const file = this.file!;
    for (let off = 0; off < data.length;) {
      const { bytesWritten } = await file.write(data, off, data.length - off);
      off += bytesWritten;
    }
  }

  private async closeFile(): Promise<void> {
    const f = this.file;
    this.file = undefined;
    if (f) await f.close();
  }
}

function sqlString(s: string): string {
  return `'${s.replace(/'/g, "''")}'`;
}
