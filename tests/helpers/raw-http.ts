import net from 'node:net';

export interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/**
 * Speak HTTP/1.1 over a bare socket, for what fetch cannot send: pipelined requests in one write,
 * bytes that are not a request, a request that arrives slowly. Resolves when `expect` responses were
 * read or the server closed the connection; each step of `chunks` is written `gapMs` after the last.
 */
export async function rawExchange(
  baseUrl: string,
  chunks: Array<string | Buffer>,
  options: { expect?: number; gapMs?: number; timeoutMs?: number } = {},
): Promise<{ responses: RawResponse[]; closed: boolean; ms: number }> {
  const { port, hostname } = new URL(baseUrl);
  const socket = net.connect(Number(port), hostname);
  const started = performance.now();
  let buffer: Buffer = Buffer.alloc(0);
  const responses: RawResponse[] = [];
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => finish(false), options.timeoutMs ?? 15_000);
    const finish = (closed: boolean) => {
      clearTimeout(timer);
      socket.destroy();
      resolve({ responses, closed, ms: performance.now() - started });
    };
    socket.on('data', (data) => {
      buffer = Buffer.concat([buffer, data]);
      for (let parsed = takeResponse(buffer); parsed; parsed = takeResponse(buffer)) {
        responses.push(parsed.response);
        buffer = parsed.rest;
      }
      if (options.expect !== undefined && responses.length >= options.expect) finish(false);
    });
    socket.on('end', () => finish(true));
    socket.on('close', () => finish(true));
    socket.on('error', reject);
    socket.on('connect', async () => {
      for (const [i, chunk] of chunks.entries()) {
        if (i > 0 && options.gapMs) await new Promise((r) => setTimeout(r, options.gapMs));
        if (!socket.destroyed) socket.write(chunk);
      }
    });
  });
}

function takeResponse(buffer: Buffer): { response: RawResponse; rest: Buffer } | undefined {
  const end = buffer.indexOf('\r\n\r\n');
  if (end < 0) return undefined;
  const [statusLine, ...lines] = buffer.subarray(0, end).toString('latin1').split('\r\n');
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const at = line.indexOf(':');
    headers[line.slice(0, at).trim().toLowerCase()] = line.slice(at + 1).trim();
  }
  const length = Number(headers['content-length'] ?? 0);
  if (buffer.length < end + 4 + length) return undefined;
  const body = buffer.subarray(end + 4, end + 4 + length).toString('utf8');
  return {
    response: { status: Number(statusLine.split(' ')[1]), headers, body },
    rest: buffer.subarray(end + 4 + length),
  };
}

/** One request as text, with the admin token and a microversion. */
export function rawRequest(method: string, path: string, version = '1.39', body?: string): string {
  const lines = [
    `${method} ${path} HTTP/1.1`,
    'Host: 127.0.0.1',
    'X-Auth-Token: admin',
    `OpenStack-API-Version: placement ${version}`,
  ];
  if (body !== undefined) lines.push('Content-Type: application/json', `Content-Length: ${Buffer.byteLength(body)}`);
  else lines.push('Content-Length: 0');
  return `${lines.join('\r\n')}\r\n\r\n${body ?? ''}`;
}
