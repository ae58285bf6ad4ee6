/**
 * `npm run key [tenant]`: a new API key, and the LLMBATCH_TENANTS entry that accepts it. Only the key's
 * SHA-256 digest goes into the configuration; the key is shown once, here.
 */
import { newApiKey } from '../shared/apiKeys';
import { TenantIdSchema } from '../shared/tenants';

const tenant = TenantIdSchema.safeParse(process.argv[2] ?? 'my-team');
if (!tenant.success) {
  console.error(`tenant id: ${tenant.error.issues[0]?.message ?? 'invalid'}`);
  process.exit(1);
}
const { key, digest } = newApiKey();
console.log(`API key (give it to the tenant; it is not stored anywhere): ${key}`);
console.log(`LLMBATCH_TENANTS entry: ${JSON.stringify({ id: tenant.data, keys: [digest] })}`);
