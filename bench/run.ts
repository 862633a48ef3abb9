import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { startEmbeddedPostgres, type EmbeddedServer } from '../src/db/embedded';
import { runCandidatesBench } from './candidates';
import { runClaimsBench } from './claims';
import { runNovaBench } from './nova';
import { freePort } from './support';

/**
 * `npm run bench` runs issue 14's nova-shaped bench at 1k and 10k hosts (`-- --with-100k` adds the
 * SEV limit=10 query at 100k; `-- --nova-sizes=1000` picks sizes; `-- --workers=N` sets EMPLACE_WORKERS
 * for the service, which runs as its own process). `-- --matrix [--sizes=...]` (or
 * BENCH_SIZES=...) runs the older query x limit matrix and the SEV claims race instead. Uses
 * DATABASE_URL's server when set (scratch databases there), otherwise a throwaway embedded PostgreSQL.
 */
async function main(): Promise<void> {
  const sizes = parseSizes();
  let server: EmbeddedServer | undefined;
  let dataDir: string | undefined;
  let adminUrl = process.env.DATABASE_URL;
  if (!adminUrl) {
    dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'emplace-bench-pg-'));
    server = await startEmbeddedPostgres({ dataDir: path.join(dataDir, 'data'), port: await freePort(), fast: true });
    adminUrl = server.url();
  }
  console.log(
    `# Emplace bench: ${os.cpus().length} x ${os.cpus()[0]?.model ?? 'cpu'}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, node ${process.version}`,
  );
  try {
    const explainOnly = process.argv.includes('--explain');
    if (explainOnly || process.argv.includes('--matrix')) {
      await runCandidatesBench(adminUrl, sizes, { explainOnly });
      if (!explainOnly) await runClaimsBench(adminUrl);
    } else {
      const workers = process.argv.find((a) => a.startsWith('--workers='))?.slice('--workers='.length);
      await runNovaBench(adminUrl, novaSizes(), { workers: workers ? Number(workers) : undefined });
    }
  } finally {
    await server?.stop();
    if (dataDir) await fs.rm(dataDir, { recursive: true, force: true });
  }
}

function novaSizes(): number[] {
  const arg = process.argv.find((a) => a.startsWith('--nova-sizes='))?.slice('--nova-sizes='.length) ?? '1000,10000';
  const sizes = arg
    .split(',')
    .map(Number)
    .filter((n) => Number.isInteger(n) && n > 0);
  return process.argv.includes('--with-100k') ? [...sizes, 100000] : sizes;
}

function parseSizes(): number[] {
  const arg =
    process.argv.find((a) => a.startsWith('--sizes='))?.slice('--sizes='.length) ??
    process.env.BENCH_SIZES ??
    '1000,10000,100000';
  return arg
    .split(',')
    .map((s) => Number(s.trim()))
    .filter((n) => Number.isInteger(n) && n > 0);
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
