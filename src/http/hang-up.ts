import type { Response } from 'express';

/**
 * The reason work is aborted with when its client closed the connection before the answer was sent:
 * nobody will read the answer, so the renderer writes nothing and counts it instead of logging an error.
 */
export class ClientHungUp extends Error {
  constructor() {
    super('the client closed the connection before the answer was sent');
  }
}

/**
 * Aborted when the response closes unfinished (the client hung up, or the connection was dropped).
 * Long work (candidate generation) checks it where it checks its deadline, so it stops soon after.
 */
export function hangUpSignal(res: Response): AbortSignal {
  const controller = new AbortController();
  const hungUp = () => {
    if (!res.writableFinished) controller.abort(new ClientHungUp());
  };
  // A request queued behind others on its connection (src/http/pipeline.ts) may start after the close.
  if (res.destroyed || res.socket?.destroyed) hungUp();
  else res.once('close', hungUp);
  return controller.signal;
}
