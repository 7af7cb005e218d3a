/*
 * Per-tenant limits and how they are written (INTAKE_DEFAULT_LIMITS, the CLI, GET /v1/tenant). Pure
 * parsing, shared by config, CLI and API.
 */

export interface TenantLimits {
  /** Requests per second per API key. */
  rps: number;
  /** Uploads a tenant may stream through the API at once. */
  uploads: number;
  /** Bytes stored (every file not yet deleted, rejected or failed). */
  storageBytes: number;
  /** Files stored, counted the same way. */
  files: number;
}

export const LIMIT_NAMES = ['rps', 'uploads', 'storage', 'files'] as const;
export type LimitName = (typeof LIMIT_NAMES)[number];

const UNITS: Record<string, number> = {
  b: 1,
  kb: 1e3,
  mb: 1e6,
  gb: 1e9,
  tb: 1e12,
  kib: 2 ** 10,
  mib: 2 ** 20,
  gib: 2 ** 30,
  tib: 2 ** 40,
};

/** "10GiB", "500MB", "1048576" → bytes; undefined for anything else. */
export function parseByteSize(value: string): number | undefined {
  const match = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/i.exec(value.trim());
  if (!match) return undefined;
  const unit = UNITS[(match[2] || 'b').toLowerCase()];
  if (unit === undefined) return undefined;
  const bytes = Math.round(Number(match[1]) * unit);
  return Number.isSafeInteger(bytes) ? bytes : undefined;
}

/** Bytes in the largest binary unit that keeps the figure readable: 10737418240 → "10 GiB". */
export function formatByteSize(bytes: number): string {
  for (const [unit, size] of [
    ['TiB', 2 ** 40],
    ['GiB', 2 ** 30],
    ['MiB', 2 ** 20],
    ['KiB', 2 ** 10],
  ] as const) {
    if (bytes >= size) return `${Number((bytes / size).toFixed(2))} ${unit}`;
  }
  return `${bytes} B`;
}

/** One limit's value from its text form; an Error names the limit and what it expected. */
export function parseLimit(name: LimitName, value: string): number {
  const parsed = name === 'storage' ? parseByteSize(value) : /^\d+$/.test(value.trim()) ? Number(value) : undefined;
  if (parsed === undefined || !Number.isSafeInteger(parsed) || parsed < 1) {
    throw new Error(
      name === 'storage'
        ? `storage must be a size such as 10GiB or 500MB (got "${value}")`
        : `${name} must be a whole number of at least 1 (got "${value}")`,
    );
  }
  return parsed;
}

/** "rps=20,uploads=4,storage=10GiB,files=100000": the names given, over `base`. */
export function parseLimitList(value: string, base: TenantLimits): TenantLimits {
  const limits = { ...base };
  for (const pair of value
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean)) {
    const [name, raw] = pair.split('=').map((p) => p.trim());
    if (!name || raw === undefined || !(LIMIT_NAMES as readonly string[]).includes(name)) {
      throw new Error(`"${pair}" must be name=value with name one of ${LIMIT_NAMES.join(', ')}`);
    }
    const parsed = parseLimit(name as LimitName, raw);
    if (name === 'storage') limits.storageBytes = parsed;
    else limits[name as 'rps' | 'uploads' | 'files'] = parsed;
  }
  return limits;
}

/** Generous enough that a tenant never meets them by accident; operators set real ones per tenant. */
export const BUILT_IN_LIMITS: TenantLimits = {
  rps: 100,
  uploads: 16,
  storageBytes: 100 * 2 ** 30,
  files: 1_000_000,
};
