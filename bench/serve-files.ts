/**
 * Serves pre-rendered per-day CSV files on 127.0.0.1 with the Scarf simulator's path, auth and
 * headers (`GET /v2/packages/{owner}/events?start_date=D&end_date=D`, Bearer token, text/csv), so
 * the sync reads the same bytes it would from the simulator at disk/socket speed. Only one-day
 * requests (window_days 1, the connector's default) are served; a day with no file is a 404, so a
 * plan that drifted off the rendered days fails loudly instead of loading fewer rows.
 */
import { once } from 'node:events';
import { createReadStream } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FileServer {
  url: string;
  requests: number;
  close(): Promise<void>;
}

export async function serveDayFiles(
  files: Map<string, string>,
  owner: string,
  token: string,
): Promise<FileServer> {
  const state = { requests: 0 };
  const server = createServer((req, res) => {
    state.requests++;
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const json = (status: number, message: string, code: string): void => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ message, code }));
    };
    if (url.pathname !== `/v2/packages/${owner}/events`) return json(404, 'no route', 'not-found');
    if (req.headers.authorization !== `Bearer ${token}`) return json(401, 'bad token', 'unauthorized');
    const start = url.searchParams.get('start_date') ?? '';
    const file = files.get(start);
    if (start !== url.searchParams.get('end_date') || !file) {
      return json(404, `no rendered file for ${start}..${url.searchParams.get('end_date')}`, 'not-found');
    }
    res.writeHead(200, {
      'content-type': 'text/csv; charset=utf-8',
      'content-disposition': `attachment; filename="${owner}-events-${start}-${start}.csv"`,
    });
    createReadStream(file, { highWaterMark: 256 * 1024 })
      .on('error', () => res.destroy())
      .pipe(res);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    get requests() {
      return state.requests;
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      }),
  };
}
