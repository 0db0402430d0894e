import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/core/log.js';
import { SourceError } from '../../src/core/errors.js';
import { createHttpClient, type HttpClientOptions } from '../../src/http/client.js';
import { captureLogger, collect, startServer, type TestServer } from './helpers.js';

let server: TestServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

/** A client with fast, recorded sleeps. */
function client(overrides: Partial<HttpClientOptions> = {}) {
  const sleeps: number[] = [];
  const http = createHttpClient({
    log: silentLogger,
    retryAttempts: 4,
    retryMinDelayMs: 100,
    retryMaxDelayMs: 10_000,
    requestTimeoutMs: 2_000,
    maxRequests: 100,
    sleep: async (ms) => {
      sleeps.push(ms);
    },
    ...overrides,
  });
  return { http, sleeps };
}

async function text(body: AsyncIterable<Uint8Array>): Promise<string> {
  return Buffer.concat(await collect(body)).toString('utf8');
}

async function rejection(p: Promise<unknown>): Promise<SourceError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(SourceError);
  return err as SourceError;
}

describe('createHttpClient: retries', () => {
  it('waits the Retry-After seconds of a 429, then returns the 200 body', async () => {
    server = await startServer((_req, res, n) => {
      if (n === 1) res.writeHead(429, { 'retry-after': '7' }).end('slow down');
      else res.writeHead(200, { 'content-type': 'text/csv' }).end('a,b\n1,2\n');
    });
    const { http, sleeps } = client();
    const res = await http.get(`${server.url}/v2/events?start_date=2025-01-01`);
    expect(res.status).toBe(200);
    expect(await text(res.body)).toBe('a,b\n1,2\n');
    expect(sleeps).toEqual([7000]);
    expect(http.requestCount).toBe(2);
  });

  it('honours a Retry-After HTTP-date and caps any Retry-After at retryMaxDelayMs', async () => {
    const in10s = new Date(Date.now() + 10_000).toUTCString();
    server = await startServer((_req, res, n) => {
      if (n === 1) res.writeHead(429, { 'retry-after': in10s }).end();
      else if (n === 2) res.writeHead(429, { 'retry-after': '3600' }).end();
      else res.end('ok');
    });
    const { http, sleeps } = client({ retryMaxDelayMs: 20_000 });
    await text((await http.get(`${server.url}/x`)).body);
    expect(sleeps).toHaveLength(2);
    expect(sleeps[0]).toBeGreaterThan(8_000);
    expect(sleeps[0]).toBeLessThanOrEqual(10_000);
    expect(sleeps[1]).toBe(20_000);
  });

  it('backs off exponentially with jitter on a 429 without Retry-After', async () => {
    server = await startServer((_req, res, n) => {
      if (n <= 3) res.writeHead(429).end();
      else res.end('ok');
    });
    const { http, sleeps } = client({ retryMinDelayMs: 100 });
    expect(await text((await http.get(`${server.url}/x`)).body)).toBe('ok');
    expect(sleeps).toHaveLength(3);
    [100, 200, 400].forEach((base, i) => {
      expect(sleeps[i]).toBeGreaterThanOrEqual(base / 2);
      expect(sleeps[i]).toBeLessThanOrEqual(base);
    });
  });

  it('retries a 500 and returns the following 200', async () => {
    server = await startServer((_req, res, n) => {
      if (n === 1) res.writeHead(500).end('boom');
      else res.end('fine');
    });
    const { http } = client();
    expect(await text((await http.get(`${server.url}/x`)).body)).toBe('fine');
    expect(http.requestCount).toBe(2);
  });

  it('retries a connection reset before the status and returns the following 200', async () => {
    server = await startServer((req, res, n) => {
      if (n === 1) req.socket.destroy();
      else res.end('after reset');
    });
    const { http, sleeps } = client();
    expect(await text((await http.get(`${server.url}/x`)).body)).toBe('after reset');
    expect(sleeps).toHaveLength(1);
  });

  it('times out a request whose headers never arrive and retries it', async () => {
    server = await startServer((_req, res, n) => {
      if (n === 1) return; // never answer
      res.end('late but fine');
    });
    const { http } = client({ requestTimeoutMs: 150 });
    const started = Date.now();
    expect(await text((await http.get(`${server.url}/x`)).body)).toBe('late but fine');
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
    expect(http.requestCount).toBe(2);
  });

  it('gives up after the attempt budget with a non-retryable error naming the last reason', async () => {
    server = await startServer((_req, res) => {
      res.writeHead(503).end();
    });
    const { http, sleeps } = client({ retryAttempts: 3 });
    const err = await rejection(http.get(`${server.url}/v2/x?token=abc`));
    expect(err.retryable).toBe(false);
    expect(err.details.status).toBe(503);
    expect(err.message).toBe(
      `gave up after 3 attempts: HTTP 503 Service Unavailable from GET ${server.url}/v2/x`,
    );
    expect(sleeps).toHaveLength(2);
    expect(server.requests).toHaveLength(3);
  });

  it('gives up on a refused connection after the attempt budget', async () => {
    const closed = await startServer(() => undefined);
    const url = closed.url;
    await closed.close();
    const { http } = client({ retryAttempts: 2 });
    const err = await rejection(http.get(`${url}/x`));
    expect(err.retryable).toBe(false);
    expect(err.message).toMatch(/^gave up after 2 attempts: GET .* failed: .*ECONNREFUSED/);
  });

  it('logs each retry at warn with attempt, status, delay and endpoint, never headers or query', async () => {
    server = await startServer((_req, res, n) => {
      if (n === 1) res.writeHead(502).end();
      else res.end('ok');
    });
    const cap = captureLogger();
    const { http } = client({ log: cap.log, headers: { authorization: 'Bearer sekret-token-123' } });
    await text((await http.get(`${server.url}/v2/p?start_date=2025-01-01`)).body);
    const warns = cap.lines.filter((l) => l.level === 40);
    expect(warns).toHaveLength(1);
    expect(warns[0]).toMatchObject({ attempt: 1, status: 502, endpoint: `${server.url}/v2/p` });
    expect(typeof warns[0]!.delayMs).toBe('number');
    expect(cap.text()).not.toContain('sekret');
    expect(cap.text()).not.toContain('start_date');
    expect(server.requests[0]!.headers.authorization).toBe('Bearer sekret-token-123');
  });
});

