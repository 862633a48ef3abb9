import type { Server } from 'node:http';
import { createApp } from './app';
import { checkNoauthExposure, strategyFromConfig } from './auth/select';
import { isWorker, joinCluster, onPrimaryGone, runPrimary, runsCluster } from './cluster';
import { ConfigError, loadConfig } from './config';
import { openDatabase } from './db/database';
import { answerClientErrors } from './http/client-error';
import { createListener } from './http/listener';
import type { ServicePhase } from './http/context';
import { answerWhileStarting } from './http/starting';
import { createLogger } from './logger';
import { enforcerFromConfig } from './policy/enforcer';
import { ReadModel } from './read-model/read-model';
import { describeStart, exitWithin, listen, startOwnMetricsListener } from './startup';

/**
 * Listen first (a busy port is one line, before any database starts; probes see "starting"), then
 * open the database and hand the port to the app. SIGTERM/SIGINT drain and stop within
 * EMPLACE_SHUTDOWN_TIMEOUT_MS whatever the database does.
 */
async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger(config);
  // Before the database starts: a bad policy file stops the start with nothing to clean up.
  const policy = enforcerFromConfig(config);
  checkNoauthExposure(config, logger);
  // EMPLACE_WORKERS > 1: this process forks the servers (src/cluster.ts); they run the code below.
  if (runsCluster(config)) return runPrimary(config, logger);
  if (isWorker()) joinCluster();
  let phase: ServicePhase = 'starting';
  const authStrategy = strategyFromConfig(config, logger);
  // HTTP, or HTTPS with EMPLACE_TLS_CERT_FILE/_KEY_FILE (src/http/listener.ts).
  const listener = createListener(config);
  const { server } = listener;
  let handler: (
    req: Parameters<typeof answerWhileStarting>[0],
    res: Parameters<typeof answerWhileStarting>[1],
  ) => void = answerWhileStarting;
  server.on('request', (req, res) => handler(req, res));
  answerClientErrors(server, config);
  await listen(server, config);
  // A worker's metrics are served by the primary's listener.
  const metricsServer = isWorker() ? undefined : await startOwnMetricsListener(config);
  let stopping = false;
  // Started before the signal handlers need it: a SIGTERM while the database is still starting waits
  // for it (within the shutdown bound) and stops it, rather than leaving an embedded server behind.
  // A worker's primary has migrated already.
  const opening = openDatabase(
    config,
    (line, level = 'debug') => logger[level]({ postgres: line }, 'embedded postgres'),
    isWorker() ? 'none' : undefined,
  );
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    phase = 'draining';
    exitWithin(config, logger);
    logger.info({ signal }, 'shutting down: finishing in-flight requests');
    metricsServer?.close();
    await drain(server, config.shutdownTimeoutMs / 2);
    const database = await opening.catch(() => undefined);
    await database?.close().catch((error: unknown) => logger.warn({ err: error }, 'closing the database failed'));
    logger.info('stopped');
    process.exit(0);
  };
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  if (isWorker()) onPrimaryGone((reason) => void shutdown(reason));
  process.on('SIGHUP', () => {
    try {
      listener.reloadTls();
    } catch (error) {
      logger.error({ err: (error as Error).message }, 'SIGHUP: TLS certificate not reloaded; keeping the old one');
    }
    (authStrategy.reload?.() ?? Promise.resolve()).then(
      () => logger.info({ authStrategy: authStrategy.name }, 'SIGHUP: reloaded'),
      (error: unknown) =>
        logger.error({ err: (error as Error).message }, 'SIGHUP: reload failed; keeping the old state'),
    );
  });

  const database = await opening;
  if (stopping) return;
  const readModel = new ReadModel(database.db);
  const app = createApp({ db: database.db, config, logger, policy, authStrategy, readModel, phase: () => phase });
  handler = app;
  phase = 'serving';
  // Load the read model now rather than on the first candidates request (seconds at 100k hosts); until it
  // is in, that request waits for it. A failure here is retried by the next read.
  const warming = performance.now();
  readModel.current().then(
    (view) =>
      logger.info({ providers: view.providers.size, ms: Math.round(performance.now() - warming) }, 'read model loaded'),
    (error: Error) => logger.warn({ err: error.message }, 'read model not loaded yet; the next read retries'),
  );
  if (!isWorker()) logger.info(await describeStart(config, database), 'emplace listening');
}

/** Stop accepting, let in-flight requests finish (up to `withinMs`), then drop every connection. */
async function drain(server: Server, withinMs: number): Promise<void> {
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeIdleConnections();
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<void>((resolve) => (timer = setTimeout(resolve, withinMs)));
  await Promise.race([closed, late]);
  clearTimeout(timer);
  server.closeAllConnections();
}

main().catch((error: unknown) => {
  const message = error instanceof ConfigError ? error.message : ((error as Error)?.stack ?? String(error));
  console.error(`emplace failed to start: ${message}`);
  process.exit(1);
});
