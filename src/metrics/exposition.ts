import cluster from 'node:cluster';
import { AggregatorRegistry } from 'prom-client';
import { registry } from './metrics';

const REQUEST = 'emplace:metrics-request';
const REPLY = 'emplace:metrics-reply';
/** A scrape should not hang on a worker that stopped answering: prom-client's own wait is 5 s. */
const WORKER_REPLY_TIMEOUT_MS = 6000;

interface MetricsMessage {
  type?: string;
  id?: number;
  text?: string;
  error?: string;
}

/** The Prometheus text for this process, or in a cluster worker, for all workers (summed by the primary). */
export async function metricsText(): Promise<string> {
  if (cluster.isWorker && process.send) return askPrimary();
  return registry.metrics();
}

export const METRICS_CONTENT_TYPE = registry.contentType;

let nextId = 0;
function askPrimary(): Promise<string> {
  const id = ++nextId;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      process.off('message', onMessage);
      reject(new Error('the cluster primary did not send metrics in time'));
    }, WORKER_REPLY_TIMEOUT_MS);
    const onMessage = (message: MetricsMessage) => {
      if (message?.type !== REPLY || message.id !== id) return;
      clearTimeout(timer);
      process.off('message', onMessage);
      if (message.error !== undefined) reject(new Error(message.error));
      else resolve(message.text ?? '');
    };
    process.on('message', onMessage);
    process.send?.({ type: REQUEST, id });
  });
}

/** In a worker: let prom-client's aggregator read this process's registry when the primary asks. */
export function shareWorkerMetrics(): void {
  AggregatorRegistry.setRegistries([registry]);
  // prom-client answers the primary's requests once an aggregator exists in the process.
  new AggregatorRegistry();
}

/**
 * In the primary: one aggregator over all workers. Answers workers that ask (a scrape on the API port)
 * and serves the metrics listener. Counters and histograms are summed across workers; gauges too,
 * except prom-client's per-process defaults, which it aggregates as it documents.
 */
export function primaryMetrics(): { text(): Promise<string>; contentType: string } {
  const aggregator = new AggregatorRegistry();
  cluster.on('message', (worker, message: MetricsMessage) => {
    if (message?.type !== REQUEST) return;
    aggregator.clusterMetrics().then(
      (text) => worker.send({ type: REPLY, id: message.id, text }),
      (error: Error) => worker.send({ type: REPLY, id: message.id, error: error.message }),
    );
  });
  return { text: () => aggregator.clusterMetrics(), contentType: aggregator.contentType };
}