describe('createHttpClient: non-retryable statuses', () => {
  it('throws a non-retryable 401 carrying the JSON body message and code, without retrying', async () => {
    server = await startServer((_req, res) => {
      res
        .writeHead(401, { 'content-type': 'application/json' })
        .end(JSON.stringify({ message: 'Invalid API token', code: 'unauthorized' }));
    });
    const { http, sleeps } = client({ headers: { authorization: 'Bearer sekret-token-123' } });
    const err = await rejection(http.get(`${server.url}/v2/packages/acme/events?start_date=2025-01-01`));
    expect(err.retryable).toBe(false);
    expect(err.details.status).toBe(401);
    expect(err.details.code).toBe('unauthorized');
    expect(err.message).toBe(
      `HTTP 401 Unauthorized from GET ${server.url}/v2/packages/acme/events (the API token was rejected): ` +
        'Invalid API token (code unauthorized)',
    );
    expect(err.message).not.toContain('sekret');
    expect(sleeps).toEqual([]);
    expect(http.requestCount).toBe(1);
  });

  it('quotes at most 300 characters of a non-JSON error body', async () => {
    server = await startServer((_req, res) => {
      res.writeHead(404).end(`not here ${'x'.repeat(5000)}`);
    });
    const { http } = client();
    const err = await rejection(http.get(`${server.url}/missing`));
    expect(err.details.status).toBe(404);
    const quoted = err.message.split(`${server.url}/missing: `)[1]!;
    expect(quoted.startsWith('not here xxx')).toBe(true);
    expect(quoted.length).toBeLessThanOrEqual(300);
  });

  it('returns an accepted status instead of throwing', async () => {
    server = await startServer((_req, res) => {
      res.writeHead(403).end('{"message":"admin only","code":"forbidden"}');
    });
    const { http } = client();
    const res = await http.get(`${server.url}/admin`, { acceptStatus: [403] });
    expect(res.status).toBe(403);
    expect(await text(res.body)).toContain('admin only');
  });

  it('sends default headers, the user agent and per-request headers', async () => {
    server = await startServer((_req, res) => res.end('ok'));
    const { http } = client({ headers: { authorization: 'raw-token' }, userAgent: 'exportsync/test' });
    await text((await http.get(`${server.url}/x`, { headers: { accept: 'text/csv' } })).body);
    const h = server.requests[0]!.headers;
    expect([h.authorization, h['user-agent'], h.accept]).toEqual([
      'raw-token',
      'exportsync/test',
      'text/csv',
    ]);
  });
});

