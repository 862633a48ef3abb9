import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { identityFrom } from '../../src/auth/keystone';
import { createToken, hashSecret, readTokenFile, secretId, verifySecret } from '../../src/auth/token-file';

describe('API token file', () => {
  it('stores a salted scrypt hash that verifies its secret and nothing else', async () => {
    const a = await hashSecret('emp_0123456789abcdef_x');
    const b = await hashSecret('emp_0123456789abcdef_x');
    expect(a).toMatch(/^scrypt\$16384\$8\$1\$/);
    expect(a).not.toBe(b);
    await expect(verifySecret('emp_0123456789abcdef_x', a)).resolves.toBe(true);
    await expect(verifySecret('emp_0123456789abcdef_y', a)).resolves.toBe(false);
    await expect(verifySecret('x', 'md5$abc')).resolves.toBe(false);
  });

  it('appends one line per token, refuses a second token of the same name, and finds a secret by its id', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'emplace-tokens-'));
    const file = path.join(dir, 'tokens');
    try {
      const { entry, secret } = await createToken(file, {
        name: 'agent-host42',
        user: 'agent-host42',
        roles: ['service'],
      });
      expect(secretId(secret)).toBe(entry.id);
      await expect(createToken(file, { name: 'agent-host42', user: 'x', roles: [] })).rejects.toThrow(/already/);
      const entries = await readTokenFile(file);
      expect([...entries.keys()]).toEqual([entry.id]);
      await fs.appendFile(file, 'not json\n');
      await expect(readTokenFile(file)).rejects.toThrow(/:2: not a JSON object/);
      await expect(readTokenFile(path.join(dir, 'missing'))).resolves.toEqual(new Map());
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });
});

describe('Keystone token answers', () => {
  it('take user, project, domains, roles and system scope', () => {
    const body = {
      token: {
        expires_at: '2030-01-01T00:00:00.000000Z',
        user: { id: 'u', domain: { id: 'default' } },
        project: { id: 'p', domain: { id: 'default' } },
        roles: [{ name: 'member' }, { name: 'reader' }],
      },
    };
    expect(identityFrom(JSON.stringify(body))).toEqual({
      userId: 'u',
      userDomainId: 'default',
      projectId: 'p',
      projectDomainId: 'default',
      domainId: undefined,
      roles: ['member', 'reader'],
      systemScope: undefined,
      expiresAt: Date.parse('2030-01-01T00:00:00.000Z'),
    });
    const system = { token: { ...body.token, project: undefined, system: { all: true } } };
    expect(identityFrom(JSON.stringify(system))).toMatchObject({ systemScope: 'all', projectId: undefined });
    expect(identityFrom('{"token": {}}')).toBeUndefined();
    expect(identityFrom('<html>')).toBeUndefined();
  });
});
