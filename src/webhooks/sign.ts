/**
 * Standard Webhooks signing (https://www.standardwebhooks.com), done by the `standardwebhooks`
 * package itself so our bytes are exactly what its verifiers (in every language) expect.
 */
import { Webhook } from 'standardwebhooks';
import type { WebhookDeliveryInput } from '../shared/webhooks';

export interface SignedWebhook {
  /** Minified JSON; sent byte for byte as signed. */
  body: string;
  headers: {
    'content-type': 'application/json';
    'webhook-id': string;
    'webhook-timestamp': string;
    'webhook-signature': string;
  };
}

/** The id is joined to the timestamp and body with `.` before signing, so the spec forbids `.` in it. */
const DELIVERY_ID = /^[A-Za-z0-9_-]{1,200}$/;

/**
 * The spec's recommended envelope. `timestamp` is when the event happened, so the body is the same on every attempt.
 */
export function webhookPayload(input: Pick<WebhookDeliveryInput, 'event' | 'occurredAt' | 'data'>): string {
  return JSON.stringify({ type: input.event, timestamp: input.occurredAt, data: input.data });
}

/**
 * Why a secret is unusable, or undefined when it is fine. For config validation: the spec asks for
 * `whsec_` + base64 of 24 to 64 random bytes. Never echoes the secret.
 */
export function webhookSecretProblem(secret: string): string | undefined {
  if (!secret.startsWith('whsec_')) return 'must start with whsec_';
  const b64 = secret.slice('whsec_'.length);
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(b64) || b64.length % 4 !== 0) return 'must be whsec_ followed by base64';
  const bytes = Buffer.from(b64, 'base64').length;
  if (bytes < 24 || bytes > 64) return `must encode 24 to 64 random bytes (has ${bytes})`;
  return undefined;
}

/**
 * Signs one delivery attempt. `webhook-id` is the delivery id, the same on every attempt (the
 * receiver's idempotency key). `webhook-timestamp` is the time of *this attempt*, as the spec
 * requires: verifiers reject timestamps more than 5 minutes from their clock (replay protection),
 * so reusing the event's time would make every retry after 5 minutes unverifiable.
 */
export function signWebhook(
  secret: string,
  input: Pick<WebhookDeliveryInput, 'deliveryId' | 'event' | 'occurredAt' | 'data'>,
  attemptAt: Date = new Date(),
): SignedWebhook {
  if (!DELIVERY_ID.test(input.deliveryId))
    throw new Error('deliveryId must be 1-200 letters, digits, _ or - (no dots)');
  const body = webhookPayload(input);
  const signature = new Webhook(secret).sign(input.deliveryId, attemptAt, body);
  return {
    body,
    headers: {
      'content-type': 'application/json',
      'webhook-id': input.deliveryId,
      'webhook-timestamp': String(Math.floor(attemptAt.getTime() / 1000)),
      'webhook-signature': signature,
    },
  };
}
