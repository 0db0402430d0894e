/**
 * Rows → COPY FROM STDIN (CSV). CSV is used rather than text format because its NULL (an
 * unquoted empty field) and the empty string (a quoted one) cannot be confused, and backslashes
 * are plain characters. Getting the quoting wrong turns '' into NULL, splits a value with a
 * newline into two rows, or ends the data early at a `\.` line.
 */
import type pg from 'pg';
import pgCopy from 'pg-copy-streams';
import type { Row } from '../../core/contracts.js';
import { csvField, csvLine } from '../csv-lines.js';

export { csvField, csvLine };

/** CSV text in chunks of `rowsPerChunk` rows, built lazily so memory stays bounded by one chunk. */
export function* csvChunks(rows: Row[], width: number, rowsPerChunk = 1000): Generator<string> {
  for (let start = 0; start < rows.length; start += rowsPerChunk) {
    const end = Math.min(rows.length, start + rowsPerChunk);
    const lines = new Array<string>(end - start);
    for (let i = start; i < end; i++) lines[i - start] = csvLine(rows[i]!, width);
    yield lines.join('');
  }
}

/**
 * Bytes per COPY message when `writeBytes` forwards an encoded buffer. The slices are views of the
 * caller's buffer (nothing is copied) and may cut a line or a UTF-8 character anywhere: COPY data
 * is one byte stream to the server. Smaller slices only make backpressure finer.
 */
export const COPY_SLICE_BYTES = 256 * 1024;

/**
 * One COPY FROM STDIN kept open across many `write`s, so Node encodes and parses the next batch
 * while Postgres ingests the previous one. `write` resolves once the chunk is handed to the socket
 * (waiting only on backpressure), not when the server has stored it; `end` finishes the COPY and
 * resolves with the server's row count. A server error (bad value, lost connection) is kept and
 * thrown by the next `write` or by `end`, so it still fails the load: if it were dropped, rows
 * would silently be missing from the window. After an error nothing more may be sent on the
 * stream (pg-copy-streams has let go of the connection), so the writer refuses to.
 */
export class CopyWriter {
  private readonly stream: ReturnType<typeof pgCopy.from>;
  private failure: Error | undefined;
  private readonly failed: Promise<never>;
  private ended = false;

  constructor(
    client: pg.PoolClient,
    copySql: string,
    readonly width: number,
  ) {
    this.stream = client.query(pgCopy.from(copySql));
    this.failed = new Promise<never>((_, reject) => {
      this.stream.on('error', (err: Error) => {
        this.failure ??= err;
        reject(err);
      });
    });
    this.failed.catch(() => undefined); // observed through `failure`, never unhandled
  }

  get error(): Error | undefined {
    return this.failure;
  }

  /** Sends `rows` padded to `width`; waits only while the socket is full. */
  async write(rows: Row[]): Promise<void> {
    for (const chunk of csvChunks(rows, this.width)) await this.send(chunk);
    if (this.failure) throw this.failure;
  }

  /**
   * Sends CSV lines already encoded for this COPY's column list, as they are: the caller vouches
   * for them (`CsvRows`). The buffer is the COPY's from then on and must never change: the socket
   * sends from it, possibly after the promise has resolved.
   */
  async writeBytes(text: Uint8Array): Promise<void> {
    for (let at = 0; at < text.length; at += COPY_SLICE_BYTES) {
      await this.send(text.subarray(at, Math.min(text.length, at + COPY_SLICE_BYTES)));
    }
    if (this.failure) throw this.failure;
  }

  private async send(chunk: string | Uint8Array): Promise<void> {
    if (this.failure) throw this.failure;
    if (!this.stream.write(chunk)) {
      await Promise.race([new Promise<void>((r) => this.stream.once('drain', r)), this.failed]);
    }
  }

  /** Ends the COPY and waits for the server to confirm it; resolves with its row count. */
  async end(): Promise<number> {
    if (this.failure) throw this.failure;
    if (!this.ended) {
      this.ended = true;
      const finished = new Promise<void>((r) => this.stream.once('finish', r));
      this.stream.end();
      await Promise.race([finished, this.failed]);
    }
    return this.stream.rowCount;
  }
}