describe('createHttpClient: body failures', () => {
  it('surfaces a body cut short of its Content-Length as a retryable SourceError while iterating', async () => {
    server = await startServer((_req, res) => {
      res.writeHead(200, { 'content-length': '100000' });
      res.write('a,b\n'.repeat(100), () => setTimeout(() => res.socket?.destroy(), 20));
    });
    const { http } = client();
    const res = await http.get(`${server.url}/x`);
    const err = await rejection(text(res.body));
    expect(err.retryable).toBe(true);
    expect(err.message).toContain(`response body of GET ${server.url}/x broke off`);
  });

  it('surfaces a chunked body that breaks off without its last chunk as a retryable SourceError', async () => {
    server = await startServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/csv' }); // no length: chunked encoding
      res.write('a,b\n1,2\n', () => setTimeout(() => res.socket?.destroy(), 20));
    });
    const { http } = client();
    const res = await http.get(`${server.url}/x`);
    const err = await rejection(text(res.body));
    expect(err.retryable).toBe(true);
  });

  it('times out a body that stalls midway as a retryable SourceError', async () => {
    server = await startServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/csv' });
      res.write('a,b\n1,2\n'); // and never more
    });
    const { http } = client({ requestTimeoutMs: 150 });
    const res = await http.get(`${server.url}/x`);
    const err = await rejection(text(res.body));
    expect(err.retryable).toBe(true);
    expect(err.message).toContain('no data for 150 ms');
  });
});

describe('createHttpClient: budget and abort', () => {
  it('refuses requests beyond maxRequests with a non-retryable error, retries included', async () => {
    server = await startServer((_req, res, n) => {
      if (n === 1) res.writeHead(500).end();
      else res.end('ok');
    });
    const { http } = client({ maxRequests: 3 });
    await text((await http.get(`${server.url}/a`)).body); // 2 requests (500, 200)
    await text((await http.get(`${server.url}/b`)).body); // 3
    const err = await rejection(http.get(`${server.url}/c`));
    expect(err.retryable).toBe(false);
    expect(err.message).toContain('request budget exhausted: 3 requests');
    expect(server.requests).toHaveLength(3);
    expect(http.requestCount).toBe(3);
  });

  it('stops waiting for a retry when the signal aborts', async () => {
    server = await startServer((_req, res) => res.writeHead(503).end());
    const http = createHttpClient({
      log: silentLogger,
      retryAttempts: 5,
      retryMinDelayMs: 30_000,
      retryMaxDelayMs: 60_000,
      requestTimeoutMs: 2_000,
      maxRequests: 100,
    });
    const controller = new AbortController();
    const reason = new Error('shutting down');
    setTimeout(() => controller.abort(reason), 100);
    const started = Date.now();
    await expect(http.get(`${server.url}/x`, { signal: controller.signal })).rejects.toBe(reason);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(server.requests).toHaveLength(1);
  });

  it('abandons a request waiting for headers when the signal aborts', async () => {
    server = await startServer(() => undefined);
    const { http } = client({ requestTimeoutMs: 30_000 });
    const controller = new AbortController();
    const reason = new Error('stop');
    setTimeout(() => controller.abort(reason), 100);
    await expect(http.get(`${server.url}/x`, { signal: controller.signal })).rejects.toBe(reason);
    expect(http.requestCount).toBe(1);
  });

  it('ends body iteration with the abort reason when the signal aborts mid-body', async () => {
    server = await startServer((_req, res) => {
      res.writeHead(200);
      res.write('first chunk');
    });
    const { http } = client({ requestTimeoutMs: 30_000 });
    const controller = new AbortController();
    const reason = new Error('stop');
    const res = await http.get(`${server.url}/x`, { signal: controller.signal });
    const chunks: string[] = [];
    const done = (async () => {
      for await (const c of res.body) {
        chunks.push(Buffer.from(c).toString());
        controller.abort(reason);
      }
    })();
    await expect(done).rejects.toBe(reason);
    expect(chunks).toEqual(['first chunk']);
  });
});
