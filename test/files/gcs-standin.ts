/**
 * A small stand-in for the GCS JSON API, enough for @google-cloud/storage pointed at it with
 * `apiEndpoint`: object listing (`GET /storage/v1/b/{bucket}/o?prefix&pageToken`, pages of
 * `pageSize`) and media download (`GET /storage/v1/b/{bucket}/o/{name}?alt=media`, Range honoured,
 * `Content-Encoding: gzip` sent for objects stored with it). Buckets in `denied` answer 403 as GCS
 * does; unknown buckets 404. Every request is recorded.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

interface Stored {
  data: Buffer;
  generation: number;
  contentEncoding?: string;
  updated: Date;
}

export interface GcsStandIn {
  endpoint: string;
  requests: string[];
  denied: Set<string>;
  put(bucket: string, name: string, data: string | Buffer, contentEncoding?: string): void;
  createBucket(bucket: string): void;
  close(): Promise<void>;
}

export async function startGcsStandIn(pageSize = 2): Promise<GcsStandIn> {
  const buckets = new Map<string, Map<string, Stored>>();
  const requests: string[] = [];
  const denied = new Set<string>();
  let generation = 1_700_000_000_000_000;
  const error = (res: import('node:http').ServerResponse, code: number, message: string) => {
    res.writeHead(code, { 'content-type': 'application/json' });
    res.end(
      JSON.stringify({
        error: { code, message, errors: [{ message, reason: code === 403 ? 'forbidden' : 'notFound' }] },
      }),
    );
  };
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    requests.push(`${req.method} ${url.pathname}${url.search}`);
    const m = /^\/storage\/v1\/b\/([^/]+)\/o(?:\/(.+))?$/.exec(url.pathname);
    if (!m || req.method !== 'GET')
      return error(res, 400, `stand-in does not serve ${req.method} ${url.pathname}`);
    const bucketName = decodeURIComponent(m[1]!);
    if (denied.has(bucketName)) {
      return error(
        res,
        403,
        `caller does not have storage.objects.list access to the Google Cloud Storage bucket ${bucketName}.`,
      );
    }
    const bucket = buckets.get(bucketName);
    if (!bucket) return error(res, 404, 'The specified bucket does not exist.');
    if (m[2] === undefined) {
      const prefix = url.searchParams.get('prefix') ?? '';
      const names = [...bucket.keys()].filter((n) => n.startsWith(prefix)).sort();
      const start = Number(url.searchParams.get('pageToken') ?? 0);
      const page = names.slice(start, start + pageSize);
      const body = {
        kind: 'storage#objects',
        items: page.map((name) => {
          const o = bucket.get(name)!;
          return {
            kind: 'storage#object',
            name,
            bucket: bucketName,
            generation: String(o.generation),
            etag: `E${o.generation}`,
            size: String(o.data.length),
            updated: o.updated.toISOString(),
            ...(o.contentEncoding ? { contentEncoding: o.contentEncoding } : {}),
          };
        }),
        ...(start + pageSize < names.length ? { nextPageToken: String(start + pageSize) } : {}),
      };
      res.writeHead(200, { 'content-type': 'application/json' });
      return res.end(JSON.stringify(body));
    }
    const o = bucket.get(decodeURIComponent(m[2]));
    if (!o || url.searchParams.get('alt') !== 'media') return error(res, 404, 'No such object');
    let data = o.data;
    const range = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '');
    const headers: Record<string, string> = { 'content-type': 'application/octet-stream' };
    if (o.contentEncoding) headers['content-encoding'] = o.contentEncoding;
    if (range) {
      const from = Number(range[1]);
      const to = range[2] ? Math.min(Number(range[2]), data.length - 1) : data.length - 1;
      headers['content-range'] = `bytes ${from}-${to}/${data.length}`;
      data = data.subarray(from, to + 1);
      res.writeHead(206, headers);
    } else {
      res.writeHead(200, headers);
    }
    res.end(data);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    requests,
    denied,
    createBucket(name) {
      if (!buckets.has(name)) buckets.set(name, new Map());
    },
    put(bucket, name, data, contentEncoding) {
      const b = buckets.get(bucket) ?? new Map<string, Stored>();
      buckets.set(bucket, b);
      b.set(name, {
        data: Buffer.isBuffer(data) ? data : Buffer.from(data),
        generation: ++generation,
        ...(contentEncoding ? { contentEncoding } : {}),
        updated: new Date(),
      });
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
