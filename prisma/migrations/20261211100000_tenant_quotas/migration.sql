-- Per-tenant limits (null: INTAKE_DEFAULT_LIMITS) and the usage the storage and file quotas check.
ALTER TABLE "Tenant" ADD COLUMN "rpsLimit" INTEGER,
ADD COLUMN "uploadsLimit" INTEGER,
ADD COLUMN "storageLimitBytes" BIGINT,
ADD COLUMN "fileLimit" INTEGER,
ADD COLUMN "storedBytes" BIGINT NOT NULL DEFAULT 0,
ADD COLUMN "fileCount" INTEGER NOT NULL DEFAULT 0;

ALTER TABLE "File" ADD COLUMN "chargedBytes" BIGINT;

-- Files stored before quotas existed count from now on, like those uploaded later.
UPDATE "File" SET "chargedBytes" = "size" WHERE "status" NOT IN ('DELETED', 'REJECTED', 'FAILED');
UPDATE "Tenant" t SET "storedBytes" = u.bytes, "fileCount" = u.files
FROM (
  SELECT "tenantId", SUM("chargedBytes")::BIGINT AS bytes, COUNT(*)::INTEGER AS files
  FROM "File" WHERE "chargedBytes" IS NOT NULL GROUP BY "tenantId"
) u
WHERE t.id = u."tenantId";
