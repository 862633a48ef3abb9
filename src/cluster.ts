import cluster, { type Worker } from 'node:cluster';
import { createServer, type Server } from 'node:http';
import type { Logger } from 'pino';
import type { Config } from './config';
import { openDatabase } from './db/database';
import { primaryMetrics, shareWorkerMetrics } from './metrics/exposition';
import { describeStart, exitWithin, listen, startOwnMetricsListener } from './startup';

/** A crashed worker is replaced after this pause, so a crash loop cannot spin the CPU. */
const RESTART_DELAY_MS = 1000;

/** EMPLACE_WORKERS > 1 and this is the process the operator started: become the cluster's primary. */
export function runsCluster(config: Config): boolean {
  return cluster.isPrimary && config.workers > 1;
}

/** In a worker: the primary migrated already, and aggregates this worker's metrics. */
export function isWorker(): boolean {
  return cluster.isWorker;
}

/**
 * In a worker, first thing: answer the primary's metrics requests (a scrape sums every connected
 * worker, one still starting included, and would time out on one that does not answer).
 */
export function joinCluster(): void {
  shareWorkerMetrics();
}

/** In a worker: stop when the primary is gone, rather than serve on unsupervised. */
export function onPrimaryGone(stop: (reason: string) => void): void {
  process.on('disconnect', () => stop('primary gone'));
}

/**
 * The primary: start the embedded PostgreSQL (when DATABASE_URL is unset) and migrate once, then fork
 * `config.workers` servers that share the port, each with its own pool. Replaces a worker that exits,
 * forwards SIGTERM/SIGINT for a graceful stop, and serves EMPLACE_METRICS_LISTEN summed over workers.
 */
export async function runPrimary(config: Config, logger: Logger): Promise<void> {
  // A busy port is one line before any database starts, as in a single process: probe it here, since
  // the workers' shared listener is only made when the first of them listens.
  const probe = createServer();
  await listen(probe, config);
  await new Promise((resolve) => probe.close(resolve));
  const database = await openDatabase(config, (line, level = 'debug') =>
    logger[level]({ postgres: line }, 'embedded postgres'),
  );
  const metrics = primaryMetrics();
  const metricsServer = await startOwnMetricsListener(config, metrics);
  // Workers reach the same database, the embedded one included, and skip migrating.
  const fork = () => cluster.fork({ DATABASE_URL: database.url });
  let stopping = false;
  let everListened = false;

  cluster.on('listening', (worker: Worker) => {
    logger.info({ worker: worker.process.pid }, 'worker listening');
    if (everListened) return;
    everListened = true;
    void describeStart(config, database, config.workers).then((fields) => logger.info(fields, 'emplace listening'));
  });
  cluster.on('exit', (worker: Worker, code: number | null, signal: string | null) => {
    if (stopping) return;
    logger.error({ worker: worker.process.pid, code, signal }, 'worker exited; starting another');
    // A worker that could never listen (port taken, bad config) would fail the same way again.
    if (!everListened) return void stop('no worker could start', 1);
    setTimeout(() => stopping || fork(), RESTART_DELAY_MS).unref();
  });

  const stop = async (reason: string, exitCode = 0) => {
    if (stopping) return;
    stopping = true;
    // The same hard bound as a single process.
    exitWithin(config, logger);
    logger.info({ reason }, 'shutting down: stopping workers');
    // Workers get most of the bound to drain (their own bound is the same); the rest is for the database.
    await stopWorkers(reason === 'SIGINT' ? 'SIGINT' : 'SIGTERM', config.shutdownTimeoutMs * 0.7);
    await closeServer(metricsServer);
    await database.close();
    logger.info('stopped');
    process.exit(exitCode);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
  // SIGHUP reloads tokens and the TLS certificate in each worker (src/main.ts); the primary only passes it on.
  process.on('SIGHUP', () => {
    for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill('SIGHUP');
  });
  for (let i = 0; i < config.workers; i++) fork();
}

/** Signal every worker, wait for all to exit, kill the ones still running after the grace period. */
async function stopWorkers(signal: NodeJS.Signals, graceMs: number): Promise<void> {
  const workers = Object.values(cluster.workers ?? {}).filter((w): w is Worker => w !== undefined);
  const exited = workers.map((w) => new Promise<void>((resolve) => (w.isDead() ? resolve() : w.once('exit', resolve))));
  for (const worker of workers) worker.process.kill(signal);
  const timer = setTimeout(() => workers.forEach((w) => w.isDead() || w.process.kill('SIGKILL')), graceMs);
  await Promise.all(exited);
  clearTimeout(timer);
}

function closeServer(server: Server | undefined): Promise<void> {
  return new Promise((resolve) => (server ? server.close(() => resolve()) : resolve()));
}
