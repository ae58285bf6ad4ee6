/** Who may call the API: tenants with their key digests and quotas, or the one local tenant. */
import { LOCAL_TENANT, type Quotas, type TenantConfig } from '../shared/tenants';
import type { Env } from './env';
import { ConfigError, type AuthConfig, type Tenant } from './types';

const LOOPBACK_HOSTS = new Set(['127.0.0.1', '::1', 'localhost']);

export function authConfig(e: Env): AuthConfig {
  const defaults: Quotas = {
    concurrentBatches: e.LLMBATCH_QUOTA_CONCURRENT_BATCHES,
    itemsPerBatch: e.LLMBATCH_QUOTA_ITEMS_PER_BATCH,
    uploadBytes: e.LLMBATCH_QUOTA_UPLOAD_BYTES,
  };
  const secret = e.LLMBATCH_WEBHOOK_SECRET;
  if (e.LLMBATCH_AUTH === 'local') {
    // Local mode has no keys, so it must not be reachable from other machines.
    if (!LOOPBACK_HOSTS.has(e.API_HOST))
      throw new ConfigError(
        'Invalid configuration:\n  API_HOST: LLMBATCH_AUTH=local binds to loopback only ' +
          `(127.0.0.1, ::1 or localhost), got ${e.API_HOST}`,
      );
    return {
      mode: 'local',
      tenants: [
        { id: LOCAL_TENANT, keyHashes: [], admin: true, quotas: defaults, webhook: secret ? { secret } : undefined },
      ],
    };
  }
  const tenants = e.LLMBATCH_TENANTS.map((t: TenantConfig): Tenant => ({
    id: t.id,
    keyHashes: t.keys.map((k) => k.slice('sha256:'.length)),
    admin: t.admin,
    quotas: { ...defaults, ...t.quotas },
    webhook: t.webhook || secret ? { url: t.webhook?.url, secret: t.webhook?.secret ?? secret } : undefined,
  }));
  const ids = new Set<string>();
  const hashes = new Set<string>();
  tenants.forEach((t, i) => {
    if (ids.has(t.id))
      throw new ConfigError(`Invalid configuration:\n  LLMBATCH_TENANTS.${i}.id: tenant ${t.id} is listed twice`);
    ids.add(t.id);
    for (const h of t.keyHashes) {
      if (hashes.has(h))
        throw new ConfigError(`Invalid configuration:\n  LLMBATCH_TENANTS.${i}.keys: a key is given to two tenants`);
      hashes.add(h);
    }
  });
  return { mode: 'keys', tenants };
}
