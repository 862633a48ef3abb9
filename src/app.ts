import express, { type Express, type NextFunction, type Request, type Response } from 'express';
import { accessLog } from './http/access-log';
import { noAuth } from './http/auth';
import { cors } from './http/cors';
import type { Deps } from './http/context';
import { renderError } from './http/error-renderer';
import { readBody } from './http/json-body';
import { negotiateMicroversion } from './http/microversion';
import { inConnectionOrder } from './http/pipeline';
import { checkQuery, parseQuery } from './http/query';
import { requestId } from './http/request-id';
import { dispatcher, publicPaths } from './http/route-table';
import { enforcerFromConfig } from './policy/enforcer';
import { collectProcessMetrics, instrumentDatabase } from './metrics/metrics';
import { httpMetrics } from './metrics/http-metrics';
import { ROUTES } from './routes';

/** What createApp needs; the policy enforcer is built from config unless given. */
export type AppDeps = Omit<Deps, 'policy'> & Partial<Pick<Deps, 'policy'>>;

/**
 * Build the HTTP application from explicit dependencies. It does not listen: callers choose the port.
 * Throws ConfigError for an unreadable or invalid policy file, so a bad file stops the start.
 */
export function createApp(appDeps: AppDeps): Express {
  const deps: Deps = { ...appDeps, policy: appDeps.policy ?? enforcerFromConfig(appDeps.config) };
  const app = express();
  app.disable('x-powered-by');
  app.disable('etag');
  app.set('query parser', parseQuery);
  app.use(inConnectionOrder);
  app.use((req: Request, _res: Response, next: NextFunction) => {
    req.deps = deps;
    next();
  });
  collectProcessMetrics();
  instrumentDatabase(deps.db);
  app.use(requestId);
  app.use(httpMetrics);
  app.use(accessLog);
  app.use(
    cors({
      allowedOrigins: deps.config.corsAllowedOrigins,
      allowHeaders: deps.config.corsAllowHeaders,
      exposeHeaders: deps.config.corsExposeHeaders,
    }),
  );
  app.use(negotiateMicroversion);
  app.use(checkQuery(deps.config.maxQueryParameters));
  // PUBLIC routes (src/routes.ts) need no token: the root, health, the capacity page's files (they hold no data).
  app.use(noAuth(publicPaths(ROUTES)));
  app.use(readBody(deps.config.bodyLimitBytes));
  app.use(dispatcher(ROUTES));
  app.use(renderError);
  return app;
}
