/** Timestamps and spans as a person reads them in a terminal: UTC, to the second. */

export function formatTime(iso: string | null | undefined): string {
  if (!iso) return '';
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  return `${date.toISOString().slice(0, 19).replace('T', ' ')}Z`;
}

/** 850 → "850ms", 12_300 → "12.3s", 125_000 → "2m05s". */
export function formatSpan(ms: number): string {
  if (ms < 1_000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${(ms / 1_000).toFixed(1)}s`;
  const minutes = Math.floor(ms / 60_000);
  const seconds = Math.round((ms % 60_000) / 1_000);
  return `${minutes}m${String(seconds).padStart(2, '0')}s`;
}

/** How long a step took, from its start and finish; "" while it has not both. */
export function spanBetween(startedAt: string | null, finishedAt: string | null): string {
  if (!startedAt || !finishedAt) return '';
  return formatSpan(new Date(finishedAt).getTime() - new Date(startedAt).getTime());
}
