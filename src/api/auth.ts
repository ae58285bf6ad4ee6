/**
 * API keys: `Authorization: Bearer <key>` names the tenant. Keys are configured as SHA-256 digests
 * (LLMBATCH_TENANTS), so a leaked configuration does not leak keys; the digest of what a caller sends is
 * looked up. In local mode (loopback only, see config) every request is the local tenant's.
 */
import type { RequestHandler, Response } from 'express';
import type { AuthConfig, Tenant } from '../config';
import { keyDigest } from '../shared/apiKeys';
import { HttpError } from './httpError';

/** Routes anyone may call: probes and the API's description. */
const OPEN_PATHS = new Set(['/healthz', '/readyz', '/openapi.json']);

const unauthorized = (message: string): HttpError => new HttpError(401, message, undefined, 'invalid_api_key');

export function authenticate(auth: AuthConfig): RequestHandler {
  const byDigest = new Map<string, Tenant>();
  for (const tenant of auth.tenants) for (const digest of tenant.keyHashes) byDigest.set(digest, tenant);
  const local = auth.mode === 'local' ? auth.tenants[0] : undefined;
  return (req, res, next) => {
    if (OPEN_PATHS.has(req.path)) return next();
    if (local) {
      res.locals.tenant = local;
      return next();
    }
    res.set('WWW-Authenticate', 'Bearer'); // RFC 6750: says how to authenticate (harmless on success)
    const header = req.get('authorization');
    if (!header) return next(unauthorized('Missing API key: send it as "Authorization: Bearer <key>".'));
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!match) return next(unauthorized('Malformed Authorization header: expected "Bearer <key>".'));
    const tenant = byDigest.get(keyDigest(match[1] as string));
    if (!tenant) return next(unauthorized('Incorrect API key provided.'));
    res.locals.tenant = tenant;
    next();
  };
}

/** The caller's tenant (set by `authenticate`). */
export function tenantOf(res: Response): Tenant {
  const tenant = res.locals.tenant as Tenant | undefined;
  if (!tenant) throw new Error('tenantOf called on a route that authenticate did not guard');
  return tenant;
}

/** Routes that change the deployment rather than a tenant's batches (rate-limit lanes). */
export function requireAdmin(res: Response): void {
  if (!tenantOf(res).admin)
    throw new HttpError(
      403,
      'This route needs an admin key (LLMBATCH_TENANTS[].admin).',
      undefined,
      'permission_denied',
    );
}
