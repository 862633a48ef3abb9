// Closed-loop HTTP load for docs/operations.md's figures: `node scripts/http-load.mjs URL [concurrency] [seconds]`.
// Each of `concurrency` loops sends the next GET as soon as the last answered (keep-alive, admin token).
import http from 'node:http';

const [url, concurrency = '32', seconds = '10'] = process.argv.slice(2);
if (!url) {
  console.error('usage: node scripts/http-load.mjs URL [concurrency] [seconds]');
  process.exit(2);
}
const agent = new http.Agent({ keepAlive: true, maxSockets: Number(concurrency) });
const headers = { 'x-auth-token': 'admin', 'openstack-api-version': 'placement 1.39', accept: 'application/json' };
const deadline = Date.now() + Number(seconds) * 1000;
const latencies = [];
let errors = 0;

function once() {
  return new Promise((resolve) => {
    const started = process.hrtime.bigint();
    http
      .get(url, { agent, headers }, (res) => {
        res.resume();
        res.on('end', () => {
          if (res.statusCode === 200) latencies.push(Number(process.hrtime.bigint() - started) / 1e6);
          else errors++;
          resolve();
        });
      })
      .on('error', () => {
        errors++;
        resolve();
      });
  });
}

async function loop() {
  while (Date.now() < deadline) await once();
}

await Promise.all(Array.from({ length: Number(concurrency) }, loop));
latencies.sort((a, b) => a - b);
const pct = (p) => latencies[Math.min(latencies.length - 1, Math.floor((latencies.length * p) / 100))]?.toFixed(1);
console.log(
  JSON.stringify({
    url,
    concurrency: Number(concurrency),
    seconds: Number(seconds),
    requestsPerSecond: Math.round(latencies.length / Number(seconds)),
    errors,
    p50ms: pct(50),
    p99ms: pct(99),
  }),
);
agent.destroy();
