/**
 * Delivers one signed webhook attempt. Temporal retries it (see src/workflows/webhook.ts); this
 * activity only decides whether a failure is worth retrying.
 */
import http from 'node:http';
import https from 'node:https';
import { isIP, type LookupFunction } from 'node:net';
import { activityInfo, ApplicationFailure } from '@temporalio/activity';
import { Webhook } from 'standardwebhooks';
import { signWebhook } from '../webhooks/sign';
import { bareHostname, checkWebhookUrl, WebhookUrlError, type LookupFn, type ResolvedAddress } from '../webhooks/ssrf';
import { FailureType } from '../shared/failures';
import { WEBHOOK_RETRY_INITIAL_MS, WEBHOOK_RETRY_MAX_INTERVAL_MS, type WebhookDeliveryInput } from '../shared/webhooks';
import type { WebhookSettings } from '../webhooks/settings';

export interface PinnedRequest {
  url: URL;
  /** Checked addresses: the only ones the socket may connect to. */
  addresses: ResolvedAddress[];
  headers: Record<string, string>;
  body: string;
  timeoutMs: number;
}
/** The HTTP transport. Not WHATWG fetch: fetch cannot be told which address to connect to. */
export type PinnedPost = (req: PinnedRequest) => Promise<{ status: number; retryAfter?: string }>;

export interface WebhookActivityDeps {
  settings: WebhookSettings;
  /** Replaces the HTTP transport (tests). */
  fetchImpl?: PinnedPost;
  /** Replaces DNS (tests). */
  lookup?: LookupFn;
}

/** What a failed attempt carries to the workflow, which reads `attempt` after the last one. */
export interface WebhookAttemptDetails {
  attempt: number;
  status?: number;
}

/**
 * POSTs to the checked addresses only: `lookup` answers with them instead of asking DNS again, so a
 * name that re-resolves to 127.0.0.1 after the check (DNS rebinding) cannot redirect us. Host
 * header and TLS server name stay the URL's host, so virtual hosts and certificates work. No
 * redirects are followed (node:http never does), no connection is reused, and the timeout covers
 * connect to response headers; the response body is discarded.
 */
export const pinnedPost: PinnedPost = ({ url, addresses, headers, body, timeoutMs }) =>
  new Promise((resolve, reject) => {
    const pinned: LookupFunction = (_host, opts, cb) => {
      if (opts.all) cb(null, addresses);
      else cb(null, addresses[0]!.address, addresses[0]!.family);
    };
    const hostname = bareHostname(url);
    const request = url.protocol === 'https:' ? https.request : http.request;
    const req = request({
      hostname,
      port: url.port || undefined,
      path: `${url.pathname}${url.search}`,
      method: 'POST',
      headers: { ...headers, 'content-length': String(Buffer.byteLength(body)), 'user-agent': 'llmbatch-webhooks/1' },
      lookup: pinned,
      agent: false,
      // SNI must be a name, never an IP literal; node:https does this itself for IP hosts.
      ...(url.protocol === 'https:' && isIP(hostname) === 0 ? { servername: hostname } : {}),
    });
    const timer = setTimeout(() => req.destroy(new Error(`no response within ${timeoutMs} ms`)), timeoutMs);
    req.on('response', (res) => {
      const retryAfter = res.headers['retry-after'];
      resolve({ status: res.statusCode ?? 0, ...(retryAfter ? { retryAfter } : {}) });
      res.on('error', () => undefined); // the timer may still cut off a slow body; that is fine now
      res.resume();
    });
    req.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    req.on('close', () => clearTimeout(timer));
    req.end(body);
  });

function fail(
  type: string,
  message: string,
  nonRetryable: boolean,
  details: WebhookAttemptDetails,
  nextRetryDelayMs?: number,
): ApplicationFailure {
  return ApplicationFailure.create({
    type,
    message,
    nonRetryable,
    details: [details],
    ...(nextRetryDelayMs !== undefined ? { nextRetryDelay: nextRetryDelayMs } : {}),
  });
}

/** Longest wait a receiver's Retry-After can ask for: the retry policy's own (default) cap. */
const MAX_RETRY_AFTER_MS = WEBHOOK_RETRY_MAX_INTERVAL_MS;

/** Retry-After as milliseconds (seconds or an HTTP date), within 1 s .. 1 h; undefined when absent or unreadable. */
export function retryAfterMs(value: string | undefined, nowMs: number): number | undefined {
  if (!value) return undefined;
  const ms = /^\d+$/.test(value.trim()) ? Number(value.trim()) * 1000 : Date.parse(value) - nowMs;
  return Number.isFinite(ms) ? Math.min(MAX_RETRY_AFTER_MS, Math.max(1000, ms)) : undefined;
}

