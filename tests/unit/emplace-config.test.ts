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
