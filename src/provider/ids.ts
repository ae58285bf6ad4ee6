import { randomBytes } from 'node:crypto';

let callCounter = 0;

/**
 * Id of one answer to a request: the body digest says *what* was asked and a
 * process-wide counter tells calls apart, so logs can group retries of the
 * same body while every response id stays unique.
 */
export function callId(prefix: string, digest: Buffer): string {
  callCounter = (callCounter + 1) % Number.MAX_SAFE_INTEGER;
  return `${prefix}${digest.toString('hex').slice(0, 16)}${callCounter.toString(36).padStart(8, '0')}`;
}

/** Random id for objects (files, batches, request ids). */
export function randomId(prefix: string, bytes = 12): string {
  return `${prefix}${randomBytes(bytes).toString('hex')}`;
}

export const nowSeconds = (): number => Math.floor(Date.now() / 1000);
