-- Direct-to-S3 uploads (POST /v1/uploads): what the client declared, until it completes the upload and
-- the File row is written, or the sweeper removes what an abandoned one left in incoming/.
CREATE TABLE "DirectUpload" (
    "id" TEXT NOT NULL,
    "tenantId" TEXT NOT NULL,
    "fileId" TEXT NOT NULL,
    "filename" TEXT NOT NULL,
    "size" BIGINT NOT NULL,
    "contentType" TEXT,
    "sha256" TEXT,
    "callbackUrl" TEXT,
    "retentionMs" BIGINT NOT NULL,
    "tags" TEXT[] DEFAULT ARRAY[]::TEXT[],
    "multipartUploadId" TEXT,
    "partSize" BIGINT,
    "status" TEXT NOT NULL DEFAULT 'pending',
    "expiresAt" TIMESTAMP(3) NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "completedAt" TIMESTAMP(3),

    CONSTRAINT "DirectUpload_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "DirectUpload_fileId_key" ON "DirectUpload"("fileId");

-- CreateIndex
CREATE INDEX "DirectUpload_status_expiresAt_idx" ON "DirectUpload"("status", "expiresAt");

-- AddForeignKey
ALTER TABLE "DirectUpload" ADD CONSTRAINT "DirectUpload_tenantId_fkey" FOREIGN KEY ("tenantId") REFERENCES "Tenant"("id") ON DELETE CASCADE ON UPDATE CASCADE;
