/*
 * A stand-in for prisma/tenants in route tests: two tenants with fixed API keys and a webhook secret
 * that rotates once. Used as vi.mock('../../prisma/tenants', () => import('../support/fake-tenants')).
 */

export const KEYS: Record<string, string> = { 'acme-key-123': 'acme', 'globex-key-456': 'globex' };
export const secrets = { rotated: false };

const NO_OWN_LIMITS = { rpsLimit: null, uploadsLimit: null, storageLimitBytes: null, fileLimit: null };

export const findTenantByApiKey = async (_db: unknown, key: string) =>
  KEYS[key] ? { tenantId: KEYS[key], keyId: `key-${KEYS[key]}`, limits: NO_OWN_LIMITS } : null;

export const getWebhookSecretInfo = async () =>
  secrets.rotated
    ? { current: 'whsec_next', previous: 'whsec_current', previousExpiresAt: new Date('2030-01-02T00:00:00Z') }
    : { current: 'whsec_current', previous: null, previousExpiresAt: null };

export const rotateWebhookSecret = async () => {
  secrets.rotated = true;
  return 'whsec_next';
};

export const getWebhookSecrets = async () => {
  const info = await getWebhookSecretInfo();
  return info.previous ? [info.current, info.previous] : [info.current];
};
