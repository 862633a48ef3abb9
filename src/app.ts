import express, { type Express, type NextFunction, type Request, type Response } from 'express';
import { accessLog } from './http/access-log';
import { strategyFromConfig } from './auth/select';
import { authenticate } from './http/auth';
import { cors } from './http/cors';
import type { Deps } from './http/context';
import { renderError } from './http/error-renderer';
import { readBody } from './http/json-body';
import { negotiateMicroversion } from './http/microversion';
import { honourForwarded, stripPathPrefix } from './http/proxy';
import { inConnectionOrder } from './http/pipeline';
import { checkQuery, parseQuery } from './http/query';
import { requestId } from './http/request-id';
import { dispatcher } from './http/route-table';
import { enforcerFromConfig } from './policy/enforcer';
import { collectProcessMetrics, instrumentDatabase } from './metrics/metrics';
import { httpMetrics } from './metrics/http-metrics';
import { ROUTES } from './routes';
import { ReadModel } from './read-model/read-model';

/** What createApp needs; the policy enforcer is built from config unless given. */
export type AppDeps = Omit<Deps, 'policy' | 'authStrategy' | 'readModel'> &
  Partial<Pick<Deps, 'policy' | 'authStrategy' | 'readModel'>>;

/**
 * Build the HTTP application from explicit dependencies. It does not listen: callers choose the port.
 * Throws ConfigError for an unreadable or invalid policy file, so a bad file stops the start.
 */
export function createApp(appDeps: AppDeps): Express {
  const deps: Deps = {
    ...appDeps,
    policy: appDeps.policy ?? enforcerFromConfig(appDeps.config),
    authStrategy: appDeps.authStrategy ?? strategyFromConfig(appDeps.config, appDeps.logger),
    readModel: appDeps.readModel ?? new ReadModel(appDeps.db),
  };
  const app = express();
  app.disable('x-powered-by');
  app.disable('etag');
  app.set('query parser', parseQuery);
  // X-Forwarded-Proto/-Host/-For (and Forwarded) count only from the proxies named in EMPLACE_TRUSTED_PROXIES.
  app.set('trust proxy', deps.config.identity.trustedProxies.length ? deps.config.identity.trustedProxies : false);
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
  app.use(honourForwarded);
  app.use(stripPathPrefix(deps.config.identity.pathPrefix));
  app.use(
    cors({
      allowedOrigins: deps.config.corsAllowedOrigins,
      allowHeaders: deps.config.corsAllowHeaders,
      exposeHeaders: deps.config.corsExposeHeaders,
    }),
  );
  app.use(negotiateMicroversion);
  app.use(checkQuery(deps.config.maxQueryParameters));
  // PUBLIC routes (version discovery, health, the capacity page's files) pass without a token.
  app.use(authenticate(deps.authStrategy, ROUTES, deps.config));
  app.use(readBody(deps.config.bodyLimitBytes));
  app.use(dispatcher(ROUTES));
  app.use(renderError);
  return app;
}
