import type { NextFunction, Request, Response } from 'express';
import type { Socket } from 'node:net';

/** Per connection: settles when the last request taken from it has been answered (or dropped). */
const lastOnSocket = new WeakMap<Socket, Promise<void>>();

/**
 * HTTP/1.1 pipelining: Node parses every request a connection sends and hands them over at once,
 * queuing only the responses. Run them one after another instead, so a pipelined `PUT /traits/X`
 * then `GET /traits/X` sees the trait, as a client sending them in order expects (and Placement,
 * behind a WSGI server that takes one request per connection at a time, does).
 */
export function inConnectionOrder(req: Request, res: Response, next: NextFunction): void {
  const socket = req.socket;
  const previous = lastOnSocket.get(socket);
  const answered = new Promise<void>((resolve) => {
    res.once('finish', resolve);
    res.once('close', resolve);
  });
  lastOnSocket.set(socket, previous ? previous.then(() => answered) : answered);
  if (previous) void previous.then(() => next());
  else next();
}

/** Resolves once every request taken from the connection so far has been answered. */
export function afterInFlight(socket: Socket): Promise<void> {
  return lastOnSocket.get(socket) ?? Promise.resolve();
}
