import type { Request, Response } from 'express';
import { UUID_PATTERN } from '../validation/validator';

/**
 * What a route declares about one `{name}` segment: the kind it must have, and the route's answer when it has
 * not. The answer is the route's own because Placement's differs per route: a provider route answers as for a
 * missing provider, each in its handler's sentence; GET /allocations/{consumer_uuid} answers with no
 * allocations, PUT with a 400, DELETE with a 404. The dispatcher checks before the handler runs, so no repo
 * ever sees a segment of the wrong kind (for a uuid column, that would be a PostgreSQL cast error, a 500).
 */
export interface PathParam {
  accepts(value: string): boolean;
  /** Answers the request, or throws, for a segment that is not of the kind; the handler is not run. */
  malformed(req: Request, res: Response, value: string): Promise<void>;
}

export type PathParams = Record<string, PathParam>;

/**
 * A uuid in any spelling Placement accepts (dashless, any case). Handlers get the client's spelling, not the
 * canonical one, since Placement's messages quote the segment as sent; `canonicalUuid` spells it for storage.
 */
export function uuidParam(malformed: PathParam['malformed']): PathParam {
  return { accepts: (value) => UUID_PATTERN.test(value), malformed };
}

/** The answer for a malformed segment: throw `error`, which may quote it. */
export function refuse(error: (value: string) => Error): PathParam['malformed'] {
  return async (_req, _res, value) => {
    throw error(value);
  };
}
