-- Database backups (pg_dump custom format in S3 under backups/), newest kept per INTAKE_BACKUP_KEEP.
CREATE TABLE "Backup" (
    "id" TEXT NOT NULL,
    "status" TEXT NOT NULL,
    "key" TEXT NOT NULL,
    "sizeBytes" BIGINT,
    "sha256" TEXT,
    "durationMs" INTEGER,
    "postgresVersion" TEXT,
    "tocEntries" INTEGER,
    "error" TEXT,
    "startedAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "completedAt" TIMESTAMP(3),

    CONSTRAINT "Backup_pkey" PRIMARY KEY ("id")
);

CREATE INDEX "Backup_status_startedAt_idx" ON "Backup"("status", "startedAt");
