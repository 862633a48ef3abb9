import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { rootCertificates } from 'node:tls';

/**
 * One HTTP(S) exchange with a timeout over everything (connect, send, read) and a bounded answer. node:http
 * rather than fetch because fetch cannot be given a CA bundle (--ca-file) without an extra dependency.
 */
export interface HttpExchange {
  method: string;
  url: string;
  headers: Record<string, string>;
  body?: string;
  timeoutMs: number;
  /** PEM trusted on top of the system CAs. */
  ca?: string;
}

export interface HttpAnswer {
  status: number;
  headers: Headers;
  text: string;
}

/** Placement answers are small; anything larger is a wrong endpoint, not something to buffer. */
const MAX_BODY = 32 * 1024 * 1024;

export class TransportError extends Error {}

export function exchange(ex: HttpExchange): Promise<HttpAnswer> {
  const target = new URL(ex.url);
  const secure = target.protocol === 'https:';
  if (!secure && target.protocol !== 'http:')
    return Promise.reject(new TransportError(`unsupported URL scheme ${target.protocol}`));
  const send = secure ? httpsRequest : httpRequest;
  const headers: Record<string, string> = { ...ex.headers };
  if (ex.body !== undefined) headers['content-length'] = String(Buffer.byteLength(ex.body));
  return new Promise((resolve, reject) => {
    let settled = false;
    const finish = (error: Error | undefined, answer?: HttpAnswer) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (error) reject(error);
      else resolve(answer!);
    };
    const req = send(
      target,
      {
        method: ex.method,
        headers,
        ...(secure && ex.ca ? { ca: [...rootCertificates, ex.ca] } : {}),
      },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > MAX_BODY) {
            req.destroy(new TransportError(`answer larger than ${MAX_BODY} bytes`));
            return;
          }
          chunks.push(chunk);
        });
        res.on('end', () => {
          const answerHeaders = new Headers();
          for (const [name, value] of Object.entries(res.headers)) {
            if (value === undefined) continue;
            for (const v of Array.isArray(value) ? value : [value]) answerHeaders.append(name, v);
          }
          finish(undefined, {
            status: res.statusCode ?? 0,
            headers: answerHeaders,
            text: Buffer.concat(chunks).toString('utf8'),
          });
        });
        res.on('error', (error) => finish(error));
      },
    );
    const timer = setTimeout(() => {
      req.destroy(new TransportError(`no answer within ${ex.timeoutMs} ms`));
    }, ex.timeoutMs);
    req.on('error', (error) => finish(error));
    req.end(ex.body);
  });
}

/** `err.code` of a network error (ECONNREFUSED, ...) or its message, for logs. */
export function describeNetworkError(error: unknown): string {
  const e = error as NodeJS.ErrnoException & { cause?: NodeJS.ErrnoException };
  const code = e?.code ?? e?.cause?.code;
  return code && !String(e?.message).includes(code) ? `${e.message} (${code})` : String(e?.message ?? error);
}
