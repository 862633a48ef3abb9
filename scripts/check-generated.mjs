// CI guard: the committed api/generated types must match what openapi.yaml generates now.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const committed = 'api/generated/placement.ts';
const fresh = join(mkdtempSync(join(tmpdir(), 'emplace-api-')), 'placement.ts');
execFileSync('npx', ['openapi-typescript', 'openapi.yaml', '-o', fresh], { stdio: ['ignore', 'ignore', 'inherit'] });
if (readFileSync(fresh, 'utf8') !== readFileSync(committed, 'utf8')) {
  console.error(`${committed} is stale: run \`npm run gen:api\` and commit the result.`);
  process.exit(1);
}
console.log(`${committed} is up to date with openapi.yaml`);
