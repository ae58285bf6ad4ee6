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

  it('gives each configured lane a task queue of its own', () => {
    const c = loadConfig({ TEMPORAL_TASK_QUEUE: 'q', LLMBATCH_LANES: '[{"model":"gpt-4o-mini","rpm":6000},{"endpoint":"/v1/embeddings","model":"e","tpm":9}]' });
    expect(c.lanes).toEqual([
      { endpoint: '/v1/chat/completions', model: 'gpt-4o-mini', taskQueue: 'q@/v1/chat/completions@gpt-4o-mini', limits: { rpm: 6000, tpm: 0 } },
      { endpoint: '/v1/embeddings', model: 'e', taskQueue: 'q@/v1/embeddings@e', limits: { rpm: 0, tpm: 9 } },
    ]);
  });

  it.each([
    [{ API_PORT: 'eighty' }, 'API_PORT'],
    [{ PROVIDER_PORT: '70000' }, 'PROVIDER_PORT'],
    [{ OPENAI_BASE_URL: 'not a url' }, 'OPENAI_BASE_URL'],
    [{ OPENAI_BASE_URL: 'http://localhost:9999/v1' }, 'OPENAI_API_KEY'],
    [{ LLMBATCH_CHUNK_SIZE: '0' }, 'LLMBATCH_CHUNK_SIZE'],
    [{ LLMBATCH_LANES: '[{model:' }, 'LLMBATCH_LANES: not JSON'],
    [{ LLMBATCH_LANES: '[{"model":"m","rpm":-1}]' }, 'LLMBATCH_LANES.0.rpm'],
    [{ LLMBATCH_LANES: '[{"model":"m","endpoint":"/v1/images"}]' }, 'LLMBATCH_LANES.0.endpoint'],
    [{ LLMBATCH_LANES: '[{"model":"m"},{"model":"m"}]' }, 'LLMBATCH_LANES.1: /v1/chat/completions m is listed twice'],
  ])('rejects %j naming %s', (env, variable) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(variable);
  });
});
