/** The logger factory: its level from LLMBATCH_LOG_LEVEL, redaction as defence in depth, Temporal's logs through it. */
import { loadConfig } from '../../src/config';
import { createLogger, REDACTED } from '../../src/logging/logger';
import { temporalLogger } from '../../src/logging/temporal';
import { memoryLog } from '../helpers/logs';

describe('LLMBATCH_LOG_LEVEL', () => {
  it('defaults to info and takes each pino level', () => {
    expect(loadConfig({}).log.level).toBe('info');
    for (const level of ['fatal', 'error', 'warn', 'info', 'debug', 'trace'])
      expect(loadConfig({ LLMBATCH_LOG_LEVEL: level }).log.level).toBe(level);
  });

  it('refuses anything else, naming the variable', () => {
    expect(() => loadConfig({ LLMBATCH_LOG_LEVEL: 'verbose' })).toThrow(/LLMBATCH_LOG_LEVEL/);
  });

  it('is the least severe level written', () => {
    const out = memoryLog();
    const log = createLogger({
      level: loadConfig({ LLMBATCH_LOG_LEVEL: 'warn' }).log.level,
      name: 't',
      destination: out,
    });
    log.info('not written');
    log.warn('written');
    log.error({ batchId: 'b1' }, 'written too');
    expect(out.lines.map((l) => [l.level, l.msg])).toEqual([
      [40, 'written'],
      [50, 'written too'],
    ]);
    expect(out.lines[1]).toMatchObject({ name: 't', batchId: 'b1' });
    expect(typeof out.lines[0]!.time).toBe('string'); // ISO time
  });
});

describe('redaction', () => {
  it('hides bodies, prompts, keys and credential headers at the top and two levels down', () => {
    const out = memoryLog();
    const log = createLogger({ level: 'info', name: 't', destination: out });
    const planted = 'PLANTED-redaction';
    log.info(
      {
        body: planted,
        prompt: planted,
        item: { messages: [{ role: 'user', content: planted }], input: planted, custom_id: 'c1' },
        deep: { provider: { key: planted, secret: planted, apiKey: planted } },
        req: { headers: { authorization: `Bearer ${planted}`, cookie: planted, 'x-api-key': planted, accept: '*/*' } },
        err: Object.assign(new Error('bad JSON'), { body: planted }),
      },
      'line',
    );
    const text = JSON.stringify(out.lines);
    expect(text).not.toContain(planted);
    const line = out.lines[0] as {
      body: unknown;
      item: unknown;
      deep: { provider: unknown };
      req: { headers: unknown };
      err: unknown;
    };
    expect(line.body).toBe(REDACTED);
    expect(line.item).toEqual({ messages: REDACTED, input: REDACTED, custom_id: 'c1' });
    expect(line.deep.provider).toEqual({ key: REDACTED, secret: REDACTED, apiKey: REDACTED });
    expect(line.req.headers).toEqual({
      authorization: REDACTED,
      cookie: REDACTED,
      'x-api-key': REDACTED,
      accept: '*/*',
    });
    expect(line.err).toMatchObject({ message: 'bad JSON', body: REDACTED });
  });
});

describe('temporalLogger', () => {
  it("writes Temporal's lines with their metadata, without the task token, at the logger's level", () => {
    const out = memoryLog();
    const tlog = temporalLogger(createLogger({ level: 'info', name: 'worker', destination: out }));
    tlog.debug('not written', {});
    tlog.info('chunk attempt', {
      sdkComponent: 'activity',
      workflowId: 'batch-1',
      activityType: 'processChunk',
      attempt: 2,
      taskToken: 'c2VjcmV0',
    });
    tlog.error('Activity failed', { error: new Error('boom') });
    expect(out.lines).toHaveLength(2);
    expect(out.lines[0]).toMatchObject({
      level: 30,
      msg: 'chunk attempt',
      name: 'worker',
      workflowId: 'batch-1',
      activityType: 'processChunk',
      attempt: 2,
    });
    expect(out.lines[0]).not.toHaveProperty('taskToken');
    expect(out.lines[1]).toMatchObject({ level: 50, error: { message: 'boom', type: 'Error' } });
    expect((out.lines[1] as { error: { stack: string } }).error.stack).toContain('boom');
  });

  it('passes debug lines when the logger is at debug', () => {
    const out = memoryLog();
    const tlog = temporalLogger(createLogger({ level: 'debug', name: 'worker', destination: out }));
    tlog.debug('Activity started', {});
    tlog.trace('not written', {});
    expect(out.lines.map((l) => l.msg)).toEqual(['Activity started']);
  });
});
