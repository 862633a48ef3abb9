import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { staticToken } from '../../src/agent/auth';
import { PlacementClient } from '../../src/agent/client';
import { exchange } from '../../src/agent/transport';

/** A throwaway CA and a server certificate for 127.0.0.1, made with openssl for this run only. */
function makeCa(dir: string): { ca: string; key: string; cert: string } {
  const run = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  run('ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', 'ca.key');
  run('req', '-x509', '-new', '-key', 'ca.key', '-subj', '/CN=emplace test CA', '-days', '1', '-out', 'ca.pem');
  run('ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', 'server.key');
  run('req', '-new', '-key', 'server.key', '-subj', '/CN=127.0.0.1', '-out', 'server.csr');
  writeFileSync(path.join(dir, 'ext.cnf'), 'subjectAltName=IP:127.0.0.1\n');
  run(
    'x509',
    '-req',
    '-in',
    'server.csr',
    '-CA',
    'ca.pem',
    '-CAkey',
    'ca.key',
    '-CAcreateserial',
    '-days',
    '1',
    '-extfile',
    'ext.cnf',
    '-out',
    'server.pem',
  );
  const read = (f: string) => readFileSync(path.join(dir, f), 'utf8');
  return { ca: read('ca.pem'), key: read('server.key'), cert: read('server.pem') };
}

let dir: string;
let server: Server;
let url: string;
let pki: ReturnType<typeof makeCa>;

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'agent-tls-'));
  pki = makeCa(dir);
  writeFileSync(path.join(dir, 'ca-only.pem'), pki.ca);
  server = createServer({ key: pki.key, cert: pki.cert }, (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end('{"versions":[]}');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  rmSync(dir, { recursive: true, force: true });
});

describe('HTTPS with --ca-file', () => {
  it('trusts a server signed by the given CA', async () => {
    const answer = await exchange({ method: 'GET', url, headers: {}, timeoutMs: 5000, ca: pki.ca });
    expect(answer.status).toBe(200);
  });

  it('refuses the same server without the CA', async () => {
    await expect(exchange({ method: 'GET', url, headers: {}, timeoutMs: 5000 })).rejects.toThrow(
      /self-signed|unable to verify|local issuer/i,
    );
  });

  it('the Placement client reads the CA file and speaks HTTPS with it', async () => {
    const client = new PlacementClient({
      url,
      tokens: staticToken('t'),
      caFile: path.join(dir, 'ca-only.pem'),
      retries: 0,
      backoffBaseMs: 1,
      backoffCapMs: 1,
      timeoutMs: 5000,
    });
    expect(await client.request('GET', '/')).toMatchObject({ status: 200, body: { versions: [] } });
  });

  it('times out a server that never answers', async () => {
    const silent = createServer({ key: pki.key, cert: pki.cert }, () => undefined);
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const port = (silent.address() as AddressInfo).port;
    try {
      await expect(
        exchange({ method: 'GET', url: `https://127.0.0.1:${port}/`, headers: {}, timeoutMs: 300, ca: pki.ca }),
      ).rejects.toThrow(/no answer within 300 ms/);
    } finally {
      silent.closeAllConnections();
      await new Promise((resolve) => silent.close(resolve));
    }
  });
});
