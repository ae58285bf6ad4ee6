import { Router } from 'express';
import { z } from 'zod';
import { requestDigest } from '../canonical';
import { CHAT_ENDPOINT } from '../endpoints/chat';
import { parseBody } from '../endpoints/validation';
import { invalidRequest } from '../openaiErrors';
import { InvalidOptionError } from '../options';
import type { SimulatorContext } from './context';

const callsQuery = z.strictObject({
  endpoint: z.string().default(CHAT_ENDPOINT),
  body: z.unknown().refine((value) => value !== undefined, 'required'),
});

const resetBody = z.object({ rateLimits: z.union([z.boolean(), z.enum(['full', 'empty'])]).optional() });

/** Control plane for tests and demos; not part of the OpenAI surface, no auth, not counted in stats. */
export function simRouter(ctx: SimulatorContext): Router {
  const router = Router();

  router.get('/stats', (_req, res) => {
    res.json(ctx.stats.snapshot());
  });

  // How often one request body was called: `{endpoint?, body}` -> `{calls, successes, faults}`.
  router.post('/calls', (req, res) => {
    const { endpoint, body } = parseBody(callsQuery, req.body);
    res.json(ctx.stats.bodies.get(requestDigest(endpoint, body)));
  });

  router.get('/config', (_req, res) => {
    res.json(publicOptions(ctx));
  });

  // JSON patch of knobs; `null` unsets an optional one (apiKey, latencyP99Ms).
  router.post('/config', (req, res) => {
    const raw = parseBody(z.record(z.string(), z.unknown()), req.body);
    const patch = Object.fromEntries(Object.entries(raw).map(([k, v]) => [k, v === null ? undefined : v]));
    try {
      ctx.options.update(patch);
    } catch (err) {
      if (err instanceof InvalidOptionError) throw invalidRequest(err.message, err.option, 'invalid_value');
      throw err;
    }
    res.json(publicOptions(ctx));
  });

  // Reset counters. `rateLimits`: `true` or "full" refills the RPM/TPM buckets (a fresh
  // window); "empty" drains them (a window in use: the next request waits for replenishment).
  router.post('/reset', (req, res) => {
    const { rateLimits } = parseBody(resetBody, req.body ?? {});
    ctx.stats.reset();
    if (rateLimits === true || rateLimits === 'full') ctx.limiter.reset('full');
    if (rateLimits === 'empty') ctx.limiter.reset('empty');
    res.json(ctx.stats.snapshot());
  });

  return router;
}

function publicOptions(ctx: SimulatorContext): Record<string, unknown> {
  const { apiKey, ...rest } = ctx.options.current;
  return { ...rest, apiKey: apiKey === undefined ? null : '(set)' };
}
