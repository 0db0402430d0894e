/**
 * An HttpClient that remembers what each answer looked like (status, content type, how the body
 * starts: CSV, NDJSON, a JSON array or an object wrapping one) without keeping any of it, so
 * `check --contract` can compare the response format with the contract. The body passes through
 * untouched.
 */
import type { HttpClient, HttpResponse } from '../core/contracts.js';

export interface ObservedResponse {
  status: number;
  contentType: string;
  /** csv | ndjson | json-array | json-object(<member>) | empty */
  body: string;
}

export interface RecordingHttp {
  http: HttpClient;
  responses: ObservedResponse[];
}

/** How a body starts, from its first bytes and content type. */
export function bodyKind(head: string, contentType: string): string {
  const text = head.replace(/^\uFEFF/, '').trimStart();
  if (text === '') return 'empty';
  if (/ndjson|jsonl|json-seq/i.test(contentType)) return 'ndjson';
  if (text.startsWith('[')) return 'json-array';
  if (text.startsWith('{')) {
    const member = /"([^"]{1,64})"\s*:\s*\[/.exec(text)?.[1];
    const firstLine = text.split('\n', 1)[0] ?? '';
    const oneObjectLine = /^\{.*\}\s*$/.test(firstLine) && text.length > firstLine.length;
    if (!/json/i.test(contentType) && oneObjectLine) return 'ndjson';
    return member === undefined ? 'json-object' : `json-object(${member})`;
  }
  return 'csv';
}

export function recordingHttp(inner: HttpClient): RecordingHttp {
  const responses: ObservedResponse[] = [];
  const http: HttpClient = {
    get requestCount() {
      return inner.requestCount;
    },
    async get(url, options): Promise<HttpResponse> {
      const response = await inner.get(url, options);
      const contentType = response.headers.get('content-type') ?? '';
      const entry: ObservedResponse = { status: response.status, contentType, body: 'empty' };
      responses.push(entry);
      const source = response.body;
      async function* body(): AsyncIterable<Uint8Array> {
        let head = '';
        let sniffed = false;
        for await (const chunk of source) {
          if (!sniffed) {
            head += Buffer.from(chunk).toString('utf8', 0, Math.min(chunk.byteLength, 2048));
            entry.body = bodyKind(head, contentType);
            sniffed = head.length >= 512;
          }
          yield chunk;
        }
      }
      return { ...response, body: body() };
    },
  };
  return { http, responses };
}
