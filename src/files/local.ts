/**
 * A local directory as an object store (`file:///dir`): every regular file below it, keys are
 * paths relative to it with `/`. Useful for report files saved by hand or synced by another tool.
 *
 * ETag = sha1 of size and mtime (nanoseconds), not of the content: a listing must stay cheap for
 * a folder holding years of reports (a content hash would read every file on every run). A file
 * rewritten with new content always gets a new mtime, so it is never missed; a file touched or
 * copied again without a change is loaded again, which replace_window makes harmless.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { ParsedLocation } from './config.js';
import { classifyStoreError } from './errors.js';
import { guardStream } from './stream.js';
import type { ObjectStore, StoredObject } from './types.js';

export function createLocalStore(loc: ParsedLocation): ObjectStore {
  const dir = loc.bucket;
  const location = `file://${dir}`;
  const uri = (key: string) => `file://${join(dir, key)}`;
  const ctx = (action: string, where: string) => ({ kind: 'file' as const, where, bucket: dir, action });

  return {
    kind: 'file',
    location,
    uri,
    async list(): Promise<StoredObject[]> {
      const out: StoredObject[] = [];
      try {
        const entries = await readdir(dir, { recursive: true, withFileTypes: true });
        for (const entry of entries) {
          if (!entry.isFile()) continue;
          const full = join(entry.parentPath, entry.name);
          const key = full.slice(dir.length).replace(/^\/+/, '');
          const st = await stat(full, { bigint: true });
          out.push({
            key,
            etag: createHash('sha1').update(`${st.size}:${st.mtimeNs}`).digest('hex'),
            size: Number(st.size),
            lastModified: new Date(Number(st.mtimeMs)),
          });
        }
      } catch (err) {
        throw classifyStoreError(err, ctx('listing', location));
      }
      return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    },
    async open(key: string) {
      const path = join(dir, key);
      try {
        await stat(path);
      } catch (err) {
        throw classifyStoreError(err, ctx('reading', uri(key)));
      }
      return guardStream(createReadStream(path), (err) => classifyStoreError(err, ctx('reading', uri(key))));
    },
    async readRange(key: string, start: number, end: number): Promise<Buffer> {
      try {
        const handle = await open(join(dir, key), 'r');
        try {
          const length = Math.max(0, end - start + 1);
          const buf = Buffer.alloc(length);
          const { bytesRead } = await handle.read(buf, 0, length, start);
          return buf.subarray(0, bytesRead);
        } finally {
          await handle.close();
        }
      } catch (err) {
        throw classifyStoreError(err, ctx('reading', uri(key)));
      }
    },
  };
}
