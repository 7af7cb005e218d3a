-- Tenants' JSON Schemas, one row per version, and what the validate step learns of documents.
CREATE TABLE "JsonSchema" (
    "id" TEXT NOT NULL,
    "tenantId" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "version" INTEGER NOT NULL,
    "schema" TEXT NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "deletedAt" TIMESTAMP(3),

    CONSTRAINT "JsonSchema_pkey" PRIMARY KEY ("id")
);

CREATE UNIQUE INDEX "JsonSchema_tenantId_name_version_key" ON "JsonSchema"("tenantId", "name", "version");

ALTER TABLE "JsonSchema" ADD CONSTRAINT "JsonSchema_tenantId_fkey" FOREIGN KEY ("tenantId") REFERENCES "Tenant"("id") ON DELETE CASCADE ON UPDATE CASCADE;

ALTER TABLE "File" ADD COLUMN "schemaName" TEXT,
ADD COLUMN "schemaVersion" INTEGER,
ADD COLUMN "pages" INTEGER,
ADD COLUMN "encrypted" BOOLEAN,
ADD COLUMN "validationErrors" JSONB;

ALTER TABLE "DirectUpload" ADD COLUMN "schemaName" TEXT,
ADD COLUMN "schemaVersion" INTEGER;
