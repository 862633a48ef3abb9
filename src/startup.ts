import type { Server } from 'node:http';
import type { Logger } from 'pino';
import { ConfigError, type Config } from './config';
import type { Database } from './db/database';
import { migrationStatus } from './db/migrate';
import { startLineFields } from './logger';
import { METRICS_CONTENT_TYPE } from './metrics/exposition';
import { registry } from './metrics/metrics';
import { startMetricsServer, type MetricsSource } from './metrics/metrics-server';
import { serviceVersion } from './service-version';

/** The start line's fields: version, listen address, database (password masked), schema state. */
export async function describeStart(
  config: Config,
  database: Database,
  workers?: number,
): Promise<Record<string, unknown>> {
  const status = await migrationStatus(database.db);
  return startLineFields({
    version: serviceVersion(),
    listen: `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${config.port}`,
    database: { embedded: database.embedded, url: database.url },
    migrations: {
      applied: status.applied.length,
      appliedNow: database.migrated,
      pending: status.pending.length,
      latest: status.applied.at(-1),
    },
    workers,
  });
}

/** EMPLACE_METRICS_LISTEN's listener, when set; `source` defaults to this process's registry. */
export async function startOwnMetricsListener(
  config: Config,
  source: MetricsSource = { text: () => registry.metrics(), contentType: METRICS_CONTENT_TYPE },
): Promise<Server | undefined> {
  if (!config.metricsListen) return undefined;
  return startMetricsServer(config.metricsListen.host, config.metricsListen.port, source);
}

/** Listen on the API address; a busy or impossible address is one line (a ConfigError), not a stack trace. */
export async function listen(server: Server, config: Config): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', (error: NodeJS.ErrnoException) => {
      const where = `${config.host}:${config.port}`;
      if (error.code === 'EADDRINUSE')
        reject(new ConfigError(`cannot listen on ${where}: the address is in use (set EMPLACE_PORT or EMPLACE_HOST)`));
      else if (error.code === 'EACCES') reject(new ConfigError(`cannot listen on ${where}: permission denied`));
      else if (error.code === 'EADDRNOTAVAIL')
        reject(new ConfigError(`cannot listen on ${where}: no such local address (EMPLACE_HOST)`));
      else reject(error);
    });
    server.listen(config.port, config.host);
  });
}

/** The hard bound on a stop (EMPLACE_SHUTDOWN_TIMEOUT_MS): exit 1 then, whatever workers, clients or the database do. */
export function exitWithin(config: Config, logger: Logger): void {
  const deadline = setTimeout(() => {
    logger.error({ timeoutMs: config.shutdownTimeoutMs }, 'shutdown took too long: exiting now');
    process.exit(1);
  }, config.shutdownTimeoutMs);
  deadline.unref();
}
