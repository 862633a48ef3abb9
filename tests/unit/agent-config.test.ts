import { AGENT_DEFAULTS, AgentConfigError, loadAgentConfig, resolveToken } from '../../src/agent/config';

const files = (content: Record<string, unknown>) => () => JSON.stringify(content);

describe('agent configuration', () => {
  it('starts from the defaults', () => {
    const config = loadAgentConfig({ argv: [], env: {} });
    expect(config).toEqual(AGENT_DEFAULTS);
    expect(config.layout).toBe('root');
    expect(config.intervalSeconds).toBe(60);
    expect(config.hostRoot).toBe('/');
  });

  it('layers defaults < file < flags < env', () => {
    const readFile = files({
      url: 'http://file',
      layout: 'nested',
      state_dir: '/file/state',
      max_slots: 10,
      vcpu: { allocation_ratio: 4 },
    });
    const config = loadAgentConfig({
      argv: ['--config', '/etc/agent.json', '--url', 'http://flag', '--state-dir=/flag/state', '--once'],
      env: { EMPLACE_URL: 'http://env' },
      readFile,
    });
    expect(config).toMatchObject({
      url: 'http://env',
      stateDir: '/flag/state',
      layout: 'nested',
      maxSlots: 10,
      once: true,
      vcpu: { allocationRatio: 4 },
    });
  });

  it('identifies with the service role by default, which Placement requires for the reshaper', () => {
    expect(loadAgentConfig({ argv: [], env: {} }).roles).toEqual(['service']);
    expect(loadAgentConfig({ argv: ['--roles', 'admin,service'], env: {} }).roles).toEqual(['admin', 'service']);
    expect(
      loadAgentConfig({ argv: ['--config', 'x'], env: { EMPLACE_ROLES: 'reader' }, readFile: files({ roles: [] }) })
        .roles,
    ).toEqual(['reader']);
    expect(loadAgentConfig({ argv: ['--config', 'x'], env: {}, readFile: files({ roles: [] }) }).roles).toEqual([]);
  });

  it('reads every flag from an EMPLACE_* variable too', () => {
    const config = loadAgentConfig({
      argv: [],
      env: {
        EMPLACE_HOST_ROOT: '/fake',
        EMPLACE_LAYOUT: 'nested',
        EMPLACE_DRY_RUN: 'true',
        EMPLACE_MEMORY_MB_RESERVED: '512',
      },
    });
    expect(config).toMatchObject({ hostRoot: '/fake', layout: 'nested', dryRun: true, memoryMb: { reserved: 512 } });
  });

  it('refuses unknown flags, bad values and unknown file keys', () => {
    expect(() => loadAgentConfig({ argv: ['--nope'], env: {} })).toThrow(AgentConfigError);
    expect(() => loadAgentConfig({ argv: ['--layout', 'flat'], env: {} })).toThrow(/root or nested/);
    expect(() => loadAgentConfig({ argv: [], env: { EMPLACE_MAX_SLOTS: '-1' } })).toThrow(/non-negative integer/);
    expect(() => loadAgentConfig({ argv: ['--config', 'x'], env: {}, readFile: files({ colour: 'red' }) })).toThrow(
      /unknown key 'colour'/,
    );
  });

  it('refuses a token and a token file together, and reads the token file fresh', () => {
    expect(() => loadAgentConfig({ argv: ['--token', 'a', '--token-file', '/t'], env: {} })).toThrow(
      /either token or tokenFile/,
    );
    const config = loadAgentConfig({ argv: ['--token-file', '/t'], env: {} });
    expect(resolveToken(config, () => 'abc\n')).toBe('abc');
    expect(resolveToken(loadAgentConfig({ argv: [], env: {} }))).toBe('admin');
  });
});
