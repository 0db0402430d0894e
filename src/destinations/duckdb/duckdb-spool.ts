/**
 * The CSV spool of one DuckDB load (the CSV pass-through): encoded rows (`Load.writeCsv`) are
 * appended to a CSV file as they arrive — one file write per call, no per-row work in Node and no
 * rows held in JS memory. At commit, `check` reads every line once, then the commit's statements
 * read `source`, a subquery over the files in the staging table's shape, with DuckDB's own
 * parallel `read_csv`: the rows are never copied into a table before they reach the target. Rows
 * the load gets through `write` once the spool exists are encoded to the same lines
 * (csv-lines.ts) and appended too, so the staging order is the call order ("latest staged wins"
 * goes by it).
 *
 * Each width (the schema grows between calls) gets its own file, read with that many columns;
 * the staging table's later columns stay NULL for those rows, as a short Row means trailing NULLs.
 * Sequence numbers continue the staging table's (`row_number() OVER ()` over one file keeps the
 * file order: DuckDB documents it as order-preserving, with `preserve_insertion_order`, its
 * default, which the destination must never turn off). NULL is an unquoted empty field, '' a
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
import { quoteIdent } from './duckdb-sql.js';
import { digitsOf, mergeStats, spooledDigits, type DecimalDigits } from './duckdb-spool-stats.js';

interface Segment {
  path: string;
  width: number;
  rows: number;
  /** Upper bound of its longest line in bytes (a line is never longer than the write holding it). */
  longest: number;
  /** `max_line_size` to read it with, once the default proved too small (see `readSql`). */
  maxLine?: number;
  /**
   * Merged `CsvRows.stats` of every write to it (duckdb-spool-stats.ts): `longest` is then exact,
   * and per line column the digits measured in every write (a column some write did not list is
   * left out). Undefined once a write came without stats (Appender rows, a writer that measures
   * nothing): the commit's check then measures the values itself.
   */
  measured?: Map<number, DecimalDigits>;
}

/** The staging table's shape for the spool's rows: VARCHAR `columns` and, optionally, `seq`. */
export interface SpoolShape {
  /** Column names in file order; at least as many as the widest file (later ones NULL in narrower files). */
  columns: string[];
  /** Name of the sequence column (numbered in spool order); omitted: no sequence. */
  seq?: string;
  /** The first row's sequence number (default 1): the spool's rows follow the staging table's. */
  firstSeq?: number;
}

