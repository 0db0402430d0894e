/**
 * The BigQuery REST surface the destination uses, on node:http: datasets (get, insert), tables
 * (list, get, insert, patch, delete), jobs (insert of query jobs, multipart upload of load jobs,
 * get, getQueryResults). Accepts both `/bigquery/v2/projects/…` (apiEndpoint) and `/projects/…`
 * (BIGQUERY_EMULATOR_HOST). Every request is recorded; faults can be injected per request.
 * Jobs run synchronously and are DONE when inserted.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { BqError, type Engine, type QueryParameter, type QueryResult } from './engine.js';

export interface RecordedRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  authorization?: string;
  /** Parsed JSON body; for an upload the job resource, with the file text in `data`. */
  body?: Record<string, unknown>;
  data?: string;
}

export interface Fault {
  method?: string;
  path: RegExp;
  /** 'http': the request fails with this status; 'job': the job is accepted and ends DONE with this error. */
  kind: 'http' | 'job';
  status: number;
  reason: string;
  message: string;
  times: number;
}

interface JobRecord {
  resource: Record<string, unknown>;
  result?: QueryResult;
  error?: BqError;
}

export function createStandinServer(engine: Engine, project: string) {
  const requests: RecordedRequest[] = [];
  const faults: Fault[] = [];
  const jobs = new Map<string, JobRecord>();

  const send = (res: ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };
  const fail = (res: ServerResponse, e: BqError) =>
    send(res, e.status, {
      error: {
        code: e.status,
        message: e.message,
        errors: [{ reason: e.reason, message: e.message, domain: 'global' }],
      },
    });

  async function runJob(
    id: string,
    config: Record<string, unknown>,
    data: Buffer | undefined,
    fault?: Fault,
  ) {
    const ref = { projectId: project, jobId: id, location: 'US' };
    const record: JobRecord = {
      resource: { kind: 'bigquery#job', id: `${project}:US.${id}`, jobReference: ref, configuration: config },
    };
    try {
      if (fault) throw new BqError(fault.status, fault.reason, fault.message);
      if (config.query) {
        const qc = config.query as { query: string; queryParameters?: QueryParameter[] };
        record.result = await engine.query(qc.query, qc.queryParameters ?? []);
        record.resource.statistics = { query: { totalBytesProcessed: '0' } };
      } else {
        const output = await engine.load(config.load as Record<string, unknown>, data ?? Buffer.alloc(0));
        record.resource.statistics = { load: { outputRows: String(output), inputFiles: '1' } };
      }
      record.resource.status = { state: 'DONE' };
    } catch (err) {
      const e = err instanceof BqError ? err : new BqError(500, 'internalError', (err as Error).message);
      record.error = e;
      const detail = { reason: e.reason, message: e.message, location: 'query' };
      record.resource.status = { state: 'DONE', errorResult: detail, errors: [detail] };
    }
    jobs.set(id, record);
    return record.resource;
  }

  async function route(req: IncomingMessage, res: ServerResponse, rec: RecordedRequest, raw: Buffer) {
    const p = rec.path.replace(/^\/(upload\/)?bigquery\/v2/, (_m, up: string | undefined) =>
      up ? '/upload' : '',
    );
    const m = (re: RegExp) => re.exec(p);
    const fault = faults.find(
      (f) => f.times > 0 && f.path.test(rec.path) && (!f.method || f.method === rec.method),
    );
    if (fault) fault.times--;
    if (fault?.kind === 'http') throw new BqError(fault.status, fault.reason, fault.message);
    let x: RegExpExecArray | null;
    if (m(/^\/upload\/projects\/[^/]+\/jobs$/) && req.method === 'POST') {
      const { meta, data } = parseMultipart(req.headers['content-type'] ?? '', raw);
      rec.body = meta;
      rec.data = data.toString('utf8');
      const id = ((meta.jobReference as { jobId?: string }) ?? {}).jobId ?? `job_${jobs.size + 1}`;
      if (jobs.has(id)) throw new BqError(409, 'duplicate', `Already Exists: Job ${project}:US.${id}`);
      return send(res, 200, await runJob(id, meta.configuration as Record<string, unknown>, data, fault));
    }
    if (m(/^\/projects\/[^/]+\/jobs$/) && req.method === 'POST') {
      const id = ((rec.body?.jobReference as { jobId?: string }) ?? {}).jobId ?? `job_${jobs.size + 1}`;
      if (jobs.has(id)) throw new BqError(409, 'duplicate', `Already Exists: Job ${project}:US.${id}`);
      return send(
        res,
        200,
        await runJob(id, rec.body?.configuration as Record<string, unknown>, undefined, fault),
      );
    }
    if ((x = m(/^\/projects\/[^/]+\/jobs\/([^/]+)$/)) && req.method === 'GET') {
      const job = jobs.get(decodeURIComponent(x[1]!));
      if (!job) throw new BqError(404, 'notFound', `Not found: Job ${x[1]}`);
      return send(res, 200, job.resource);
    }
    if (m(/^\/projects\/[^/]+\/queries$/) && req.method === 'POST') {
      // jobs.query: the whole query in one call (what BigQuery#query uses)
      const id = `job_query_${jobs.size + 1}_${Date.now()}`;
      const { query, queryParameters } = rec.body as { query: string; queryParameters?: QueryParameter[] };
      await runJob(id, { query: { query, queryParameters } }, undefined, fault);
      return results(res, jobs.get(id)!, 'bigquery#queryResponse');
    }
    if ((x = m(/^\/projects\/[^/]+\/queries\/([^/]+)$/)) && req.method === 'GET') {
      const job = jobs.get(decodeURIComponent(x[1]!));
      if (!job) throw new BqError(404, 'notFound', `Not found: Job ${x[1]}`);
      return results(res, job, 'bigquery#getQueryResultsResponse');
    }
    if (m(/^\/projects\/[^/]+\/datasets$/) && req.method === 'POST') {
      const id = (rec.body?.datasetReference as { datasetId: string }).datasetId;
      await engine.createDataset(id);
      return send(res, 200, {
        kind: 'bigquery#dataset',
        id: `${project}:${id}`,
        datasetReference: { projectId: project, datasetId: id },
        location: rec.body?.location ?? 'US',
      });
    }
    if ((x = m(/^\/projects\/[^/]+\/datasets\/([^/]+)$/)) && req.method === 'GET') {
      const id = x[1]!;
      if (!engine.datasets.has(id)) throw new BqError(404, 'notFound', `Not found: Dataset ${project}:${id}`);
      return send(res, 200, {
        kind: 'bigquery#dataset',
        id: `${project}:${id}`,
        datasetReference: { projectId: project, datasetId: id },
        location: 'US',
      });
    }
    if ((x = m(/^\/projects\/[^/]+\/datasets\/([^/]+)\/tables$/))) {
      const ds = x[1]!;
      if (req.method === 'POST') {
        const id = (rec.body?.tableReference as { tableId: string }).tableId;
        await engine.createTable(ds, id, rec.body ?? {});
        return send(res, 200, engine.catalog.resource(project, ds, id, 0));
      }
      const tables = [...engine.catalog.tables.keys()]
        .filter((k) => k.startsWith(`${ds}.`))
        .map((k) => k.slice(ds.length + 1));
      return send(res, 200, {
        kind: 'bigquery#tableList',
        tables: tables.map((t) => ({
          id: `${project}:${ds}.${t}`,
          tableReference: { projectId: project, datasetId: ds, tableId: t },
        })),
        totalItems: tables.length,
      });
    }
    if ((x = m(/^\/projects\/[^/]+\/datasets\/([^/]+)\/tables\/([^/]+)$/))) {
      const [ds, t] = [x[1]!, decodeURIComponent(x[2]!)];
      if (req.method === 'DELETE') {
        if (!(await engine.dropTable(ds, t)))
          throw new BqError(404, 'notFound', `Not found: Table ${project}:${ds}.${t}`);
        return send(res, 200, {});
      }
      if (req.method === 'PATCH' || req.method === 'PUT') await engine.patchTable(ds, t, rec.body ?? {});
      if (!engine.catalog.tables.has(engine.catalog.key(ds, t)))
        throw new BqError(404, 'notFound', `Not found: Table ${project}:${ds}.${t}`);
      return send(res, 200, engine.catalog.resource(project, ds, t, await engine.countRows(ds, t)));
    }
    throw new BqError(404, 'notFound', `stand-in: no route for ${req.method} ${rec.path}`);
  }

  function results(res: ServerResponse, job: JobRecord, kind: string) {
    {
      if (job.error) throw job.error;
      const r = job.result ?? { fields: [], rows: [] };
      return send(res, 200, {
        kind,
        jobReference: job.resource.jobReference,
        jobComplete: true,
        schema: { fields: r.fields },
        rows: r.rows.map((row) => ({ f: row.map((v) => ({ v })) })),
        totalRows: String(r.rows.length),
      });
    }
  }

  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://standin');
      const raw = Buffer.concat(chunks);
      const rec: RecordedRequest = {
        method: req.method ?? 'GET',
        path: url.pathname,
        query: Object.fromEntries(url.searchParams),
        ...(req.headers.authorization ? { authorization: req.headers.authorization } : {}),
      };
      if (raw.length > 0 && (req.headers['content-type'] ?? '').includes('json'))
        rec.body = JSON.parse(raw.toString('utf8')) as Record<string, unknown>;
      requests.push(rec);
      route(req, res, rec, raw).catch((err: unknown) =>
        fail(res, err instanceof BqError ? err : new BqError(500, 'internalError', (err as Error).message)),
      );
    });
  });
  return { server, requests, faults };
}

/** multipart/related: part 1 the job resource (JSON), part 2 the file bytes. */
function parseMultipart(contentType: string, raw: Buffer): { meta: Record<string, unknown>; data: Buffer } {
  const boundary = /boundary="?([^";]+)"?/.exec(contentType)?.[1];
  if (!boundary) throw new BqError(400, 'invalid', 'upload without a multipart boundary');
  const text = raw.toString('latin1');
  const parts = text.split(`--${boundary}`).slice(1, -1);
  const bodies = parts.map((part) => {
    const at = part.indexOf('\r\n\r\n');
    return Buffer.from(part.slice(at + 4).replace(/\r\n$/, ''), 'latin1');
  });
  if (bodies.length < 2) throw new BqError(400, 'invalid', 'upload without metadata and data parts');
  return { meta: JSON.parse(bodies[0]!.toString('utf8')) as Record<string, unknown>, data: bodies[1]! };
}
