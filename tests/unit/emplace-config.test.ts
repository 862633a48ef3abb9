import { ConfigError, loadConfig } from '../../src/config';

describe('EMPLACE_STALE_AFTER_SECONDS', () => {
  it('is off unless set', () => {
    expect(loadConfig({}).staleAfterSeconds).toBeUndefined();
    expect(loadConfig({ EMPLACE_STALE_AFTER_SECONDS: '' }).staleAfterSeconds).toBeUndefined();
  });

  it('takes whole seconds from 1 to 999999999 and refuses anything else at start', () => {
    expect(loadConfig({ EMPLACE_STALE_AFTER_SECONDS: '90' }).staleAfterSeconds).toBe(90);
    expect(loadConfig({ EMPLACE_STALE_AFTER_SECONDS: '999999999' }).staleAfterSeconds).toBe(999_999_999);
    for (const bad of ['0', '-5', '1.5', 'soon', '1000000000']) {
      expect(() => loadConfig({ EMPLACE_STALE_AFTER_SECONDS: bad })).toThrow(ConfigError);
    }
  });
});

describe('EMPLACE_METRICS_LISTEN and EMPLACE_WORKERS', () => {
  it('reads host:port, [v6]:port or a bare port (loopback), and refuses anything else at start', () => {
    expect(loadConfig({}).metricsListen).toBeUndefined();
    expect(loadConfig({ EMPLACE_METRICS_LISTEN: '0.0.0.0:9778' }).metricsListen).toEqual({
      host: '0.0.0.0',
      port: 9778,
    });
    expect(loadConfig({ EMPLACE_METRICS_LISTEN: '[::1]:9778' }).metricsListen).toEqual({ host: '::1', port: 9778 });
    expect(loadConfig({ EMPLACE_METRICS_LISTEN: '9778' }).metricsListen).toEqual({ host: '127.0.0.1', port: 9778 });
    for (const bad of ['host:', 'host:99999', 'a:b:c', ':9778'])
      expect(() => loadConfig({ EMPLACE_METRICS_LISTEN: bad })).toThrow(ConfigError);
  });

  it('runs one worker per CPU unless told, and at least one', () => {
    expect(loadConfig({}).workers).toBeGreaterThanOrEqual(1);
    expect(loadConfig({ EMPLACE_WORKERS: '1' }).workers).toBe(1);
    expect(() => loadConfig({ EMPLACE_WORKERS: '0' })).toThrow('EMPLACE_WORKERS must be an integer >= 1');
  });
});
