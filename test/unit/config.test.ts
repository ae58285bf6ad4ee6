import { ConfigError, loadConfig } from '../../src/config';

describe('loadConfig', () => {
  it('defaults to the simulator when no provider is configured', () => {
    const c = loadConfig({});
    expect(c.provider).toMatchObject({ simulated: true, baseURL: 'http://127.0.0.1:8787/v1' });
    expect(c.temporal.address).toBe('127.0.0.1:7233');
    expect(c.api).toEqual({ host: '127.0.0.1', port: 3000 });
  });

  it('uses a real provider when OPENAI_API_KEY is set', () => {
    const c = loadConfig({ OPENAI_API_KEY: 'sk-test' });
    expect(c.provider).toMatchObject({ simulated: false, baseURL: 'https://api.openai.com/v1', apiKey: 'sk-test' });
  });

  it.each([
    [{ API_PORT: 'eighty' }, 'API_PORT'],
    [{ PROVIDER_PORT: '70000' }, 'PROVIDER_PORT'],
    [{ OPENAI_BASE_URL: 'not a url' }, 'OPENAI_BASE_URL'],
    [{ OPENAI_BASE_URL: 'http://localhost:9999/v1' }, 'OPENAI_API_KEY'],
    [{ LLMBATCH_CHUNK_SIZE: '0' }, 'LLMBATCH_CHUNK_SIZE'],
  ])('rejects %j naming %s', (env, variable) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(variable);
  });
});
