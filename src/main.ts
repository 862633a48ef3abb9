import { createApp } from './app';
import { checkNoauthExposure, strategyFromConfig } from './auth/select';
import { isWorker, joinCluster, onPrimaryGone, runPrimary, runsCluster } from './cluster';
import { ConfigError, loadConfig } from './config';
import { openDatabase } from './db/database';
import { answerClientErrors } from './http/client-error';
import { createListener } from './http/listener';
import { createLogger } from './logger';
import { enforcerFromConfig } from './policy/enforcer';
import { describeStart, startOwnMetricsListener } from './startup';

async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger(config);
  // Before the database starts: a bad policy file stops the start with nothing to clean up.
  const policy = enforcerFromConfig(config);
  checkNoauthExposure(config, logger);
  // EMPLACE_WORKERS > 1: this process forks the servers (src/cluster.ts); they run the code below.
  if (runsCluster(config)) return runPrimary(config, logger);
  if (isWorker()) joinCluster();
  const authStrategy = strategyFromConfig(config, logger);
  const listener = createListener(config);
  const { server } = listener;
  const database = await openDatabase(
    config,
    (line) => logger.debug({ postgres: line }, 'embedded postgres'),
    isWorker() ? 'none' : undefined,
  );
  const app = createApp({ db: database.db, config, logger, policy, authStrategy });
  server.on('request', app);
  server.listen(config.port, config.host);
  answerClientErrors(server);
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  });
  // A worker's metrics are served by the primary's listener.
  const metricsServer = isWorker() ? undefined : await startOwnMetricsListener(config);
  if (!isWorker()) logger.info(await describeStart(config, database), 'emplace listening');

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down: finishing in-flight requests');
    // Stop accepting, let in-flight requests finish, then drop idle keep-alive connections.
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeIdleConnections();
    metricsServer?.close();
    await closed;
    await database.close();
    logger.info('stopped');
    process.exit(0);
  };
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
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
  if (isWorker()) onPrimaryGone((reason) => void shutdown(reason));
}

main().catch((error: unknown) => {
  const message = error instanceof ConfigError ? error.message : ((error as Error)?.stack ?? String(error));
  console.error(`emplace failed to start: ${message}`);
  process.exit(1);
});
