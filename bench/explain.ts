import type { BenchQuery } from './candidates';
import { request } from './support';

const HEADERS = { 'openstack-api-version': 'placement 1.39', 'x-auth-token': 'admin', accept: 'application/json' };

/**
 * `--explain`: every bench query at limit 10 and 1000, GET /allocation_candidates against
 * GET /emplace/explain/allocation_candidates for the same query string, sequentially over HTTP (p50 of
 * `runs` after a warm-up), and the first explain of each query string alone. The first explain of a request
 * shape counts every tree; later ones recount only the trees changed since (src/candidates/explain-tally.ts).
 */
export async function compareExplainView(
  baseUrl: string,
  hosts: number,
  queries: BenchQuery[],
  limits: number[],
  runs = 30,
): Promise<void> {
  console.log(
    `\n## explain view vs the query, ${hosts} hosts (p50 of ${runs}, ms)\n\n| query | limit | query | explain | ratio | first explain |\n|---|---|---|---|---|---|`,
  );
  for (const { name, query } of queries) {
    for (const limit of limits) {
      const q = `${query}&limit=${limit}`;
      const real = await p50(baseUrl, `/allocation_candidates?${q}`, runs);
      // The first explain of a query counts every tree; later ones recount only trees changed since.
      const firstStart = performance.now();
      await send(baseUrl, `/emplace/explain/allocation_candidates?${q}`);
      const first = performance.now() - firstStart;
      const explained = await p50(baseUrl, `/emplace/explain/allocation_candidates?${q}`, runs);
      console.log(
        `| ${name} | ${limit} | ${real.toFixed(1)} | ${explained.toFixed(1)} | ${(explained / real).toFixed(2)} | ${first.toFixed(1)} |`,
      );
    }
  }
}

async function send(baseUrl: string, path: string): Promise<void> {
  const response = await request(baseUrl, path, { headers: HEADERS });
  if (response.status !== 200) throw new Error(`${path}: HTTP ${response.status} ${response.text}`);
}

async function p50(baseUrl: string, path: string, runs: number): Promise<number> {
  for (let i = 0; i < 5; i++) await send(baseUrl, path);
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    await send(baseUrl, path);
    times.push(performance.now() - start);
  }
  return times.sort((a, b) => a - b)[Math.floor(runs / 2)];
}
