/**
 * API keys and their digests: the API looks up the digest of what a caller sends, and `npm run key`
 * makes new keys. Uses node:crypto, so workflow code never imports this module (lint says so).
 */
import { createHash, randomBytes } from 'node:crypto';

export const keyDigest = (key: string): string => createHash('sha256').update(key, 'utf8').digest('hex');

/** A new random API key and the line that configures it. */
export function newApiKey(): { key: string; digest: string } {
  const key = `lb_${randomBytes(24).toString('base64url')}`;
  return { key, digest: `sha256:${keyDigest(key)}` };
}
