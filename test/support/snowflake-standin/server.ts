/**
 * The HTTP side of the stand-in: the endpoints snowflake-sdk 3 calls (login-request with
 * password or key-pair JWT, query-request, token-request renewal, session delete, telemetry,
 * heartbeat), with gzip request bodies. A session whose token was expired by the test gets
 * 390112; its renewal gets 390114 when the master token was expired too (the driver then drops
 * the session and every later statement fails, which the destination must survive by reconnecting).
 */
import { verify } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { gunzipSync } from 'node:zlib';
import type { Session, StandinEngine } from './engine.js';
import { SESSION_PARAMETERS, failure, success } from './wire.js';

export interface AuthOptions {
  /** When set, a password login must match it. */
  password?: string;
  /** When set, a key-pair (SNOWFLAKE_JWT) login must carry a JWT signed by its private key. */
  publicKeyPem?: string;
}

export interface ServerState {
  engine: StandinEngine;
  auth: AuthOptions;
  /** Sessions whose master token is expired as well (renewal fails with 390114). */
  masterExpired: Set<string>;
  logins: number;
}

async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  let body = Buffer.concat(chunks);
  if (/gzip/i.test(String(req.headers['content-encoding'] ?? ''))) body = gunzipSync(body);
  return body.length > 0 ? (JSON.parse(body.toString('utf8')) as Record<string, unknown>) : {};
}

function send(res: ServerResponse, status: number, payload: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(payload));
}

function tokenOf(req: IncomingMessage): string | undefined {
  return /Token="([^"]+)"/.exec(String(req.headers.authorization ?? ''))?.[1];
}

function jwtValid(jwt: string, publicKeyPem: string): boolean {
  const [h, p, s] = jwt.split('.');
  if (!h || !p || !s) return false;
  return verify('RSA-SHA256', Buffer.from(`${h}.${p}`), publicKeyPem, Buffer.from(s, 'base64url'));
}

async function login(state: ServerState, url: URL, body: Record<string, unknown>): Promise<unknown> {
  const data = (body.data ?? {}) as Record<string, unknown>;
  const user = String(data.LOGIN_NAME ?? '');
  const jwt = String(data.AUTHENTICATOR ?? '').toUpperCase() === 'SNOWFLAKE_JWT';
  const ok = jwt
    ? !state.auth.publicKeyPem || jwtValid(String(data.TOKEN ?? ''), state.auth.publicKeyPem)
    : state.auth.password === undefined || data.PASSWORD === state.auth.password;
  if (!ok) {
    const message = jwt ? 'JWT token is invalid.' : 'Incorrect username or password was specified.';
    return failure({ code: jwt ? '390144' : '390100', sqlState: '08004', message });
  }
  state.logins += 1;
  const q = url.searchParams;
  const session = await state.engine.openSession({
    user,
    role: q.get('roleName') ?? 'PUBLIC',
    warehouse: q.get('warehouse'),
    database: q.get('databaseName') ?? 'DB',
    schema: q.get('schemaName') ?? 'PUBLIC',
  });
  return {
    success: true,
    code: null,
    message: null,
    data: {
      token: session.token,
      masterToken: session.masterToken,
      validityInSeconds: 3600,
      masterValidityInSeconds: 14400,
      sessionId: session.id,
      parameters: SESSION_PARAMETERS,
      sessionInfo: {
        databaseName: session.database,
        schemaName: session.schema,
        warehouseName: session.warehouse,
        roleName: session.role,
      },
      serverVersion: '9.0.0-standin',
      displayUserName: user,
      firstLogin: false,
      healthCheckInterval: 45,
    },
  };
}

function sessionByMaster(state: ServerState, master: string | undefined): Session | undefined {
  for (const s of state.engine.sessions.values()) if (s.masterToken === master) return s;
  return undefined;
}

export function handler(state: ServerState) {
  return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    try {
      const url = new URL(req.url ?? '/', 'http://127.0.0.1');
      const body = await readJson(req);
      if (url.pathname === '/session/v1/login-request') return send(res, 200, await login(state, url, body));
      if (url.pathname === '/telemetry/send') return send(res, 200, { success: true });
      if (url.pathname === '/session/token-request') {
        const session = sessionByMaster(state, tokenOf(req));
        if (!session || state.masterExpired.has(session.masterToken)) {
          return send(
            res,
            200,
            failure({
              code: '390114',
              sqlState: '08001',
              message: 'Authentication token has expired.  The user must authenticate again.',
            }),
          );
        }
        state.engine.sessions.delete(session.token);
        session.token = `${session.masterToken}-${Date.now()}-${Math.random()}`;
        session.expired = false;
        state.engine.sessions.set(session.token, session);
        return send(res, 200, {
          success: true,
          data: {
            sessionToken: session.token,
            validityInSecondsST: 3600,
            masterToken: session.masterToken,
            validityInSecondsMT: 14400,
          },
        });
      }
      const session = state.engine.sessions.get(tokenOf(req) ?? '');
      if (!session)
        return send(res, 401, { success: false, code: '390104', message: 'Invalid session token' });
      if (session.expired) {
        return send(
          res,
          200,
          failure({
            code: '390112',
            sqlState: '08001',
            message: 'Your session has expired. Please login again.',
          }),
        );
      }
      if (url.pathname === '/session' && url.searchParams.get('delete') === 'true') {
        await state.engine.closeSession(session);
        return send(res, 200, { success: true, data: null });
      }
      if (url.pathname === '/session/heartbeat' || url.pathname === '/queries/v1/abort-request')
        return send(res, 200, success({}));
      if (url.pathname === '/queries/v1/query-request')
        return send(res, 200, await state.engine.execute(session, body));
      send(res, 404, { success: false, code: '000404', message: `stand-in: no route ${url.pathname}` });
    } catch (err) {
      send(res, 500, { success: false, code: '000500', message: (err as Error).message });
    }
  };
}
