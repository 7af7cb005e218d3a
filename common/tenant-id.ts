/**
 * What a tenant id may look like: lowercase letters, digits, - or _, starting with a letter or digit,
 * at most 63 characters. Tenant ids become part of S3 keys and URLs, so nothing else is accepted.
 */
export const TENANT_ID_PATTERN = /^[a-z0-9][a-z0-9_-]{0,62}$/;

export function isTenantId(value: string): boolean {
  return TENANT_ID_PATTERN.test(value);
}
