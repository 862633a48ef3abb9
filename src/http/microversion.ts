import type { NextFunction, Request, Response } from 'express';
import { HttpError } from '../errors/http-error';
import { MAX_MICROVERSION, MIN_MICROVERSION, Microversion } from '../microversion/microversion';

const SERVICE_TYPE = 'placement';
const VARY = 'openstack-api-version';

/**
 * Negotiate the request's microversion: `OpenStack-API-Version: placement X.Y` or the older
 * `X-OpenStack-Placement-API-Version: X.Y`; `latest` (lower case only) is the maximum; no header means the minimum.
 */
export function negotiateMicroversion(req: Request, res: Response, next: NextFunction): void {
  res.setHeader('Vary', VARY);
  const requested = requestedVersion(req);
  // Until negotiation succeeds, errors are reported at the minimum version.
  req.mv = MIN_MICROVERSION;
  setVersionHeaders(res, MIN_MICROVERSION);
  if (requested === undefined || requested === '') return next();
  if (requested === 'latest') {
    req.mv = MAX_MICROVERSION;
  } else {
    const parsed = Microversion.parse(requested);
    if (!parsed) throw new HttpError(400, `invalid version string: ${requested}`);
    if (parsed.compare(MIN_MICROVERSION) < 0 || parsed.compare(MAX_MICROVERSION) > 0) {
      throw new HttpError(406, `Unacceptable version header: ${requested}`);
    }
    req.mv = parsed;
  }
  setVersionHeaders(res, req.mv);
  next();
}

function setVersionHeaders(res: Response, version: Microversion): void {
  res.setHeader('openstack-api-version', `${SERVICE_TYPE} ${version}`);
  res.setHeader('x-openstack-placement-api-version', `${version}`);
}

/**
 * The value for our service, from whichever header carries it; other services' entries are ignored.
 * The service name is case-insensitive, the version is not: Placement takes only lower-case `latest`
 * (`LATEST` is an invalid version string, 400).
 */
function requestedVersion(req: Request): string | undefined {
  const modern = req.headers['openstack-api-version'];
  if (typeof modern === 'string') {
    for (const entry of modern.split(',')) {
      const [service, ...rest] = entry.trim().split(/\s+/);
      if (service.toLowerCase() === SERVICE_TYPE) return rest.join(' ').trim();
    }
  }
  const legacy = req.headers['x-openstack-placement-api-version'];
  return typeof legacy === 'string' ? legacy.trim() : undefined;
}