/** DuckDB's default `max_line_size`: a longer line fails the read unless raised. */
const DEFAULT_MAX_LINE = 2_000_000;
const LINE_TOO_LONG = /Maximum line size of \d+ bytes exceeded/;
/** Column tagging a row of `check` with its file. */
const SEGMENT = '"_exportsync_file"';

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
    /** Makes room for reading lines of `longestLine` bytes (DuckDB's memory_limit) before a retry. */
    private readonly fitLines?: (longestLine: number) => Promise<void>,
  ) {}

  /** Rows spooled so far. */
  get rows(): number {
    return this.count;
  }

  /**
   * The longest line a read will be sized for, in bytes: exact for files whose writes all measured
   * their lines, else known only once a read found a line too long (`max_line_size` raised). An
   * unmeasured file's bound (its largest write) would overstate it by the whole write.
   */
  get longestLine(): number {
    return this.segments.reduce((m, seg) => Math.max(m, seg.measured ? seg.longest : (seg.maxLine ?? 0)), 0);
  }

  /** The spool's directory (undefined before the first write and after `discard`). */
  get directory(): string | undefined {
    return this.dir;
  }

  /** Appends encoded rows (framing and width checked by the caller) in one write. */
  async appendCsv(rows: CsvRows): Promise<void> {
    const seg = await this.segmentFor(rows.width);
    const fresh = seg.rows === 0;
    await this.writeAll(rows.text);
    seg.rows += rows.rows;
    seg.longest = Math.max(seg.longest, rows.stats?.longestLine ?? rows.text.length);
    seg.measured = fresh ? digitsOf(rows.stats) : mergeStats(seg.measured, rows.stats);
    this.count += rows.rows;
  }

  /** Appends rows as lines padded with NULLs to `width`, in one write. */
  async appendRows(rows: Row[], width: number): Promise<void> {
    const seg = await this.segmentFor(width);
    seg.measured = undefined;
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
   * Reads every line once and checks each file holds as many CSV records as rows were written to
   * it (a line break where none belongs would shift every later value), raising `max_line_size`
   * for files whose lines need it. `aggregates` (SQL over the columns of `shape`, e.g. the decimal
   * sizes) are computed in the same pass; resolves with their values, as JSON values.
   * Throws a DestinationError naming the file on a count mismatch; DuckDB's error on a malformed
   * line. Must run before `source` is read: it is what makes a later read complete and exact.
   */
  async check(conn: DuckDBConnection, shape: SpoolShape, aggregates: string[]): Promise<unknown[]> {
    await this.closeFile();
    const used = this.segments.filter((seg) => seg.rows > 0);
    const counts = used.map((_, i) => `count(*) FILTER (WHERE ${SEGMENT} = ${i})`);
    const sql = () =>
      `SELECT ${[...counts, ...aggregates].join(', ')} FROM ${this.union(shape, used, true)} AS s`;
    const row = await this.retryLongLines(
      used,
      async () => (await conn.runAndReadAll(sql())).getRowsJson()[0] ?? [],
    );
    used.forEach((seg, i) => this.assertCount(this.segments.indexOf(seg), seg, Number(row[i])));
    return row.slice(used.length);
  }

  /**
   * Readies the files for `source`/`parts` WITHOUT the check pass, when every write to every file
   * measured its lines (`CsvRows.stats`: `max_line_size` is then exact up front); returns false
   * (nothing done) otherwise. The caller must then prove the read complete another way: compare the
   * rows a statement read from `parts` with `rows`, and run `check` when they differ (it names the
   * file) — a read that skipped both would drop or shift rows without an error.
   */
  async prepareUnchecked(): Promise<boolean> {
    const used = this.segments.filter((seg) => seg.rows > 0);
    if (used.some((seg) => !seg.measured)) return false;
    await this.closeFile();
    for (const seg of used)
      if (seg.maxLine === undefined && seg.longest + 1 > DEFAULT_MAX_LINE) seg.maxLine = seg.longest + 1;
    return true;
  }

  /**
   * One subquery per file, in spool order, each in the staging table's shape without sequence
   * numbers: statements run on them one after another keep the staging order across files (a
   * UNION ALL read in parallel need not).
   */
  parts(shape: SpoolShape): string[] {
    return this.segments
      .filter((seg) => seg.rows > 0)
      .map((seg) => this.union({ columns: shape.columns }, [seg], false));
  }

  /**
   * The digits of each of `columns` (spool line indexes) over every spooled row, from the
   * writers' stats, or undefined when some file's writes did not all measure one of them (the
   * caller must then measure with `check`'s aggregates). A column past a file's width is NULL there.
   */
  measuredDigits(columns: number[]): DecimalDigits[] | undefined {
    return spooledDigits(
      this.segments.filter((seg) => seg.rows > 0),
      columns,
    );
  }

  /**
   * The spooled rows as a parenthesised subquery of the staging table's shape (every value VARCHAR,
   * NULL where a file is narrower than `shape.columns`), in spool order when `shape.seq` is asked
   * for. Each statement that reads it parses the files again, so it is meant for a few reads.
   */
  source(shape: SpoolShape): string {
    return this.union(
      shape,
      this.segments.filter((seg) => seg.rows > 0),
      false,
    );
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

  /**
   * Runs `read` again with `max_line_size` raised for `segs` when DuckDB found a line too long. A
   * file whose writes all measured their lines (`measured`) knows its longest line exactly, so it
   * gets the size it needs up front and never costs a failed read.
   */
  private async retryLongLines<T>(segs: Segment[], read: () => Promise<T>): Promise<T> {
    for (const seg of segs)
      if (seg.measured && seg.maxLine === undefined && seg.longest + 1 > DEFAULT_MAX_LINE)
        seg.maxLine = seg.longest + 1;
    try {
      return await read();
    } catch (err) {
      const tooLong = err instanceof Error && LINE_TOO_LONG.test(err.message);
      const raise = segs.filter((seg) => seg.maxLine === undefined && seg.longest + 1 > DEFAULT_MAX_LINE);
      if (!tooLong || raise.length === 0) throw err;
      for (const seg of raise) seg.maxLine = seg.longest + 1;
      await this.fitLines?.(this.longestLine);
      return read();
    }
  }

  private assertCount(index: number, seg: Segment, read: number): void {
    if (read === seg.rows) return;
    throw new DestinationError(
      `${this.label}: spool file ${index + 1} holds ${read} CSV records where ${seg.rows} rows were written: the encoded rows are not one line per row`,
    );
  }

  /**
   * UNION ALL of one SELECT per file, numbered on across files; with `tagged`, each row carries
   * its file's index in `used` (column SEGMENT).
   */
  private union(shape: SpoolShape, used: Segment[], tagged: boolean): string {
    let first = shape.firstSeq ?? 1;
    const parts = used.map((seg, i) => {
      const exprs = [
        ...(tagged ? [`${i} AS ${SEGMENT}`] : []),
        ...(shape.seq ? [`${first - 1} + row_number() OVER () AS ${quoteIdent(shape.seq)}`] : []),
        ...shape.columns.map((name, k) =>
          k < seg.width ? `c${k} AS ${quoteIdent(name)}` : `CAST(NULL AS VARCHAR) AS ${quoteIdent(name)}`,
        ),
      ];
      first += seg.rows;
      return `SELECT ${exprs.join(', ')} FROM ${this.readSql(seg)}`;
    });
    return `(${parts.join(' UNION ALL ')})`;
  }

  /**
   * `read_csv` of one file with exactly the writer's dialect: no sniffing, VARCHAR columns c0…,
   * NULL = unquoted empty field only, strict (a stray quote or a line of another width fails).
   */
  private readSql(seg: Segment): string {
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
      ...(seg.maxLine === undefined ? [] : [`max_line_size = ${seg.maxLine}`]),
    ];
    return `read_csv(${sqlString(seg.path)}, ${options.join(', ')})`;
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
