import type { Server } from 'node:http';
import type { Socket } from 'node:net';
import { STATUS_EXPLANATION } from '../errors/http-error';

// Placement's own wording where it has one.
const PARSER_DETAIL: Record<string, string> = {
  HPE_INVALID_CONTENT_LENGTH: 'content-length header must be an integer',
};

/**
 * Requests Node's HTTP parser refuses before the app sees them (headers or URL over its limit, a
 * malformed request line) still get Placement's error body rather than a bare status line.
 */
export function answerClientErrors(server: Server): void {
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Socket) => {
    if (!socket.writable) return socket.destroy();
    const status = error.code === 'HPE_HEADER_OVERFLOW' ? 431 : 400;
    const title = status === 431 ? 'Request Header Fields Too Large' : STATUS_EXPLANATION[400][0];
    const detail =
      status === 431
        ? 'The request line or headers are larger than this server accepts.'
        : (PARSER_DETAIL[error.code ?? ''] ?? 'The request could not be parsed.');
    const body = JSON.stringify({ errors: [{ status, title, detail }] });
    socket.end(
      `HTTP/1.1 ${status} ${title}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
    );
  });
}
