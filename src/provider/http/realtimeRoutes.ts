import type { Request, RequestHandler, Response } from 'express';
import { requestDigest } from '../canonical';
import { MODEL_ENDPOINTS, prepareRequest } from '../endpoints/registry';
import type { PreparedRequest } from '../endpoints/types';
import { FAULT_MESSAGES, markedLatencyMs, THROTTLE_RETRY_AFTER_MS } from '../faults';
import { ApiError } from '../openaiErrors';
import { formatDuration, type RateDecision } from '../rateLimiter';
import { chatStreamText } from './chatStream';
import type { SimulatorContext } from './context';

/**
 * One realtime model call. Order of checks, chosen so each outcome is
 * unambiguous in the stats: auth (middleware) -> body validation (400, never
 * faulted, never charged) -> rate limit (429, not charged) -> fault draw
 * (throttled: a 429 within the limits, not charged | hang | 5xx | malformed,
 * charged like a real call) -> latency (drawn, or `[sim:latency=<ms>]` in the body) -> answer.
 */
export function realtimeHandler(ctx: SimulatorContext, endpoint: string): RequestHandler {
  return async (req, res) => {
    const body: unknown = req.body;
    // Every call with a JSON body counts, invalid ones too: "an invalid item costs exactly one call".
    const callKey = body === undefined ? undefined : requestDigest(endpoint, body);
    if (callKey !== undefined) ctx.stats.bodies.recordCall(callKey);

    // Rate-limit headers go on every realtime answer, a 400 included (it is just not charged).
    res.set(ctx.limiter.headers());
    const prepared = prepareRequest(endpoint, body, ctx.options.current);
    const decision = ctx.limiter.check(prepared.estimatedTokens);
    res.set(decision.headers);
    if (!decision.allowed) {
      sendRateLimited(res, decision, modelOf(body));
      return;
    }

    const options = ctx.options.current;
    const fault = ctx.faults.decide(options);
    if (fault === 'throttled') {
      // Before any work, like a real 429: not charged, headers as they are, a short Retry-After. Not one of the
      // body's faults (callsForBody): a 429 is waited out, it does not fail the item's attempt.
      ctx.stats.recordFault('throttled');
      sendThrottled(res, modelOf(body));
      return;
    }
    if (fault === 'hang') {
      ctx.stats.recordFault('hangs', callKey);
      ctx.stats.recordResponse(statsRoute(req), 'hung');
      res.locals.hung = true;
      ctx.pending.hold(res);
      return;
    }
    const latency = markedLatencyMs(body) ?? ctx.faults.latencyMs(options.latencyMedianMs, ctx.options.latencyP99Ms());
    if (!(await ctx.pending.delay(latency, res))) return; // client gave up or simulator closing

    if (fault === 'error') {
      const status = ctx.faults.errorStatus();
      ctx.stats.recordFault('errors', callKey);
      const { message, type } = FAULT_MESSAGES[status];
      res.status(status).json(new ApiError(status, message, type).toBody());
      return;
    }
    const payload = answerPayload(prepared);
    if (fault === 'malformed') {
      ctx.stats.recordFault('malformed', callKey);
      res.status(200).type(payload.contentType).send(malformedText(payload, ctx));
      return;
    }
    res.status(200).type(payload.contentType).send(payload.text);
    if (callKey !== undefined) ctx.stats.bodies.recordSuccess(callKey);
    if (prepared.structured !== undefined) ctx.stats.recordStructured(prepared.structured);
  };
}

function answerPayload(prepared: PreparedRequest): { text: string; contentType: string; stream: boolean } {
  const body = prepared.respond();
  if (prepared.stream) {
    const text = chatStreamText(body as unknown as Parameters<typeof chatStreamText>[0], prepared.includeStreamUsage);
    return { text, contentType: 'text/event-stream; charset=utf-8', stream: true };
  }
  return { text: JSON.stringify(body), contentType: 'application/json; charset=utf-8', stream: false };
}

/**
 * Cut inside a JSON document so it can never parse. For a stream, the last
 * event's JSON is cut but the event itself is terminated, so the client sees
 * (and chokes on) a broken chunk instead of silently dropping a partial line.
 */
function malformedText(payload: { text: string; stream: boolean }, ctx: SimulatorContext): string {
  if (!payload.stream) return payload.text.slice(0, ctx.faults.cutPoint(payload.text.length));
  const jsonStart = payload.text.lastIndexOf('data: {') + 'data: '.length;
  const jsonEnd = payload.text.indexOf('\n', jsonStart);
  return `${payload.text.slice(0, jsonStart + ctx.faults.cutPoint(jsonEnd - jsonStart))}\n\n`;
}

/** OpenAI's 429 wording (clients and people parse "Please try again in …"). */
function sendRateLimited(res: Response, decision: Extract<RateDecision, { allowed: false }>, model: string): void {
  const { kind, limit, used, requested } = decision;
  const per = kind === 'requests' ? 'requests per min (RPM)' : 'tokens per min (TPM)';
  const where = `for ${model} in organization org-simulated on ${per}`;
  const message = decision.tooLarge
    ? `Request too large ${where}: Limit ${limit}, Requested ${requested}. The input or output tokens must be ` +
      'reduced in order to run successfully. (simulated)'
    : `Rate limit reached ${where}: Limit ${limit}, Used ${used}, Requested ${requested}. Please try again in ` +
      `${formatDuration(decision.retryAfterMs)}. (simulated)`;
  res.status(429).json(new ApiError(429, message, kind, null, 'rate_limit_exceeded').toBody());
}

/** A 429 within the limits (the provider short of capacity): OpenAI's wording for it, a short Retry-After. */
function sendThrottled(res: Response, model: string): void {
  res.set({ 'retry-after': '1', 'retry-after-ms': String(THROTTLE_RETRY_AFTER_MS) });
  const message =
    `The server is busy serving requests for ${model}; please try again in ` +
    `${formatDuration(THROTTLE_RETRY_AFTER_MS)}. (simulated fault)`;
  res.status(429).json(new ApiError(429, message, 'requests', null, 'rate_limit_exceeded').toBody());
}

function modelOf(body: unknown): string {
  const model = (body as { model?: unknown } | null | undefined)?.model;
  return typeof model === 'string' ? model : 'the model';
}

const KNOWN_ROUTES = new Set([
  ...MODEL_ENDPOINTS,
  '/v1/files',
  '/v1/files/:id',
  '/v1/files/:id/content',
  '/v1/batches',
  '/v1/batches/:id',
  '/v1/batches/:id/cancel',
]);

/** Stats key: the route pattern with ids folded; anything else is "unmatched", so the map stays small. */
export function statsRoute(req: Request): string {
  const path = (req.originalUrl.split('?')[0] ?? '').replace(/\/+$/, '');
  const route = path.replace(/^\/v1\/(files|batches)\/[^/]+/, '/v1/$1/:id');
  return KNOWN_ROUTES.has(route) ? route : 'unmatched';
}
