-- Files that arrive together (POST /v1/batches): PROCESSING until every file has a terminal status, then
-- DONE, recorded once by the batch's workflow with the counts batch.completed announced.
CREATE TABLE "Batch" (
    "id" TEXT NOT NULL,
    "tenantId" TEXT NOT NULL,
    "workflowId" TEXT NOT NULL,
    "status" TEXT NOT NULL,
    "fileCount" INTEGER,
    "counts" JSONB,
    "idempotencyKey" TEXT,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "completedAt" TIMESTAMP(3),

    CONSTRAINT "Batch_pkey" PRIMARY KEY ("id")
);

-- The batch a file arrived in (NULL for files uploaded one by one).
ALTER TABLE "File" ADD COLUMN "batchId" TEXT;

-- CreateIndex
CREATE UNIQUE INDEX "Batch_workflowId_key" ON "Batch"("workflowId");

-- CreateIndex
CREATE INDEX "Batch_tenantId_createdAt_idx" ON "Batch"("tenantId", "createdAt" DESC);

-- CreateIndex
CREATE UNIQUE INDEX "Batch_tenantId_idempotencyKey_key" ON "Batch"("tenantId", "idempotencyKey");

-- CreateIndex
CREATE INDEX "File_batchId_createdAt_id_idx" ON "File"("batchId", "createdAt" DESC, "id" DESC);

-- AddForeignKey
ALTER TABLE "Batch" ADD CONSTRAINT "Batch_tenantId_fkey" FOREIGN KEY ("tenantId") REFERENCES "Tenant"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "File" ADD CONSTRAINT "File_batchId_fkey" FOREIGN KEY ("batchId") REFERENCES "Batch"("id") ON DELETE RESTRICT ON UPDATE CASCADE;