/**
 * The wait before the next attempt: the retry policy's exponential backoff, base =
 * min(maxIntervalMs, initialMs × 2^(attempt-1)), with "equal jitter", uniformly in [base/2, base].
 * Temporal's policy has no jitter, so webhooks that failed together against a receiver that went
 * down would all retry at the same instants and hit it at once when it comes back; spreading them
 * over half the interval avoids that. Half to full, not 0 to full: never longer than the policy
 * promised, and never so short that the backoff collapses into immediate retries.
 */
export function jitteredBackoffMs(
  attempt: number,
  { initialMs, maxIntervalMs }: { initialMs: number; maxIntervalMs: number },
  random: () => number = Math.random,
): number {
  const base = Math.min(maxIntervalMs, initialMs * 2 ** Math.max(0, attempt - 1));
  return Math.max(1, Math.round(base / 2 + (random() * base) / 2));
}

/** This attempt's jittered wait under the input's retry settings (the workflow's defaults when unset). */
function retryDelayMs(input: WebhookDeliveryInput, attempt: number): number {
  const initialMs = input.retry?.initialMs ?? WEBHOOK_RETRY_INITIAL_MS;
  const maxIntervalMs = input.retry?.maxIntervalMs ?? WEBHOOK_RETRY_MAX_INTERVAL_MS;
  return jitteredBackoffMs(attempt, { initialMs, maxIntervalMs });
}

export function createWebhookActivities({ settings, fetchImpl = pinnedPost, lookup }: WebhookActivityDeps) {
  return {
    async deliverWebhook(input: WebhookDeliveryInput): Promise<{ status: number; attempt: number }> {
      const attempt = activityInfo().attempt;
      // Every retryable failure sets its own wait (nextRetryDelay): the jittered backoff.
      const retry = (message: string, status?: number, retryAfter?: number): ApplicationFailure =>
        fail(
          FailureType.WebhookDeliveryFailed,
          message,
          false,
          { attempt, ...(status !== undefined ? { status } : {}) },
          retryAfter ?? retryDelayMs(input, attempt),
        );
      // Messages name the tenant and the URL's origin only: never the secret, never a path or query
      // (some receivers put a token there).
      const secret = settings.secretFor(input.tenant);
      if (!secret)
        throw fail(FailureType.WebhookNoSecret, `tenant ${input.tenant} has no webhook secret`, true, { attempt });
      try {
        new Webhook(secret);
      } catch {
        throw fail(
          FailureType.WebhookNoSecret,
          `tenant ${input.tenant}'s webhook secret is not a valid whsec_ key`,
          true,
          { attempt },
        );
      }

      // Checked on every attempt, not only when the batch was created: DNS can change in 24 h.
      let addresses: ResolvedAddress[];
      let url: URL;
      try {
        addresses = await checkWebhookUrl(input.url, settings, lookup);
        url = new URL(input.url);
      } catch (err) {
        if (err instanceof WebhookUrlError)
          throw fail(FailureType.WebhookRefused, `webhook URL refused: ${err.message}`, true, { attempt });
        throw retry(`could not resolve the webhook host: ${errorMessage(err)}`);
      }

      let signed;
      try {
        signed = signWebhook(secret, input); // signed now: webhook-timestamp is this attempt's time
      } catch (err) {
        throw fail(FailureType.WebhookInvalid, `webhook not sent: ${errorMessage(err)}`, true, { attempt });
      }

      let answer: { status: number; retryAfter?: string };
      try {
        answer = await fetchImpl({
          url,
          addresses,
          headers: signed.headers,
          body: signed.body,
          timeoutMs: settings.timeoutMs,
        });
      } catch (err) {
        throw retry(`POST to ${url.origin} failed: ${errorMessage(err)}`);
      }
      const { status } = answer;
      if (status === 410)
        throw fail(FailureType.WebhookGone, `${url.origin} answered 410 Gone: no more attempts`, true, {
          attempt,
          status,
        });
      // Only 2xx counts (spec): a 3xx is a failure and is not followed. A busy receiver's Retry-After
      // (429/503 only) sets the next wait instead of the jittered backoff: it knows when it will cope.
      if (status < 200 || status > 299) {
        const asked = status === 429 || status === 503 ? retryAfterMs(answer.retryAfter, Date.now()) : undefined;
        throw retry(`${url.origin} answered ${status}`, status, asked);
      }
      return { status, attempt };
    },
  };
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export type WebhookActivities = ReturnType<typeof createWebhookActivities>;
