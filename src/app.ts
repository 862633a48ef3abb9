import express, { type Express, type NextFunction, type Request, type Response } from 'express';
import { accessLog } from './http/access-log';
import { noAuth } from './http/auth';
import { cors } from './http/cors';
import type { Deps } from './http/context';
import { renderError } from './http/error-renderer';
import { readBody } from './http/json-body';
import { negotiateMicroversion } from './http/microversion';
import { requestId } from './http/request-id';
import { dispatcher } from './http/route-table';
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
  app.set('query parser', 'simple');
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
  // The capacity page's files are PUBLIC routes (src/routes.ts): they hold no data, its data calls need a token.
  app.use((req: Request, res: Response, next: NextFunction) =>
    req.path === '/emplace/ui' || req.path.startsWith('/emplace/ui/') ? next() : noAuth(req, res, next),
  );
  app.use(readBody(deps.config.bodyLimitBytes));
  app.use(dispatcher(ROUTES));
  app.use(renderError);
  return app;
}
