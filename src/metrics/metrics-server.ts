import http, { type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface MetricsSource {
  text(): Promise<string>;
  contentType: string;
}

/**
 * EMPLACE_METRICS_LISTEN: a listener of its own that serves GET /metrics without authentication
 * (bind it where only Prometheus reaches it) and nothing else.
 */
export async function startMetricsServer(host: string, port: number, source: MetricsSource): Promise<Server> {
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '').split('?')[0];
    if (path !== '/metrics' || (req.method !== 'GET' && req.method !== 'HEAD')) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
      return;
    }
    source.text().then(
      (text) => res.writeHead(200, { 'content-type': source.contentType }).end(req.method === 'HEAD' ? '' : text),
      (error: Error) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`${error.message}\n`),
    );
  });
  // Scrapes are short; a client that never finishes its request must not hold a socket forever.
  server.requestTimeout = 10_000;
  server.headersTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return server;
}

export function boundPort(server: Server): number {
  return (server.address() as AddressInfo).port;
}
