/** Signatures must verify with the reference `standardwebhooks` verifier, and only with the right secret and bytes. */
import { Webhook, WebhookVerificationError } from 'standardwebhooks';
import { signWebhook, webhookPayload, webhookSecretProblem } from '../../src/webhooks/sign';
import { WEBHOOK_EVENTS, webhookDeliveryId, webhookWorkflowId } from '../../src/shared/webhooks';
import { newSecret } from '../helpers/webhookReceiver';

const input = {
  deliveryId: 'msg_b1_batch_completed',
  event: 'batch.completed' as const,
  occurredAt: new Date().toISOString(),
  data: { batchId: 'b1', status: 'completed', total: 3, succeeded: 2, failed: 1, costUsd: 0.0012 },
};

describe('signWebhook', () => {
  const secret = newSecret();

  it('produces the three headers and a body the reference verifier accepts', () => {
    const signed = signWebhook(secret, input);
    expect(Object.keys(signed.headers).sort()).toEqual([
      'content-type',
      'webhook-id',
      'webhook-signature',
      'webhook-timestamp',
    ]);
    expect(signed.headers['webhook-id']).toBe(input.deliveryId);
    expect(signed.headers['webhook-signature']).toMatch(/^v1,[A-Za-z0-9+/]+=*$/);
    expect(JSON.parse(signed.body)).toEqual({ type: 'batch.completed', timestamp: input.occurredAt, data: input.data });
    expect(new Webhook(secret).verify(signed.body, signed.headers)).toEqual(JSON.parse(signed.body));
  });

  it('fails verification for a tampered body, another secret, or another id', () => {
    const signed = signWebhook(secret, input);
    const tampered = signed.body.replace('"failed":1', '"failed":0');
    expect(tampered).not.toBe(signed.body);
    expect(() => new Webhook(secret).verify(tampered, signed.headers)).toThrow(WebhookVerificationError);
    expect(() => new Webhook(newSecret()).verify(signed.body, signed.headers)).toThrow(WebhookVerificationError);
    expect(() => new Webhook(secret).verify(signed.body, { ...signed.headers, 'webhook-id': 'msg_other' })).toThrow(
      WebhookVerificationError,
    );
  });

  it('keeps id and body across attempts but stamps each with its own time, so late retries still verify', () => {
    const hoursAgo = new Date(Date.now() - 2 * 3_600_000);
    const old = { ...input, occurredAt: hoursAgo.toISOString() };
    const first = signWebhook(secret, old, new Date(Date.now() - 60_000));
    const retry = signWebhook(secret, old);
    expect(retry.body).toBe(first.body);
    expect(retry.headers['webhook-id']).toBe(first.headers['webhook-id']);
    expect(Number(retry.headers['webhook-timestamp'])).toBeGreaterThan(Number(first.headers['webhook-timestamp']));
    expect(() => new Webhook(secret).verify(retry.body, retry.headers)).not.toThrow();
    // Stamping with the event's time instead would be rejected by every standard verifier (5-minute tolerance).
    const stampedWithEvent = signWebhook(secret, old, hoursAgo);
    expect(() => new Webhook(secret).verify(stampedWithEvent.body, stampedWithEvent.headers)).toThrow(
      'Message timestamp too old',
    );
  });

  it('refuses ids with a dot (the signed content is id.timestamp.body)', () => {
    expect(() => signWebhook(secret, { ...input, deliveryId: 'a.b' })).toThrow(/no dots/);
    for (const event of WEBHOOK_EVENTS) {
      const id = webhookDeliveryId('5f0c7a52-2a4e-4d0e-9d1f-0b6c2b7f4e11', event);
      expect(id).toMatch(/^msg_[A-Za-z0-9_-]+$/);
      expect(() => signWebhook(secret, { ...input, event, deliveryId: id })).not.toThrow();
    }
    expect(webhookWorkflowId('b1', 'batch.failed')).toBe('batch-b1-webhook-batch.failed');
  });

  it('payload is the spec envelope, minified', () => {
    expect(webhookPayload({ event: 'batch.paused', occurredAt: 't', data: { a: 1 } })).toBe(
      '{"type":"batch.paused","timestamp":"t","data":{"a":1}}',
    );
  });

  it('names what is wrong with a secret without echoing it', () => {
    expect(webhookSecretProblem(secret)).toBeUndefined();
    expect(webhookSecretProblem('abc')).toMatch(/whsec_/);
    expect(webhookSecretProblem('whsec_***')).toMatch(/base64/);
    expect(webhookSecretProblem(`whsec_${Buffer.alloc(8).toString('base64')}`)).toMatch(/24 to 64/);
    expect(webhookSecretProblem('whsec_s3cr3t!!')).not.toContain('s3cr3t');
  });
});
