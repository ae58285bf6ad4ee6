/**
 * The chunk activity's log lines, through Temporal's activity logger into pino: one line per attempt with its
 * outcome and counts, one per distinct provider error with its count; never a prompt or an answer's body.
 */
import { MockActivityEnvironment } from '@temporalio/testing';
import { APIError } from 'openai';
import type OpenAI from 'openai';
import { createActivities } from '../../src/activities';
import { safeMessage } from '../../src/activities/chunkLog';
import { createLogger } from '../../src/logging/logger';
import { temporalLogger } from '../../src/logging/temporal';
import { failureOf } from '../helpers/failures';
import { chatLines, MemoryStore } from '../helpers/fakes';
import { memoryLog } from '../helpers/logs';

const PLANTED = `PLANTED-PROMPT-${Math.random().toString(36).slice(2)}`;

/** Each item's prompt carries the planted text; `fail` decides what its call throws, if anything. */
async function run(fail: (i: number) => Error | undefined, attempt = 1) {
  const store = new MemoryStore();
  const lines = chatLines(6).map((l, i) => ({
    ...l,
    body: { ...l.body, messages: [{ role: 'user', content: `${PLANTED} ${i}` }] },
  }));
  await store.putInput('b1', lines, 100);
  const client = {
    post: (_path: string, opts: { body: { messages: Array<{ content: string }> } }) => ({
      withResponse: async () => {
        const i = Number(opts.body.messages[0]!.content.split(' ')[1]);
        const err = fail(i);
        if (err) throw err;
        const body = { answer: `${PLANTED} echoed`, usage: { prompt_tokens: 3, completion_tokens: 1 } };
        return { data: body, response: new Response(null, { status: 200 }) };
      },
    }),
  } as unknown as OpenAI;
  const acts = createActivities({ openai: client, store, config: { itemConcurrency: 2, requestConcurrency: 8 } });
  const out = memoryLog();
  const logger = temporalLogger(createLogger({ level: 'info', name: 'worker', destination: out }));
  const env = new MockActivityEnvironment({ attempt, activityType: 'processChunk' }, { logger });
  const done = env.run(acts.processChunk, { batchId: 'b1', chunk: 0, maxAttempts: 5, tenant: 'acme' });
  return { done, out };
}

const apiError = (status: number, message: string) =>
  APIError.generate(
    status,
    { error: { message, code: status === 400 ? 'invalid_value' : null } },
    message,
    new Headers(),
  );

describe('chunk attempt lines', () => {
  it('logs a completed attempt with ids, counts and duration, and no prompt or answer', async () => {
    const { done, out } = await run(() => undefined);
    await done;
    const lines = out.lines.filter((l) => l.msg === 'chunk attempt');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      level: 30,
      batchId: 'b1',
      tenant: 'acme',
      chunk: 0,
      attempt: 1,
      outcome: 'completed',
      items: 6,
      succeeded: 6,
      failed: 0,
      pending: 0,
      recordedNow: 6,
      providerErrors: 0,
      activityType: 'processChunk',
    });
    expect(typeof lines[0]!.durationMs).toBe('number');
    expect(JSON.stringify(out.lines)).not.toContain(PLANTED);
  });

  it('logs each distinct provider error once with its count, and a retry at warn, without bodies', async () => {
    const { done, out } = await run(
      (i) =>
        [
          apiError(400, 'Invalid value for messages'),
          apiError(502, 'Bad gateway'),
          apiError(502, 'Bad gateway'),
          // What a cut-off answer throws: its message quotes the body.
          new SyntaxError(`Unexpected token in JSON at position 12: "${PLANTED} ec`),
          // A 503 whose body was an HTML page, not OpenAI's error object.
          APIError.generate(503, `<html>${PLANTED}</html>`, undefined, new Headers()),
        ][i],
      3,
    );
    const failure = await failureOf(done);
    expect(failure.type).toBe('TransientProviderErrors');
    const errors = out.lines.filter((l) => l.msg === 'provider error');
    const pick = (l: Record<string, unknown>) => [l.kind, l.status, l.code, l.count, l.error];
    expect(errors.map(pick)).toEqual(
      expect.arrayContaining([
        ['permanent', 400, 'invalid_value', 1, 'Invalid value for messages'],
        ['transient', 502, undefined, 2, 'Bad gateway'],
        ['transient', undefined, undefined, 1, 'SyntaxError'],
        ['transient', 503, undefined, 1, 'HTTP 503'],
      ]),
    );
    expect(errors).toHaveLength(4);
    expect(errors.every((l) => l.batchId === 'b1' && l.chunk === 0 && l.attempt === 3 && l.level === 40)).toBe(true);
    const attempt = out.lines.find((l) => l.msg === 'chunk attempt');
    expect(attempt).toMatchObject({
      level: 40,
      outcome: 'retry',
      reason: 'TransientProviderErrors',
      attempt: 3,
      items: 6,
      succeeded: 1,
      failed: 1,
      pending: 4,
      providerErrors: 5,
    });
    expect(JSON.stringify(out.lines)).not.toContain(PLANTED);
  });

  it('logs an auth failure at error, by type, without the provider message in the outcome', async () => {
    const { done, out } = await run((i) =>
      i === 0 ? apiError(401, 'Incorrect API key provided: sk-PL***') : undefined,
    );
    expect((await failureOf(done)).type).toBe('ProviderAuthError');
    expect(out.lines.find((l) => l.msg === 'provider error')).toMatchObject({ level: 50, kind: 'auth', status: 401 });
    const attempt = out.lines.find((l) => l.msg === 'chunk attempt');
    expect(attempt).toMatchObject({ level: 50, outcome: 'failed', reason: 'ProviderAuthError' });
  });
});

describe('safeMessage', () => {
  it("keeps OpenAI's error message (capped), an error's type and code; never a body", () => {
    expect(safeMessage(apiError(400, 'x'.repeat(500)))).toHaveLength(200);
    expect(safeMessage(Object.assign(new Error(`socket hang up ${PLANTED}`), { code: 'ECONNRESET' }))).toBe(
      'Error ECONNRESET',
    );
    expect(safeMessage('a string')).toBe('unknown error');
  });
});
