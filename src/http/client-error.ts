import type { Server } from 'node:http';
import type { Socket } from 'node:net';
import { STATUS_EXPLANATION } from '../errors/http-error';
import { afterInFlight } from './pipeline';

// Placement's own wording where it has one.
const PARSER_DETAIL: Record<string, string> = {
  HPE_INVALID_CONTENT_LENGTH: 'content-length header must be an integer',
};

/** How long a client may take to send a request (docs/limits.md); both give 408. */
export interface ClientTimeouts {
  headersTimeoutMs: number;
  requestTimeoutMs: number;
}

/** How often Node looks for requests past their timeout; its default (30 s) would blur them. */
const CHECK_EVERY_MS = 1000;

/**
 * Requests Node's HTTP parser refuses before the app sees them (headers or URL over its limit, a
 * malformed request line) still get Placement's error body rather than a bare status line, and a
 * request that arrives too slowly (headers, or the whole request with its body) gets 408.
 * Call right after `listen()`, before the server is listening: Node reads the checking interval then.
 */
export function answerClientErrors(server: Server, timeouts?: ClientTimeouts): void {
  if (timeouts) {
    server.headersTimeout = timeouts.headersTimeoutMs;
    server.requestTimeout = Math.max(timeouts.requestTimeoutMs, timeouts.headersTimeoutMs);
    // Public since Node 18.12 but missing from @types/node 20.
    (server as Server & { connectionsCheckingInterval: number }).connectionsCheckingInterval = Math.min(
      CHECK_EVERY_MS,
      timeouts.headersTimeoutMs,
    );
  }
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Socket) => {
    if (!socket.writable) return socket.destroy();
    // A request too slow to arrive is answered at once (the request in flight may be that one);
    // a bad request pipelined after good ones waits for their answers, then closes the connection.
    if (error.code === 'ERR_HTTP_REQUEST_TIMEOUT') return void socket.end(errorResponse(error));
    void afterInFlight(socket).then(() => {
      if (socket.writable) socket.end(errorResponse(error));
      else socket.destroy();
    });
  });
}

function errorResponse(error: NodeJS.ErrnoException): string {
  const status = error.code === 'HPE_HEADER_OVERFLOW' ? 431 : error.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400;
  const title = status === 431 ? 'Request Header Fields Too Large' : STATUS_EXPLANATION[status][0];
  const detail =
    status === 431
      ? 'The request line or headers are larger than this server accepts.'
      : status === 408
        ? `${STATUS_EXPLANATION[408][1]}\n\n The request did not arrive within the server's time limit.  `
        : (PARSER_DETAIL[error.code ?? ''] ?? 'The request could not be parsed.');
  const body = JSON.stringify({ errors: [{ status, title, detail }] });
  return `HTTP/1.1 ${status} ${title}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`;
}
