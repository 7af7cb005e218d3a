-- Since when an endpoint's attempts have all failed: one that keeps failing for INTAKE_WEBHOOK_DISABLE_AFTER
-- is disabled (as Svix does). NULL while it is healthy, and any delivered attempt clears it.
ALTER TABLE "WebhookEndpoint" ADD COLUMN "failingSince" TIMESTAMP(3);

-- What the tenant should hear about that no webhook can tell it (e.g. its endpoint was disabled), listed by
-- GET /v1/events, newest first.
CREATE TABLE "TenantEvent" (
    "id" TEXT NOT NULL,
    "tenantId" TEXT NOT NULL,
    "type" TEXT NOT NULL,
    "data" JSONB NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "TenantEvent_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "TenantEvent_tenantId_createdAt_id_idx" ON "TenantEvent"("tenantId", "createdAt" DESC, "id" DESC);

-- AddForeignKey
ALTER TABLE "TenantEvent" ADD CONSTRAINT "TenantEvent_tenantId_fkey" FOREIGN KEY ("tenantId") REFERENCES "Tenant"("id") ON DELETE CASCADE ON UPDATE CASCADE;
