/**
 * The object-store abstraction file streams read through: a flat listing under one prefix and a
 * streamed body per object. Three backends (s3.ts, gcs.ts, local.ts) implement it; every error
 * they throw is already classified (errors.ts), so callers never see an SDK error.
 *
 * What breaks if a backend gets it wrong: an `etag` that does not change when an object's content
 * changes makes exportsync skip the new content forever; an `etag` that changes without a content
 * change only reloads the object's window (harmless, replace_window is idempotent).
 */

/** One object as listed. */
export interface StoredObject {
  /** Full key in the bucket (local: path relative to the directory, `/`-separated). */
  key: string;
  /** Content version: S3 ETag (quotes stripped), GCS generation, local size+mtime hash. */
  etag: string;
  size: number;
  lastModified: Date;
  /** `Content-Encoding` stored with the object, when the listing knows it (GCS). */
  contentEncoding?: string;
}

export interface ObjectStore {
  readonly kind: 's3' | 'gcs' | 'file';
  /** The configured location for messages: `s3://bucket/prefix`, `gs://…`, `file:///dir`. Never secret. */
  readonly location: string;
  /** Every object under the configured prefix (all pages), folder markers left out. */
  list(): Promise<StoredObject[]>;
  /**
   * The object's stored bytes, streamed (never buffered whole). Decompression is not done here:
   * openObject (open.ts) gunzips what is gzip.
   */
  open(key: string): Promise<AsyncIterable<Uint8Array>>;
  /** Bytes [start, end] (inclusive, clamped to the object), for the half-written check. */
  readRange(key: string, start: number, end: number): Promise<Buffer>;
  /** Display URI of one object. */
  uri(key: string): string;
}
