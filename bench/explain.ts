import type { BenchQuery } from './candidates';

const HEADERS = { 'openstack-api-version': 'placement 1.39', 'x-auth-token': 'admin', accept: 'application/json' };

/**
 * `--explain`: every bench query at limit 10 and 1000, GET /allocation_candidates against
 * GET /emplace/explain/allocation_candidates for the same query string, sequentially over HTTP (p50 of
 * `runs` after a warm-up). The explain view counts every provider and tree, so it follows the cloud's
 * size while the limited query stops early: the ratio is what this measures.
 */
export async function compareExplainView(
  baseUrl: string,
  hosts: number,
  queries: BenchQuery[],
  limits: number[],
  runs = 30,
): Promise<void> {
  console.log(
    `\n## explain view vs the query, ${hosts} hosts (p50 of ${runs}, ms)\n\n| query | limit | query | explain | ratio |\n|---|---|---|---|---|`,
  );
  for (const { name, query } of queries) {
    for (const limit of limits) {
      const q = `${query}&limit=${limit}`;
      const real = await p50(`${baseUrl}/allocation_candidates?${q}`, runs);
      const explained = await p50(`${baseUrl}/emplace/explain/allocation_candidates?${q}`, runs);
      console.log(
        `| ${name} | ${limit} | ${real.toFixed(1)} | ${explained.toFixed(1)} | ${(explained / real).toFixed(2)} |`,
      );
    }
  }
}

async function p50(url: string, runs: number): Promise<number> {
  const send = async () => {
    const response = await fetch(url, { headers: HEADERS });
    const body = await response.text();
    if (response.status !== 200) throw new Error(`${url}: HTTP ${response.status} ${body}`);
  };
  await send();
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    await send();
    times.push(performance.now() - start);
  }
  return times.sort((a, b) => a - b)[Math.floor(runs / 2)];
}
