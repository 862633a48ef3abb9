import type { Request, Response } from 'express';
import { HttpError } from '../errors/http-error';
import { METRICS_CONTENT_TYPE, metricsText } from './exposition';

/**
 * GET /metrics on the API port (policy emplace:metrics:show). With EMPLACE_METRICS_LISTEN set the
 * metrics are served there instead and this path is not found, so they are exposed in one place only.
 */
export async function showMetrics(req: Request, res: Response): Promise<void> {
  if (req.deps.config.metricsListen) throw new HttpError(404, 'The resource could not be found.');
  const text = await metricsText();
  res.statusCode = 200;
  res.setHeader('content-type', METRICS_CONTENT_TYPE);
  res.end(text);
}
