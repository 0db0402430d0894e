import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { pino, type Logger } from 'pino';

export interface TestServer {
  /** http://127.0.0.1:<port> */
  url: string;
  /** Requests received so far (1-based number of the current one is requests.length). */
  requests: IncomingMessage[];
  close(): Promise<void>;
}

/** A real HTTP server on a random loopback port; `handler` gets the 1-based request number. */
export async function startServer(
  handler: (req: IncomingMessage, res: ServerResponse, n: number) => unknown,
): Promise<TestServer> {
  const requests: IncomingMessage[] = [];
  const server = createServer((req, res) => {
    requests.push(req);
    void Promise.resolve(handler(req, res, requests.length)).catch((err: unknown) => {
      res.destroy(err instanceof Error ? err : new Error(String(err)));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A pino logger whose lines are collected (parsed JSON) for assertions. */
export function captureLogger(): { log: Logger; lines: Array<Record<string, unknown>>; text: () => string } {
  const raw: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      raw.push(chunk.toString());
      cb();
    },
  });
  const log = pino({ level: 'debug' }, sink);
  return {
    log,
    get lines() {
      return raw
        .join('')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Record<string, unknown>);
    },
    text: () => raw.join(''),
  };
}

/** An async iterable of `text` (or bytes) cut into pieces of `size` bytes. */
export async function* chunked(input: string | Uint8Array, size = 1 << 16): AsyncGenerator<Uint8Array> {
  const buf = typeof input === 'string' ? Buffer.from(input) : Buffer.from(input);
  for (let i = 0; i < buf.length; i += size) yield buf.subarray(i, i + size);
}

export async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of iterable) out.push(item);
  return out;
}
