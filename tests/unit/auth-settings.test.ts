import { AuthFailureLimiter } from '../../src/auth/rate-limit';
import { isLoopbackHost, readIdentitySettings } from '../../src/auth/settings';
import { ConfigError } from '../../src/config';

describe('identity settings', () => {
  it('defaults to noauth2 with nothing else configured', () => {
    expect(readIdentitySettings({})).toMatchObject({
      strategy: 'noauth2',
      allowNoauthOnNetwork: false,
      pathPrefix: '',
    });
  });

  it('refuses an unknown strategy, keystone without credentials, and half a TLS pair', () => {
    expect(() => readIdentitySettings({ EMPLACE_AUTH_STRATEGY: 'ldap' })).toThrow(ConfigError);
    expect(() =>
      readIdentitySettings({ EMPLACE_AUTH_STRATEGY: 'keystone', EMPLACE_KEYSTONE_AUTH_URL: 'http://k/v3' }),
    ).toThrow(/EMPLACE_KEYSTONE_USERNAME/);
    expect(() => readIdentitySettings({ EMPLACE_TLS_CERT_FILE: '/c.pem' })).toThrow(/set together/);
  });

  it('accepts an application credential instead of a user, with keystonemiddleware-like defaults', () => {
    const settings = readIdentitySettings({
      EMPLACE_AUTH_STRATEGY: 'keystone',
      EMPLACE_KEYSTONE_AUTH_URL: 'https://k:5000/v3',
      EMPLACE_KEYSTONE_APPLICATION_CREDENTIAL_ID: 'id',
      EMPLACE_KEYSTONE_APPLICATION_CREDENTIAL_SECRET: 'secret',
    });
    expect(settings.keystone).toMatchObject({
      tokenCacheSeconds: 300,
      serviceTokenRoles: ['service'],
      serviceTokenRolesRequired: false,
      wwwAuthenticateUri: 'https://k:5000/v3',
    });
  });

  it('normalises the path prefix and refuses one that is not a path', () => {
    expect(readIdentitySettings({ EMPLACE_PATH_PREFIX: 'placement/' }).pathPrefix).toBe('/placement');
    expect(readIdentitySettings({ EMPLACE_PATH_PREFIX: '/' }).pathPrefix).toBe('');
    expect(() => readIdentitySettings({ EMPLACE_PATH_PREFIX: '/a b' })).toThrow(ConfigError);
  });

  it('knows loopback addresses from network ones', () => {
    for (const host of ['127.0.0.1', '127.1.2.3', '::1', '[::1]', 'localhost']) expect(isLoopbackHost(host)).toBe(true);
    for (const host of ['0.0.0.0', '::', '10.0.0.1', 'example.org']) expect(isLoopbackHost(host)).toBe(false);
  });
});

describe('AuthFailureLimiter', () => {
  it('answers 429 once an address reached the limit, until its window ends; other addresses are not affected', () => {
    let now = 0;
    const limiter = new AuthFailureLimiter(2, 60_000, () => now);
    limiter.fail('a');
    expect(() => limiter.check('a')).not.toThrow();
    limiter.fail('a');
    expect(() => limiter.check('a')).toThrow(expect.objectContaining({ status: 429 }));
    expect(() => limiter.check('b')).not.toThrow();
    now = 60_000;
    expect(() => limiter.check('a')).not.toThrow();
  });
});
