/**
 * Every S3 key Intake writes. Keys are built only from validated tenant ids and generated file ids,
 * never from user-supplied filenames, and are deterministic so a retried step overwrites instead of
 * duplicating.
 */
export const storageKeys = {
  incoming: (tenantId: string, fileId: string) => `incoming/${tenantId}/${fileId}`,
  original: (tenantId: string, fileId: string) => `files/${tenantId}/${fileId}/original`,
  /** Older renditions were all WebP under this same scheme, so their stored keys still read as the format. */
  rendition: (tenantId: string, fileId: string, name: string, format: 'webp' | 'avif' = 'webp') =>
    `files/${tenantId}/${fileId}/renditions/${name}.${format}`,
  filePrefix: (tenantId: string, fileId: string) => `files/${tenantId}/${fileId}/`,
  /** A resumable (tus) upload's object while its bytes arrive; @tus/s3-store adds `.info` and `.part` beside it. */
  tus: (tenantId: string, fileId: string) => `tus/${tenantId}/${fileId}`,
  quarantine: (tenantId: string, fileId: string) => `quarantine/${tenantId}/${fileId}`,
  /** A database backup (pg_dump custom format); never under a tenant's prefix, so no file's deletion reaches it. */
  backup: (backupId: string) => `backups/${backupId}.dump`,
  /** An `intake export` file; outside every tenant's prefix too, and its name is generated. */
  export: (scope: string, name: string) => `exports/${scope}/${name}`,
  /** Where the store step moves an incoming object; null for a key outside the incoming area. */
  storedOriginalOf: (incomingKey: string): string | null => {
    const match = /^incoming\/([^/]+)\/([^/]+)$/.exec(incomingKey);
    return match ? `files/${match[1]}/${match[2]}/original` : null;
  },
};
