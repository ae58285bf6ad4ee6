import { ConfigError, loadConfig } from '../src/config';

describe('loadConfig', () => {
  it('serves worker metrics only when LLMBATCH_WORKER_METRICS_PORT is set, on loopback unless told', () => {
    expect(loadConfig({}).worker.metrics).toBeUndefined();
    expect(loadConfig({ LLMBATCH_WORKER_METRICS_PORT: '' }).worker.metrics).toBeUndefined();
    expect(loadConfig({ LLMBATCH_WORKER_METRICS_PORT: '9464' }).worker.metrics).toEqual({
      host: '127.0.0.1',
      port: 9464,
    });
    const anyHost = { LLMBATCH_WORKER_METRICS_PORT: '0', LLMBATCH_WORKER_METRICS_HOST: '0.0.0.0' };
    expect(loadConfig(anyHost).worker.metrics).toEqual({ host: '0.0.0.0', port: 0 });
  });

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

  it('reads tenants with their key digests, filling unset quotas from the defaults', () => {
    const digest = `sha256:${'c'.repeat(64)}`;
    const c = loadConfig({
      LLMBATCH_QUOTA_CONCURRENT_BATCHES: '7',
      LLMBATCH_TENANTS: JSON.stringify([{ id: 'acme', keys: [digest], quotas: { itemsPerBatch: 10 } }]),
    });
    expect(c.auth).toEqual({
      mode: 'keys',
      tenants: [
        {
          id: 'acme',
          keyHashes: ['c'.repeat(64)],
          admin: false,
          quotas: { concurrentBatches: 7, itemsPerBatch: 10, uploadBytes: 200 * 1024 * 1024 },
          webhook: undefined,
        },
      ],
    });
  });

  it('local mode is one admin tenant with no keys', () => {
    expect(loadConfig({ LLMBATCH_AUTH: 'local' }).auth).toMatchObject({
      mode: 'local',
      tenants: [{ id: 'local', keyHashes: [], admin: true }],
    });
  });

  it('lets named lanes split one model between them', () => {
    const c = loadConfig({
      TEMPORAL_TASK_QUEUE: 'q',
      LLMBATCH_LANES: '[{"model":"m","rpm":8000},{"name":"bulk","model":"m","rpm":2000}]',
    });
    expect(c.lanes.map((l) => [l.name, l.taskQueue, l.limits.rpm])).toEqual([
      [undefined, 'q@/v1/chat/completions@m', 8000],
      ['bulk', 'q@lane@bulk', 2000],
    ]);
  });

  it('gives each configured lane a task queue of its own', () => {
    const c = loadConfig({
      TEMPORAL_TASK_QUEUE: 'q',
      LLMBATCH_LANES: '[{"model":"gpt-4o-mini","rpm":6000},{"endpoint":"/v1/embeddings","model":"e","tpm":9}]',
    });
    expect(c.lanes).toEqual([
      {
        endpoint: '/v1/chat/completions',
        model: 'gpt-4o-mini',
        taskQueue: 'q@/v1/chat/completions@gpt-4o-mini',
        limits: { rpm: 6000, tpm: 0 },
      },
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
    [
      { LLMBATCH_LANES: '[{"name":"bulk","model":"m"},{"name":"bulk","model":"n"}]' },
      'LLMBATCH_LANES.1: the name bulk is used twice',
    ],
    [{ LLMBATCH_LANES: '[{"name":"Bulk Lane","model":"m"}]' }, 'LLMBATCH_LANES.0.name'],
    [{ LLMBATCH_TENANTS: '[{"id":"a"' }, 'LLMBATCH_TENANTS: not JSON'],
    [{ LLMBATCH_TENANTS: '[{"id":"a","keys":["plain-key"]}]' }, 'LLMBATCH_TENANTS.0.keys.0'],
    [
      {
        LLMBATCH_TENANTS:
          '[{"id":"Bad Id","keys":["sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"]}]',
      },
      'LLMBATCH_TENANTS.0.id',
    ],
    [
      {
        LLMBATCH_TENANTS:
          '[{"id":"a","keys":["sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"],' +
          '"quotas":{"itemsPerBatch":0}}]',
      },
      'LLMBATCH_TENANTS.0.quotas.itemsPerBatch',
    ],
    [
      {
        LLMBATCH_TENANTS:
          '[{"id":"a","keys":["sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"],' +
          '"webhook":{"secret":"hunter2"}}]',
      },
      'LLMBATCH_TENANTS.0.webhook.secret',
    ],
    [
      {
        LLMBATCH_TENANTS:
          '[{"id":"a","keys":["sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"]},' +
          '{"id":"a","keys":["sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"]}]',
      },
      'LLMBATCH_TENANTS.1.id: tenant a is listed twice',
    ],
    [{ LLMBATCH_AUTH: 'none' }, 'LLMBATCH_AUTH'],
    [{ LLMBATCH_AUTH: 'local', API_HOST: '0.0.0.0' }, 'API_HOST: LLMBATCH_AUTH=local binds to loopback only'],
    [{ LLMBATCH_WEBHOOK_SECRET: 'whsec_short' }, 'LLMBATCH_WEBHOOK_SECRET'],
    [{ LLMBATCH_WORKER_METRICS_PORT: 'nine' }, 'LLMBATCH_WORKER_METRICS_PORT'],
    [{ LLMBATCH_WORKER_METRICS_PORT: '70000' }, 'LLMBATCH_WORKER_METRICS_PORT'],
  ])('rejects %j naming %s', (env, variable) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(variable);
  });
});
